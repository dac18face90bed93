#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include <vector>

#include "wquant/quant/metrics.h"
#include "wquant/quant/quantize.h"
#include "make_scheme.h"

namespace wquant {
namespace {

// ref = {3, 4, 0, 0}, approx = {3, 3, 1, 0}: errors {0, 1, -1, 0}.
// sum err^2 = 2 -> mse = 2 / 4 = 0.5; sum ref^2 = 9 + 16 = 25;
// sqnr = 10 log10(25 / 2) = 10 log10(12.5) = 10.969100130080564 dB;
// max |err| = 1.
TEST(ErrorStats, HandComputed) {
  const float ref[] = {3, 4, 0, 0};
  const float approx[] = {3, 3, 1, 0};
  const ErrorStats s = error_stats(ref, approx, 4);
  EXPECT_DOUBLE_EQ(s.mse, 0.5);
  EXPECT_NEAR(s.sqnr_db, 10.969100130080564, 1e-12);
  EXPECT_DOUBLE_EQ(s.max_abs, 1.0);
}

// ref = {1, -1}, approx = {0.9, -1.1} (f32): errors ~ +-0.1, so
// sqnr = 10 log10(2 / 0.02) = 20 dB up to the f32 representation of 0.9.
TEST(ErrorStats, TwentyDecibels) {
  const float ref[] = {1.0f, -1.0f};
  const float approx[] = {0.9f, -1.1f};
  const ErrorStats s = error_stats(ref, approx, 2);
  EXPECT_NEAR(s.sqnr_db, 20.0, 1e-5);
  EXPECT_NEAR(s.mse, 0.01, 1e-8);
  EXPECT_NEAR(s.max_abs, 0.1, 1e-7);
}

TEST(ErrorStats, ExactIsInfinite) {
  const float ref[] = {1.5f, -2.0f, 0.0f};
  const ErrorStats s = error_stats(ref, ref, 3);
  EXPECT_EQ(s.mse, 0.0);
  EXPECT_EQ(s.max_abs, 0.0);
  EXPECT_EQ(s.sqnr_db, std::numeric_limits<double>::infinity());
  EXPECT_EQ(error_stats(nullptr, nullptr, 0).sqnr_db, std::numeric_limits<double>::infinity());
}

// Error accumulates in double: squared errors 2^24 and 1 sum to 2^24 + 1,
// which needs 25 significant bits (an f32 sum would drop the 1), so
// mse = (2^24 + 1) / 2 = 8388608.5 exactly. ref == error here: sqnr 0 dB.
TEST(ErrorStats, AccumulatesInDouble) {
  const float ref[] = {4096.0f, 1.0f};
  const float approx[] = {0.0f, 0.0f};
  const ErrorStats s = error_stats(ref, approx, 2);
  EXPECT_EQ(s.mse, 8388608.5);
  EXPECT_EQ(s.sqnr_db, 0.0);
  EXPECT_EQ(s.max_abs, 4096.0);
}

}  // namespace
}  // namespace wquant

namespace wquant {
namespace {

// Row-wise accumulation equals the one-shot statistics, and
// quantization_error equals error_stats against dequantize().
TEST(ErrorAccumulator, ChunksEqualWhole) {
  std::vector<float> ref = {1.0f, -2.0f, 0.5f, 4.0f, -0.25f, 3.0f};
  std::vector<float> approx = {1.5f, -2.0f, 0.0f, 3.0f, -0.5f, 3.0f};
  ErrorAccumulator acc;
  acc.add(ref.data(), approx.data(), 2);
  acc.add(ref.data() + 2, approx.data() + 2, 4);
  const ErrorStats a = acc.result(), b = error_stats(ref.data(), approx.data(), ref.size());
  EXPECT_EQ(a.mse, b.mse);
  EXPECT_EQ(a.sqnr_db, b.sqnr_db);
  EXPECT_EQ(a.max_abs, b.max_abs);
  // Hand-computed: errors 0.5, 0, 0.5, 1, 0.25, 0 -> noise 1.5625, mean 0.2604166...
  EXPECT_DOUBLE_EQ(a.mse, 1.5625 / 6);
  EXPECT_EQ(a.max_abs, 1.0);
}

TEST(ErrorAccumulator, QuantizationErrorMatchesDequantize) {
  std::vector<float> w(12 * 40);
  for (size_t i = 0; i < w.size(); ++i) w[i] = float((i * 37) % 101) / 50.0f - 1.0f;
  QuantScheme s;
  s.bits = 4;
  s.granularity = Granularity::PerGroup;
  s.group_size = 16;
  s.symmetric = false;
  const QuantizedTensor qt = quantize(w.data(), 12, 40, s);
  const auto deq = dequantize(qt);
  const ErrorStats a = quantization_error(qt, w.data());
  const ErrorStats b = error_stats(w.data(), deq.data(), w.size());
  EXPECT_DOUBLE_EQ(a.mse, b.mse);
  EXPECT_DOUBLE_EQ(a.sqnr_db, b.sqnr_db);
  EXPECT_EQ(a.max_abs, b.max_abs);
}

// bound 1, 5 bins of width 0.4: [-1, -0.6) [-0.6, -0.2) [-0.2, 0.2) [0.2, 0.6)
// [0.6, 1]. Errors (approx = 0, so error = ref): -1 -> bin 0 (the lower
// bound), -0.5 -> 1, 0 -> 2, 0.125 -> 2, 0.375 -> 3, 1 -> 4 (the upper bound
// belongs to the last bin), 2 -> 4 and -3 -> 0 (outside: edge bins).
TEST(ErrorHistogram, HandComputedCounts) {
  const float ref[] = {-1.0f, -0.5f, 0.0f, 0.125f, 0.375f, 1.0f, 2.0f, -3.0f};
  const float approx[8] = {};
  ErrorAccumulator acc(1.0, 5);
  acc.add(ref, approx, 5);
  acc.add(ref + 5, approx + 5, 3);  // chunks add up
  const ErrorHistogram& h = acc.histogram();
  EXPECT_EQ(h.lo, -1.0);
  EXPECT_EQ(h.hi, 1.0);
  EXPECT_EQ(h.counts, (std::vector<uint64_t>{2, 1, 2, 1, 2}));
  EXPECT_EQ(h.total(), 8u);
  // The statistics are unchanged by the histogram.
  EXPECT_EQ(acc.result().max_abs, 3.0);
}

TEST(ErrorHistogram, NoneByDefault) {
  const float ref[] = {1.0f};
  const float approx[] = {0.0f};
  ErrorAccumulator acc;
  acc.add(ref, approx, 1);
  EXPECT_TRUE(acc.histogram().counts.empty());
  EXPECT_THROW(ErrorAccumulator(1.0, 0), std::invalid_argument);
  EXPECT_THROW(ErrorAccumulator(-1.0, 5), std::invalid_argument);
}

// A zero range (every error 0) has no bin width: all values go to the middle
// bin, no division by zero (a NaN would land in bin 0).
TEST(ErrorHistogram, ZeroRangeUsesMiddleBin) {
  const float ref[] = {1.5f, -2.0f, 0.0f};
  ErrorAccumulator acc(0.0, 41);
  acc.add(ref, ref, 3);
  EXPECT_EQ(acc.histogram().counts[20], 3u);
  EXPECT_EQ(acc.histogram().total(), 3u);
}

// By hand: per-tensor W8 symmetric with scale 1, codes {1, 2, -1, 0} against
// w = {1.5, 2, -1.25, 0.5}: errors {0.5, 0, -0.25, 0.5}, max_abs 0.5, so 5
// bins of width 0.2 over [-0.5, 0.5]: 0.5 twice -> the last bin (the maximum
// is the upper bound), -0.25 -> bin 1, 0 -> bin 2.
TEST(ErrorHistogram, QuantizationErrorHandComputed) {
  QuantizedTensor qt;
  qt.scheme = testing::make(8, Granularity::PerTensor, true);
  qt.rows = 1;
  qt.cols = 4;
  qt.q = {1, 2, -1, 0};
  qt.scales = {1.0f};
  qt.scale_rows = qt.scale_cols = 1;
  const std::vector<float> w = {1.5f, 2.0f, -1.25f, 0.5f};
  ErrorHistogram h;
  const ErrorStats s = quantization_error(qt, w.data(), &h, 5);
  EXPECT_EQ(s.max_abs, 0.5);
  EXPECT_EQ(h.lo, -0.5);
  EXPECT_EQ(h.hi, 0.5);
  EXPECT_EQ(h.counts, (std::vector<uint64_t>{0, 1, 1, 0, 2}));
}

// On a real quantization the counts sum to rows x cols, the range is
// [-max_abs, max_abs] and an edge bin holds the extreme error.
TEST(ErrorHistogram, QuantizationErrorSumsToWeightCount) {
  std::vector<float> w(12 * 40);
  for (size_t i = 0; i < w.size(); ++i) w[i] = float((i * 37) % 101) / 50.0f - 1.0f;
  const QuantizedTensor qt = quantize(w.data(), 12, 40, testing::make(4, Granularity::PerGroup, false, 16));
  ErrorHistogram h;
  const ErrorStats s = quantization_error(qt, w.data(), &h);
  ASSERT_EQ(h.counts.size(), kErrorHistogramBins);
  EXPECT_EQ(h.total(), w.size());
  EXPECT_GT(s.max_abs, 0.0);
  EXPECT_EQ(h.hi, s.max_abs);
  EXPECT_EQ(h.lo, -s.max_abs);
  EXPECT_GT(h.counts.front() + h.counts.back(), 0u);
}

// An exact quantization (8-bit per-tensor, max |w| = 127: scale 1, integer
// weights) has max_abs 0: every count in the middle bin, range [0, 0].
TEST(ErrorHistogram, ExactQuantization) {
  const std::vector<float> w = {127.0f, -127.0f, 0.0f, 1.0f};
  const QuantizedTensor qt = quantize(w.data(), 1, 4, testing::make(8, Granularity::PerTensor, true));
  ErrorHistogram h;
  const ErrorStats s = quantization_error(qt, w.data(), &h);
  EXPECT_EQ(s.max_abs, 0.0);
  EXPECT_EQ(h.lo, 0.0);
  EXPECT_EQ(h.hi, 0.0);
  EXPECT_EQ(h.counts[kErrorHistogramBins / 2], 4u);
  EXPECT_EQ(h.total(), 4u);
}

}  // namespace
}  // namespace wquant
