#include "wquant/quant/quantize.h"

#include <algorithm>
#include <cmath>

#include "wquant/core/error.h"
#include "wquant/core/tensor.h"
#include "check_quantized.h"

namespace wquant {
namespace {

// Returns the [scale_rows, scale_cols] shape of the scales of a [rows, cols] weight.
void scale_shape(const QuantScheme& s, int64_t rows, int64_t cols,
                 int64_t* scale_rows, int64_t* scale_cols) {
  switch (s.granularity) {
    case Granularity::PerTensor: *scale_rows = 1; *scale_cols = 1; return;
    case Granularity::PerChannel:
      *scale_rows = s.channel_axis == 0 ? rows : 1;
      *scale_cols = s.channel_axis == 0 ? 1 : cols;
      return;
    case Granularity::PerGroup:
      *scale_rows = rows;
      *scale_cols = (cols + s.group_size - 1) / s.group_size;
      return;
  }
}

// Returns round-half-to-even of v, as a float (the default FP rounding mode
// is round-to-nearest-even, which is what torch.round / numpy.rint use).
float round_half_even(float v) { return std::nearbyint(v); }

float clampf(float v, int lo, int hi) {
  return std::min(std::max(v, float(lo)), float(hi));
}

}  // namespace

void check_quantized(const QuantizedTensor& t, const char* where) {
  t.scheme.validate();
  if (t.rows < 0 || t.cols < 0) fail(where, ": negative shape [", t.rows, ", ", t.cols, "]");
  if (int64_t(t.q.size()) != t.rows * t.cols) {
    fail(where, ": ", t.q.size(), " integers for a [", t.rows, ", ", t.cols, "] weight");
  }
  int64_t scale_rows = 0, scale_cols = 0;
  scale_shape(t.scheme, t.rows, t.cols, &scale_rows, &scale_cols);
  if (t.scale_rows != scale_rows || t.scale_cols != scale_cols ||
      int64_t(t.scales.size()) != scale_rows * scale_cols) {
    fail(where, ": ", t.scheme.describe(), " scales of a [", t.rows, ", ", t.cols,
         "] weight must be [", scale_rows, ", ", scale_cols, "], got [", t.scale_rows, ", ",
         t.scale_cols, "] holding ", t.scales.size(), " values");
  }
  const size_t n_zp = t.scheme.symmetric ? 0 : t.scales.size();
  if (t.zero_points.size() != n_zp) {
    fail(where, ": ", t.scheme.describe(), " needs ", n_zp, " zero-points, got ",
         t.zero_points.size());
  }
}

int64_t QuantizedTensor::scale_index(int64_t r, int64_t c) const {
  switch (scheme.granularity) {
    case Granularity::PerTensor: return 0;
    case Granularity::PerChannel: return scheme.channel_axis == 0 ? r : c;
    case Granularity::PerGroup: return r * scale_cols + c / scheme.group_size;
  }
  return 0;
}

QuantizedTensor quantize(const float* w, int64_t rows, int64_t cols,
                         const QuantScheme& scheme, DType scale_dtype) {
  scheme.validate();
  if (rows < 0 || cols < 0) fail("quantize: negative shape [", rows, ", ", cols, "]");
  if (scale_dtype != DType::F32 && scale_dtype != DType::F16 && scale_dtype != DType::BF16) {
    fail("quantize ", scheme.describe(), ": scale dtype ", dtype_name(scale_dtype),
         " is not F32, F16 or BF16");
  }
  QuantizedTensor t;
  t.scheme = scheme;
  t.rows = rows;
  t.cols = cols;
  scale_shape(scheme, rows, cols, &t.scale_rows, &t.scale_cols);
  const size_t n_scales = size_t(t.scale_rows * t.scale_cols);

  // Pass 1: the range [lo, hi] of each scale's slice, widened to include 0
  // (so 0 is always exactly representable and a zero range means all zeros).
  std::vector<float> lo(n_scales, 0.0f), hi(n_scales, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const float v = w[r * cols + c];
      if (!std::isfinite(v)) {
        fail("quantize ", scheme.describe(), ": weight (", r, ", ", c, ") = ", v,
             " is not finite");
      }
      const int64_t s = t.scale_index(r, c);
      lo[s] = std::min(lo[s], v);
      hi[s] = std::max(hi[s], v);
    }
  }

  // Scales and zero-points, in float32 in the documented order. The scale is
  // rounded to scale_dtype first, so the integers are computed against the
  // scale a reader of the stored dtype will actually use.
  const int qmin = scheme.qmin(), qmax = scheme.qmax();
  t.scales.resize(n_scales);
  if (!scheme.symmetric) t.zero_points.resize(n_scales);
  for (size_t s = 0; s < n_scales; ++s) {
    const float raw = scheme.symmetric
        ? std::max(-lo[s], hi[s]) / float(qmax)
        : (hi[s] - lo[s]) / float((1 << scheme.bits) - 1);
    float scale = round_to_dtype(raw, scale_dtype);
    if (std::isinf(scale)) {
      fail("quantize ", scheme.describe(), ": scale ", raw, " of scale slot ", s,
           " overflows ", dtype_name(scale_dtype));
    }
    // A zero range (or a scale too small for scale_dtype) gets scale 1: the
    // slice is all (near) zeros and quantizes to the zero-point.
    if (scale == 0.0f) scale = 1.0f;
    t.scales[s] = scale;
    if (!scheme.symmetric) {
      const float zp = clampf(round_half_even(float(qmin) - lo[s] / scale), qmin, qmax);
      t.zero_points[s] = int8_t(zp);
    }
  }

  // Pass 2: q = clamp(round_half_even(w / scale + zero_point), qmin, qmax),
  // in float32 in this order, exactly as compressed-tensors' quantize() does
  // (adding the zero-point before rounding can differ from adding it after
  // when w / scale + zp is not exact in float32).
  t.q.resize(size_t(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t s = t.scale_index(r, c);
      const float zp = scheme.symmetric ? 0.0f : float(t.zero_points[s]);
      const float q = round_half_even(w[r * cols + c] / t.scales[s] + zp);
      t.q[r * cols + c] = int8_t(clampf(q, qmin, qmax));
    }
  }
  return t;
}

std::vector<float> dequantize(const QuantizedTensor& t) {
  check_quantized(t, "dequantize");
  std::vector<float> out(t.q.size());
  for (int64_t r = 0; r < t.rows; ++r) {
    for (int64_t c = 0; c < t.cols; ++c) {
      const int64_t s = t.scale_index(r, c);
      const int zp = t.zero_points.empty() ? 0 : t.zero_points[s];
      out[r * t.cols + c] = float(t.q[r * t.cols + c] - zp) * t.scales[s];
    }
  }
  return out;
}

namespace {

// Calls f(r, row) for each row r of dequantize(t), one row buffer reused.
template <typename F>
void for_each_dequantized_row(const QuantizedTensor& t, F&& f) {
  std::vector<float> row(static_cast<size_t>(t.cols));
  for (int64_t r = 0; r < t.rows; ++r) {
    for (int64_t c = 0; c < t.cols; ++c) {
      const int64_t s = t.scale_index(r, c);
      const int zp = t.zero_points.empty() ? 0 : t.zero_points[s];
      row[size_t(c)] = float(t.q[r * t.cols + c] - zp) * t.scales[s];
    }
    f(r, row);
  }
}

}  // namespace

ErrorStats quantization_error(const QuantizedTensor& t, const float* w, ErrorHistogram* histogram,
                              size_t bins) {
  check_quantized(t, "quantization_error");
  ErrorAccumulator acc;
  for_each_dequantized_row(t, [&](int64_t r, const std::vector<float>& row) {
    acc.add(w + r * t.cols, row.data(), row.size());
  });
  const ErrorStats stats = acc.result();
  if (histogram) {
    // The histogram's bounds, [-max_abs, max_abs], are known only once every
    // error has been seen, so it is counted in a second sweep over the codes
    // and the weight, both still in memory: one more dequantization, no
    // full-size error buffer (peak memory stays at the tensor's), and bins
    // in the weight's own units. (Binning by each group's scale step would
    // need no bounds but mixes units across groups; an adaptive histogram
    // would need rebinning.) The errors are computed as in the first sweep,
    // so the extremes land inside [-max_abs, max_abs], in the edge bins.
    ErrorAccumulator counter(stats.max_abs, bins);
    for_each_dequantized_row(t, [&](int64_t r, const std::vector<float>& row) {
      counter.add(w + r * t.cols, row.data(), row.size());
    });
    *histogram = counter.histogram();
  }
  return stats;
}

}  // namespace wquant
