#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "wquant/quant/metrics.h"

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
