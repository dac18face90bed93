#include "wquant/quant/grid_search.h"

#include <algorithm>
#include <cmath>

#include "wquant/core/error.h"
#include "wquant/core/tensor.h"

namespace wquant {
namespace {

constexpr float kShrinkSteps[] = {1.00f, 0.96f, 0.92f, 0.88f, 0.84f, 0.80f,
                                  0.76f, 0.72f, 0.68f, 0.64f, 0.60f};

// One slot: n consecutive values of the flattened [rows, cols] weight
// starting at flat index `start`; value k's column is (start + k) % cols.
struct Slot {
  const float* w;
  int64_t n;
  int64_t start;
  int64_t cols;
  const float* importance;  // [cols] or nullptr (uniform)
  double weight(int64_t k) const {
    return importance ? double(importance[(start + k) % cols]) : 1.0;
  }
};

struct Grid {
  float scale = 1.0f;
  int zp = 0;
};

// Returns E for `g` on the slot.
double slot_error(const Slot& s, const Grid& g, int bits) {
  // Four partial sums: independent chains, and the same order every call.
  double e[4] = {0, 0, 0, 0};
  for (int64_t k = 0; k < s.n; ++k) {
    const float deq = float(quantize_value(s.w[k], g.scale, g.zp, bits) - g.zp) * g.scale;
    const double d = double(s.w[k]) - double(deq);
    e[k & 3] += s.weight(k) * d * d;
  }
  return (e[0] + e[1]) + (e[2] + e[3]);
}

// Returns the grid with raw scale `raw` (rounded to dtype; 0 or subnormal
// underflow -> 1) and, when asymmetric, the zero-point that puts `lo` on qmin.
Grid make_grid(float raw, float lo, bool symmetric, int bits, DType dtype) {
  Grid g;
  g.scale = round_to_dtype(raw, dtype);
  if (!std::isfinite(g.scale)) fail("quantize mse: scale ", raw, " overflows ", dtype_name(dtype));
  if (g.scale == 0.0f) g.scale = 1.0f;
  if (!symmetric) {
    const int qmin = -(1 << (bits - 1)), qmax = (1 << (bits - 1)) - 1;
    g.zp = int(std::clamp(std::nearbyint(float(qmin) - lo / g.scale), float(qmin), float(qmax)));
  }
  return g;
}

// Returns the weighted least-squares refit of `g`: w ~ scale (q - zp), with
// the integers q of g held fixed; g itself if the fit is degenerate.
Grid refit(const Slot& s, const Grid& g, bool symmetric, int bits, DType dtype) {
  double sw = 0, sq = 0, sqq = 0, swq = 0, sww = 0;
  for (int64_t k = 0; k < s.n; ++k) {
    const double a = s.weight(k), q = quantize_value(s.w[k], g.scale, g.zp, bits), w = s.w[k];
    sw += a;
    sq += a * q;
    sqq += a * q * q;
    swq += a * w * q;
    sww += a * w;
  }
  if (symmetric) {
    if (sqq <= 0) return g;
    const float scale = float(swq / sqq);
    if (scale == 0.0f || !std::isfinite(scale)) return g;
    Grid r;
    r.scale = round_to_dtype(scale, dtype);
    return r.scale == 0.0f || !std::isfinite(r.scale) ? g : r;
  }
  // w ~ a q + c: a = cov(w, q) / var(q), c = mean(w) - a mean(q); zp = -c / a.
  const double var = sqq * sw - sq * sq;
  if (sw <= 0 || var <= 0) return g;
  const double a = (swq * sw - sww * sq) / var, c = (sww - a * sq) / sw;
  if (!(a > 0) || !std::isfinite(a)) return g;
  Grid r;
  r.scale = round_to_dtype(float(a), dtype);
  if (r.scale == 0.0f || !std::isfinite(r.scale)) return g;
  const int qmin = -(1 << (bits - 1)), qmax = (1 << (bits - 1)) - 1;
  r.zp = int(std::clamp(std::nearbyint(float(-c / r.scale)), float(qmin), float(qmax)));
  return r;
}

Grid fit_slot(Slot s, bool symmetric, int bits, DType dtype) {
  float lo = 0, hi = 0, extreme = 0;
  double total_weight = 0;
  for (int64_t k = 0; k < s.n; ++k) {
    const float v = s.w[k];
    if (!std::isfinite(v)) fail("quantize mse: weight ", s.start + k, " = ", v, " is not finite");
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    if (std::fabs(v) > std::fabs(extreme)) extreme = v;
    total_weight += s.weight(k);
  }
  if (!(total_weight > 0)) s.importance = nullptr;  // a dead slot: weigh its values evenly
  const int half = 1 << (bits - 1);
  Grid best = symmetric ? make_grid(-lo > hi ? -lo / float(half - 1) : hi / float(half - 1), 0,
                                    true, bits, dtype)
                        : make_grid((hi - lo) / float((1 << bits) - 1), lo, false, bits, dtype);
  double best_error = slot_error(s, best, bits);
  auto consider = [&](const Grid& g) {
    const double e = slot_error(s, g, bits);
    if (e < best_error) best = g, best_error = e;
  };
  for (float p : kShrinkSteps) {
    if (symmetric) {
      consider(make_grid(p * std::max(-lo, hi) / float(half - 1), 0, true, bits, dtype));
      consider(make_grid(p * extreme / float(-half), 0, true, bits, dtype));
    } else {
      consider(make_grid((p * hi - p * lo) / float((1 << bits) - 1), p * lo, false, bits, dtype));
    }
  }
  for (int iteration = 0; iteration < 2; ++iteration) consider(refit(s, best, symmetric, bits, dtype));
  return best;
}

}  // namespace

QuantizedTensor mse_output_for(int64_t rows, int64_t cols, const QuantScheme& scheme) {
  scheme.validate();
  if (scheme.granularity == Granularity::PerChannel && scheme.channel_axis != 0)
    fail("quantize mse ", scheme.describe(), ": per-channel grids must be along axis 0");
  QuantizedTensor t;
  t.scheme = scheme;
  t.rows = rows;
  t.cols = cols;
  t.scale_rows = scheme.granularity == Granularity::PerTensor ? 1 : rows;
  t.scale_cols = scheme.granularity == Granularity::PerGroup
                     ? (cols + scheme.group_size - 1) / scheme.group_size
                     : 1;
  t.q.resize(size_t(rows * cols));
  t.scales.resize(size_t(t.scale_rows * t.scale_cols));
  if (!scheme.symmetric) t.zero_points.resize(t.scales.size());
  return t;
}

void quantize_mse_rows(const float* w, int64_t rows, int64_t cols, const QuantScheme& scheme,
                       DType scale_dtype, const float* importance, int64_t row_begin,
                       int64_t row_end, QuantizedTensor& out) {
  const int bits = scheme.bits;
  auto emit = [&](const Slot& s, int64_t scale_index) {
    const Grid g = fit_slot(s, scheme.symmetric, bits, scale_dtype);
    out.scales[size_t(scale_index)] = g.scale;
    if (!scheme.symmetric) out.zero_points[size_t(scale_index)] = int8_t(g.zp);
    for (int64_t k = 0; k < s.n; ++k) out.q[size_t(s.start + k)] = quantize_value(s.w[k], g.scale, g.zp, bits);
  };
  if (scheme.granularity == Granularity::PerTensor) {
    if (row_begin != 0 || row_end != rows)
      fail("quantize mse: a per-tensor grid needs all rows at once");
    emit(Slot{w, rows * cols, 0, cols, importance}, 0);
    return;
  }
  const int64_t width = scheme.granularity == Granularity::PerGroup ? scheme.group_size : cols;
  for (int64_t r = row_begin; r < row_end; ++r)
    for (int64_t c0 = 0, g = 0; c0 < cols; c0 += width, ++g) {
      const int64_t start = r * cols + c0;
      emit(Slot{w + start, std::min(width, cols - c0), start, cols, importance},
           r * out.scale_cols + g);
    }
}

QuantizedTensor quantize_mse(const float* w, int64_t rows, int64_t cols, const QuantScheme& scheme,
                             DType scale_dtype, const float* importance) {
  if (rows < 0 || cols < 0) fail("quantize mse: negative shape [", rows, ", ", cols, "]");
  if (scale_dtype != DType::F32 && scale_dtype != DType::F16 && scale_dtype != DType::BF16)
    fail("quantize mse: scale dtype ", dtype_name(scale_dtype), " is not F32, F16 or BF16");
  QuantizedTensor t = mse_output_for(rows, cols, scheme);
  quantize_mse_rows(w, rows, cols, scheme, scale_dtype, importance, 0, rows, t);
  return t;
}

}  // namespace wquant
