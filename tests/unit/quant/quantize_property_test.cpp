// Properties of quantize() / dequantize() on random weights, for every
// combination of bits, symmetry, granularity and scale dtype.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "wquant/core/tensor.h"
#include "wquant/quant/quantize.h"

namespace wquant {
namespace {

struct Case {
  QuantScheme scheme;
  DType scale_dtype;
  std::string name() const {
    return scheme.describe() + " scales " + std::string(dtype_name(scale_dtype));
  }
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (int bits : {2, 3, 4, 8}) {
    for (bool sym : {true, false}) {
      for (DType dt : {DType::F32, DType::F16, DType::BF16}) {
        QuantScheme s;
        s.bits = bits;
        s.symmetric = sym;
        s.granularity = Granularity::PerTensor;
        cases.push_back({s, dt});
        s.granularity = Granularity::PerChannel;
        s.channel_axis = 0;
        cases.push_back({s, dt});
        s.channel_axis = 1;
        cases.push_back({s, dt});
        s.channel_axis = 0;
        s.granularity = Granularity::PerGroup;
        s.group_size = 16;  // 37 columns: groups of 16, 16 and a short 5
        cases.push_back({s, dt});
      }
    }
  }
  return cases;
}

// Gaussian weights with a few outliers and exact zeros, like real layers.
std::vector<float> random_weights(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> w(static_cast<size_t>(n));
  for (auto& v : w) v = normal(rng);
  for (int64_t i = 0; i < n; i += 11) w[size_t(i)] = 0.0f;
  for (int64_t i = 5; i < n; i += 97) w[size_t(i)] *= 8.0f;
  return w;
}

constexpr int64_t kRows = 9, kCols = 37;

TEST(QuantizeProperty, IntegersScalesAndErrorBound) {
  const auto w = random_weights(kRows * kCols, 1234);
  for (const Case& k : all_cases()) {
    SCOPED_TRACE(k.name());
    const QuantizedTensor t = quantize(w.data(), kRows, kCols, k.scheme, k.scale_dtype);
    const std::vector<float> deq = dequantize(t);
    const int qmin = k.scheme.qmin(), qmax = k.scheme.qmax();
    ASSERT_EQ(int64_t(t.q.size()), kRows * kCols);
    for (float s : t.scales) {
      EXPECT_GT(s, 0.0f);
      // Scales are exactly representable in scale_dtype.
      EXPECT_EQ(round_to_dtype(s, k.scale_dtype), s);
    }
    for (int8_t zp : t.zero_points) {
      EXPECT_GE(zp, qmin);
      EXPECT_LE(zp, qmax);
    }
    for (int64_t r = 0; r < kRows; ++r) {
      for (int64_t c = 0; c < kCols; ++c) {
        const size_t i = size_t(r * kCols + c);
        const int64_t si = t.scale_index(r, c);
        const float scale = t.scales[size_t(si)];
        const int zp = t.zero_points.empty() ? 0 : t.zero_points[size_t(si)];
        ASSERT_GE(t.q[i], qmin);
        ASSERT_LE(t.q[i], qmax);
        // Zero is exact (asym: it maps to the zero-point itself).
        if (w[i] == 0.0f) {
          EXPECT_EQ(int(t.q[i]), zp);
          EXPECT_EQ(deq[i], 0.0f);
        }
        // In range (w / scale + zp within half a step of [qmin, qmax]) the
        // error is at most half a step. Slack: w / scale and (q - zp) * scale
        // each carry one f32 rounding, relative 2^-24 of values at most
        // (|q - zp| <= 255) steps, so 2 * 256 * 2^-24 steps covers both.
        const double pos = double(w[i]) / scale + zp;
        if (pos < qmin - 0.5 || pos > qmax + 0.5) continue;
        const double slack = 512.0 * std::ldexp(1.0, -24) * scale;
        EXPECT_LE(std::abs(double(w[i]) - deq[i]), 0.5 * scale + slack)
            << "at (" << r << ", " << c << ") w " << w[i] << " q " << int(t.q[i]);
      }
    }
  }
}

// With f32 scales the documented formulas hold exactly on each slice, and the
// slice's extreme value lands on the end of the integer range.
TEST(QuantizeProperty, ScaleFormulaPerSlice) {
  const auto w = random_weights(kRows * kCols, 99);
  for (const Case& k : all_cases()) {
    if (k.scale_dtype != DType::F32) continue;
    SCOPED_TRACE(k.name());
    const QuantizedTensor t = quantize(w.data(), kRows, kCols, k.scheme);
    std::vector<float> lo(t.scales.size(), 0.0f), hi(t.scales.size(), 0.0f);
    for (int64_t r = 0; r < kRows; ++r) {
      for (int64_t c = 0; c < kCols; ++c) {
        const size_t s = size_t(t.scale_index(r, c));
        lo[s] = std::min(lo[s], w[size_t(r * kCols + c)]);
        hi[s] = std::max(hi[s], w[size_t(r * kCols + c)]);
      }
    }
    const int bits = k.scheme.bits;
    for (size_t s = 0; s < t.scales.size(); ++s) {
      if (k.scheme.symmetric) {
        EXPECT_EQ(t.scales[s], std::max(-lo[s], hi[s]) / float((1 << (bits - 1)) - 1));
      } else {
        EXPECT_EQ(t.scales[s], (hi[s] - lo[s]) / float((1 << bits) - 1));
      }
    }
    for (int64_t r = 0; r < kRows; ++r) {
      for (int64_t c = 0; c < kCols; ++c) {
        const size_t i = size_t(r * kCols + c);
        const size_t s = size_t(t.scale_index(r, c));
        if (w[i] == hi[s] && hi[s] > 0 && (k.scheme.symmetric ? hi[s] >= -lo[s] : true)) {
          EXPECT_EQ(t.q[i], k.scheme.qmax());
        }
        if (w[i] == lo[s] && lo[s] < 0 && (k.scheme.symmetric ? -lo[s] >= hi[s] : true)) {
          EXPECT_EQ(t.q[i], k.scheme.qmin());
        }
      }
    }
  }
}

// The scale layout: groups cover consecutive columns with a short last
// group; per-column scales follow the column; each slice is quantized on its
// own, so scaling one slice leaves the others' integers unchanged.
TEST(QuantizeProperty, SlicesAreIndependent) {
  const auto w = random_weights(kRows * kCols, 7);
  for (const Case& k : all_cases()) {
    if (k.scale_dtype != DType::F32 || k.scheme.granularity == Granularity::PerTensor) continue;
    SCOPED_TRACE(k.name());
    const QuantizedTensor a = quantize(w.data(), kRows, kCols, k.scheme);
    // Multiply the slice holding element (4, 35) by 4: a power of two, so its
    // integers and zero-point stay the same and only its scale changes.
    std::vector<float> w2 = w;
    const int64_t target = a.scale_index(4, 35);
    for (int64_t r = 0; r < kRows; ++r) {
      for (int64_t c = 0; c < kCols; ++c) {
        if (a.scale_index(r, c) == target) w2[size_t(r * kCols + c)] *= 4.0f;
      }
    }
    const QuantizedTensor b = quantize(w2.data(), kRows, kCols, k.scheme);
    EXPECT_EQ(a.q, b.q);
    EXPECT_EQ(a.zero_points, b.zero_points);
    for (size_t s = 0; s < a.scales.size(); ++s) {
      EXPECT_EQ(b.scales[s], int64_t(s) == target ? 4.0f * a.scales[s] : a.scales[s]);
    }
    if (k.scheme.granularity == Granularity::PerGroup) {
      EXPECT_EQ(a.scale_cols, 3);  // ceil(37 / 16)
      EXPECT_EQ(a.scale_index(4, 35), 4 * 3 + 2);
    }
  }
}

}  // namespace
}  // namespace wquant
