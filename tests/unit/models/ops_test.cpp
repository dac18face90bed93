#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "wquant/models/ops.h"

namespace wquant {
namespace {

// x = {3, 4}: mean(x^2) = 12.5, 1/sqrt(12.5) = 0.28284271; weights {1, 2}.
TEST(Ops, RmsNormHandComputed) {
  const float x[] = {3, 4}, w[] = {1, 2};
  float out[2];
  ops::rms_norm(x, w, 2, 0.0f, out);
  EXPECT_NEAR(out[0], 3 * 0.28284271f, 1e-6);
  EXPECT_NEAR(out[1], 2 * 4 * 0.28284271f, 1e-6);
}

// head_dim 4, theta 10000: inv_freq {1, 1/100}. At pos 1 the pair (0, 2)
// turns by 1 rad and the pair (1, 3) by 0.01 rad; pos 0 leaves x unchanged.
TEST(Ops, RopeRotatesHalfPairs) {
  std::vector<float> x = {1, 1, 0, 0};
  ops::rope(x.data(), 1, 4, 0, 10000.0f);
  EXPECT_EQ(x, (std::vector<float>{1, 1, 0, 0}));
  ops::rope(x.data(), 1, 4, 1, 10000.0f);
  EXPECT_NEAR(x[0], std::cos(1.0f), 1e-6);
  EXPECT_NEAR(x[2], std::sin(1.0f), 1e-6);
  EXPECT_NEAR(x[1], std::cos(0.01f), 1e-6);
  EXPECT_NEAR(x[3], std::sin(0.01f), 1e-6);
}

TEST(Ops, SoftmaxAndSilu) {
  float x[] = {0, std::log(3.0f)};  // exp: 1, 3 -> 0.25, 0.75
  ops::softmax(x, 2);
  EXPECT_NEAR(x[0], 0.25f, 1e-6);
  EXPECT_NEAR(x[1], 0.75f, 1e-6);
  EXPECT_EQ(ops::silu(0.0f), 0.0f);
  EXPECT_NEAR(ops::silu(1.0f), 1.0f / (1.0f + std::exp(-1.0f)), 1e-7);
}

// x = {1, 3}: mean 2, biased variance 1, so (x - mean) / 1 = {-1, 1}.
TEST(Ops, LayerNormHandComputed) {
  const float x[] = {1, 3}, w[] = {2, 3}, b[] = {10, 20};
  float out[2];
  ops::layer_norm(x, w, b, 2, 0.0f, out);
  EXPECT_NEAR(out[0], -2 + 10, 1e-6);
  EXPECT_NEAR(out[1], 3 + 20, 1e-6);
  ops::layer_norm(x, nullptr, nullptr, 2, 0.0f, out);  // no affine: weight 1, bias 0
  EXPECT_NEAR(out[0], -1, 1e-6);
  EXPECT_NEAR(out[1], 1, 1e-6);
}

// head_dim 6, rotary_dim 4: pairs (0, 1) and (2, 3) turn by pos * {1, 1/100}
// rad; values 4 and 5 pass through.
TEST(Ops, RopeInterleavedRotatesAdjacentPairsOfTheRotaryPart) {
  std::vector<float> x = {1, 0, 1, 0, 7, 8};
  ops::rope_interleaved(x.data(), 1, 6, 4, 1);
  EXPECT_NEAR(x[0], std::cos(1.0f), 1e-6);
  EXPECT_NEAR(x[1], std::sin(1.0f), 1e-6);
  EXPECT_NEAR(x[2], std::cos(0.01f), 1e-6);
  EXPECT_NEAR(x[3], std::sin(0.01f), 1e-6);
  EXPECT_EQ(x[4], 7);
  EXPECT_EQ(x[5], 8);
}

// gelu(1) = Phi(1) = 0.8413447; the tanh form gives 0.8411920 (both from
// the formulas in double precision).
TEST(Ops, GeluForms) {
  EXPECT_NEAR(ops::gelu(1.0f), 0.8413447f, 1e-6);
  EXPECT_NEAR(ops::gelu_tanh(1.0f), 0.8411920f, 1e-6);
  EXPECT_EQ(ops::gelu_tanh(0.0f), 0.0f);
  float x[] = {-1, 2};
  ops::activate(ops::Activation::Relu, x, 2);
  EXPECT_EQ(x[0], 0);
  EXPECT_EQ(x[1], 2);
  EXPECT_THROW(ops::activation_from_name("swiglu", "cfg"), std::exception);
  EXPECT_EQ(ops::activation_from_name("gelu_new", "cfg"), ops::Activation::GeluTanh);
}

}  // namespace
}  // namespace wquant
