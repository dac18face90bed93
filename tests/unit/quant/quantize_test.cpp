// Hand-computed quantization examples. Inputs are chosen so every scale and
// every w / scale is exact in float32, so the expected integers follow from
// the rules in scheme.h by hand (ties included) and are written out below.
#include <gtest/gtest.h>

#include "make_scheme.h"

#include <limits>
#include <vector>

#include "wquant/core/error.h"
#include "wquant/quant/quantize.h"

namespace wquant {
namespace {

using testing::make;

using I8 = std::vector<int8_t>;
using F = std::vector<float>;

// max|w| = 63.5, qmax = 127: scale = 0.5. w / scale = {127, -20.5, 0.5, 1.5,
// -127, 2} -> half to even {127, -20, 0, 2, -127, 2}; deq = q * 0.5.
TEST(QuantizeHand, Sym8PerTensorTiesToEven) {
  const F w = {63.5f, -10.25f, 0.25f, 0.75f, -63.5f, 1.0f};
  const auto t = quantize(w.data(), 2, 3, make(8, Granularity::PerTensor, true));
  EXPECT_EQ(t.scale_rows, 1);
  EXPECT_EQ(t.scale_cols, 1);
  EXPECT_EQ(t.scales, F{0.5f});
  EXPECT_TRUE(t.zero_points.empty());
  EXPECT_EQ(t.q, (I8{127, -20, 0, 2, -127, 2}));
  EXPECT_EQ(dequantize(t), (F{63.5f, -10.0f, 0.0f, 1.0f, -63.5f, 1.0f}));
}

// qmax = 7. Row 0 {7, -3.5, 1.75}: scale 7/7 = 1, q = {7, -4 (tie), 2}.
// Row 1 {-14, 3, 0}: scale 14/7 = 2, w/scale = {-7, 1.5, 0} -> {-7, 2, 0}.
TEST(QuantizeHand, Sym4PerChannelRows) {
  const F w = {7.0f, -3.5f, 1.75f, -14.0f, 3.0f, 0.0f};
  const auto t = quantize(w.data(), 2, 3, make(4, Granularity::PerChannel, true));
  EXPECT_EQ(t.scale_rows, 2);
  EXPECT_EQ(t.scale_cols, 1);
  EXPECT_EQ(t.scales, (F{1.0f, 2.0f}));
  EXPECT_EQ(t.q, (I8{7, -4, 2, -7, 2, 0}));
  EXPECT_EQ(dequantize(t), (F{7.0f, -4.0f, 2.0f, -14.0f, 4.0f, 0.0f}));
}

// 2 bits sym: qmax = 1, q in {-1, 0, 1}. group_size 2 over 5 columns gives
// groups {0.5, -0.25}, {3, 1.5}, {-0.75} (short). Scales 0.5, 3, 0.75.
// w / scale = {1, -0.5 -> -0 (tie to even)}, {1, 0.5 -> 0}, {-1}.
TEST(QuantizeHand, Sym2PerGroupShortLastGroup) {
  const F w = {0.5f, -0.25f, 3.0f, 1.5f, -0.75f};
  const auto t = quantize(w.data(), 1, 5, make(2, Granularity::PerGroup, true, 2));
  EXPECT_EQ(t.scale_rows, 1);
  EXPECT_EQ(t.scale_cols, 3);
  EXPECT_EQ(t.scales, (F{0.5f, 3.0f, 0.75f}));
  EXPECT_EQ(t.q, (I8{1, 0, 1, 0, -1}));
  EXPECT_EQ(dequantize(t), (F{0.5f, 0.0f, 3.0f, 0.0f, -0.75f}));
  EXPECT_EQ(t.scale_index(0, 4), 2);
}

// 4 bits asym: q in [-8, 7]. Range [-2, 13]: scale = 15 / 15 = 1,
// zp = round(-8 - (-2) / 1) = -6. w = {-2, 13, 0, 2.5, 3.5, -0.5}:
// round(w) = {-2, 13, 0, 2 (tie), 4 (tie), -0 (tie)}, + zp =
// {-8, 7, -6, -4, -2, -6}; deq = q - zp = {-2, 13, 0, 2, 4, 0}.
TEST(QuantizeHand, Asym4PerTensor) {
  const F w = {-2.0f, 13.0f, 0.0f, 2.5f, 3.5f, -0.5f};
  const auto t = quantize(w.data(), 1, 6, make(4, Granularity::PerTensor, false));
  EXPECT_EQ(t.scales, F{1.0f});
  EXPECT_EQ(t.zero_points, I8{-6});
  EXPECT_EQ(t.q, (I8{-8, 7, -6, -4, -2, -6}));
  EXPECT_EQ(dequantize(t), (F{-2.0f, 13.0f, 0.0f, 2.0f, 4.0f, 0.0f}));
}

// The zero-point itself rounds half to even: range [-2.5, 12.5], scale 1,
// zp = round(-8 + 2.5) = round(-5.5) = -6. w = {-2.5, 12.5, 0, 1}:
// round(w) = {-2, 12, 0, 1} + zp = {-8, 6, -6, -5}; deq = {-2, 12, 0, 1}.
TEST(QuantizeHand, Asym4ZeroPointTiesToEven) {
  const F w = {-2.5f, 12.5f, 0.0f, 1.0f};
  const auto t = quantize(w.data(), 1, 4, make(4, Granularity::PerTensor, false));
  EXPECT_EQ(t.zero_points, I8{-6});
  EXPECT_EQ(t.q, (I8{-8, 6, -6, -5}));
  EXPECT_EQ(dequantize(t), (F{-2.0f, 12.0f, 0.0f, 1.0f}));
}

// The zero-point is added before rounding. Range [-10, 5]: scale 15/15 = 1,
// zp = round(-8 + 10) = 2. w = 1.5 - 2^-23 (the float just below 1.5):
// w + zp = 3.5 - 2^-23 is not a float (ulp 2^-22 in [2, 4)); it is a tie
// between 3.5 - 2^-22 (odd mantissa) and 3.5 (even), so f32 gives 3.5, and
// rint(3.5) = 4. Rounding first would give rint(w) + 2 = 1 + 2 = 3.
// compressed-tensors' quantize() computes round(w / scale + zp): 4.
TEST(QuantizeHand, Asym4ZeroPointAddedBeforeRounding) {
  const F w = {-10.0f, 5.0f, 1.5f - 0x1p-23f};
  const auto t = quantize(w.data(), 1, 3, make(4, Granularity::PerTensor, false));
  EXPECT_EQ(t.scales, F{1.0f});
  EXPECT_EQ(t.zero_points, I8{2});
  EXPECT_EQ(t.q, (I8{-8, 7, 4}));
}

// All-positive weights: the range is widened to [0, 7.5] so 0 stays exact.
// scale = 7.5 / 15 = 0.5, zp = round(-8 - 0) = -8. w / scale = {15, 2, 0.5}
// -> {15, 2, 0} + zp = {7, -6, -8}.
TEST(QuantizeHand, Asym4AllPositiveIncludesZero) {
  const F w = {7.5f, 1.0f, 0.25f};
  const auto t = quantize(w.data(), 1, 3, make(4, Granularity::PerTensor, false));
  EXPECT_EQ(t.scales, F{0.5f});
  EXPECT_EQ(t.zero_points, I8{-8});
  EXPECT_EQ(t.q, (I8{7, -6, -8}));
  EXPECT_EQ(dequantize(t), (F{7.5f, 1.0f, 0.0f}));
}

// 8 bits asym, range [-1, 4]: scale = 5 / 255 = 1/51, not exact in float;
// everything below is far from a rounding boundary. -(-1)/scale = 51, so
// zp = round(-128 + 51) = -77. w = {-1, 4, 0, 2}: w / scale ~ {-51, 204, 0,
// 102} -> + zp = {-128, 127, -77, 25}.
TEST(QuantizeHand, Asym8PerTensor) {
  const F w = {-1.0f, 4.0f, 0.0f, 2.0f};
  const auto t = quantize(w.data(), 1, 4, make(8, Granularity::PerTensor, false));
  EXPECT_EQ(t.scales, F{5.0f / 255.0f});
  EXPECT_EQ(t.zero_points, I8{-77});
  EXPECT_EQ(t.q, (I8{-128, 127, -77, 25}));
}

// 2 bits asym: q in [-2, 1], 2^b - 1 = 3. Per column (axis 1), 3 x 2:
// column 0 {-3, 0, 6}: scale 9/3 = 3, zp = round(-2 + 1) = -1,
//   w/scale = {-1, 0, 2} + zp = {-2, -1, 1}.
// column 1 {0.5, 0.25, 1.5}: range [0, 1.5], scale 0.5, zp = -2,
//   w/scale = {1, 0.5 -> 0 (tie), 3} + zp = {-1, -2, 1}; deq {0.5, 0, 1.5}.
TEST(QuantizeHand, Asym2PerChannelColumns) {
  const F w = {-3.0f, 0.5f, 0.0f, 0.25f, 6.0f, 1.5f};
  const auto t = quantize(w.data(), 3, 2, make(2, Granularity::PerChannel, false, 0, 1));
  EXPECT_EQ(t.scale_rows, 1);
  EXPECT_EQ(t.scale_cols, 2);
  EXPECT_EQ(t.scales, (F{3.0f, 0.5f}));
  EXPECT_EQ(t.zero_points, (I8{-1, -2}));
  EXPECT_EQ(t.q, (I8{-2, -1, -1, -2, 1, 1}));
  EXPECT_EQ(dequantize(t), (F{-3.0f, 0.5f, 0.0f, 0.0f, 6.0f, 1.5f}));
  EXPECT_EQ(t.scale_index(2, 1), 1);
}

// 8 bits asym per group of 2 on a 2 x 4 weight: scale_index = r * 2 + c / 2.
// Groups: {0, 255} -> scale 1, zp -128, q {-128, 127};
//         {-255, 0} -> scale 1, zp round(-128 + 255) = 127, q {-128, 127};
//         {0, 0} -> zero range, scale 1, zp -128, q {-128, -128};
//         {-51, 204} -> scale 1, zp round(-128 + 51) = -77, q {-128, 127}.
TEST(QuantizeHand, Asym8PerGroup) {
  const F w = {0.0f, 255.0f, -255.0f, 0.0f, 0.0f, 0.0f, -51.0f, 204.0f};
  const auto t = quantize(w.data(), 2, 4, make(8, Granularity::PerGroup, false, 2));
  EXPECT_EQ(t.scales, (F{1.0f, 1.0f, 1.0f, 1.0f}));
  EXPECT_EQ(t.zero_points, (I8{-128, 127, -128, -77}));
  EXPECT_EQ(t.q, (I8{-128, 127, -128, 127, -128, -128, -128, 127}));
  EXPECT_EQ(dequantize(t), w);
  EXPECT_EQ(t.scale_index(1, 3), 3);
}

// scale = 1/127 rounds to bf16 before the integers are computed:
// 1/127 = 2^-7 * 1.00787..., 7 mantissa bits keep 1 + 1/128, so the bf16
// scale is 2^-7 * 129/128 = 0.00787353515625. 1 / that = 127.0079 -> 127,
// -0.5 / that = -63.50 -> -64 (63.504, not a tie).
TEST(QuantizeHand, ScaleRoundedToBf16First) {
  const F w = {1.0f, -0.5f};
  const auto t = quantize(w.data(), 1, 2, make(8, Granularity::PerTensor, true), DType::BF16);
  EXPECT_EQ(t.scales, F{0.00787353515625f});
  EXPECT_EQ(t.q, (I8{127, -64}));
}

// A zero range gets scale 1 and all values quantize to the zero-point.
TEST(QuantizeHand, ZeroRange) {
  const F w = {0.0f, 0.0f, 0.0f};
  const auto sym = quantize(w.data(), 1, 3, make(4, Granularity::PerTensor, true));
  EXPECT_EQ(sym.scales, F{1.0f});
  EXPECT_EQ(sym.q, (I8{0, 0, 0}));
  const auto asym = quantize(w.data(), 1, 3, make(4, Granularity::PerTensor, false));
  EXPECT_EQ(asym.scales, F{1.0f});
  EXPECT_EQ(asym.zero_points, I8{-8});
  EXPECT_EQ(dequantize(asym), w);
}

TEST(QuantizeHand, EmptyTensors) {
  const auto a = quantize(nullptr, 0, 5, make(4, Granularity::PerChannel, true));
  EXPECT_EQ(a.scale_rows, 0);
  EXPECT_TRUE(a.q.empty());
  EXPECT_TRUE(a.scales.empty());
  const auto b = quantize(nullptr, 3, 0, make(4, Granularity::PerGroup, false, 8));
  EXPECT_EQ(b.scale_rows, 3);
  EXPECT_EQ(b.scale_cols, 0);
  EXPECT_TRUE(dequantize(b).empty());
  const auto c = quantize(nullptr, 0, 0, make(8, Granularity::PerTensor, true));
  EXPECT_EQ(c.scales, F{1.0f});
}

TEST(QuantizeErrors, RejectsBadInput) {
  const F w = {1.0f, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_THROW(quantize(w.data(), 1, 2, make(8, Granularity::PerTensor, true)), Error);
  const F ok = {1.0f, 2.0f};
  EXPECT_THROW(quantize(ok.data(), 1, 2, make(5, Granularity::PerTensor, true)), Error);
  EXPECT_THROW(quantize(ok.data(), 1, 2, make(8, Granularity::PerTensor, true), DType::I8),
               Error);
  // 1e9 / 127 is far above the largest f16 (65504).
  const F big = {1e9f};
  EXPECT_THROW(quantize(big.data(), 1, 1, make(8, Granularity::PerTensor, true), DType::F16),
               Error);
  // A hand-built tensor whose sizes disagree with its scheme.
  auto t = quantize(ok.data(), 1, 2, make(8, Granularity::PerTensor, true));
  t.scales.push_back(1.0f);
  EXPECT_THROW(dequantize(t), Error);
}

TEST(QuantScheme, DescribeAndValidate) {
  EXPECT_EQ(make(4, Granularity::PerGroup, false, 128).describe(), "w4 g128 asym");
  EXPECT_EQ(make(8, Granularity::PerChannel, true).describe(), "w8 per-channel sym");
  EXPECT_EQ(make(8, Granularity::PerChannel, true, 0, 1).describe(),
            "w8 per-channel(axis=1) sym");
  EXPECT_EQ(make(3, Granularity::PerTensor, true).describe(), "w3 per-tensor sym");
  for (int bits : {2, 3, 4, 8}) EXPECT_NO_THROW(make(bits, Granularity::PerTensor, true).validate());
  EXPECT_THROW(make(1, Granularity::PerTensor, true).validate(), Error);
  EXPECT_THROW(make(6, Granularity::PerTensor, true).validate(), Error);
  EXPECT_THROW(make(4, Granularity::PerGroup, true, 0).validate(), Error);
  EXPECT_THROW(make(4, Granularity::PerGroup, true, -32).validate(), Error);
  EXPECT_THROW(make(4, Granularity::PerChannel, true, 0, 2).validate(), Error);
  EXPECT_THROW(make(4, Granularity::PerChannel, true, 128).validate(), Error);
  const QuantScheme s4 = make(4, Granularity::PerTensor, true);
  EXPECT_EQ(s4.qmin(), -7);
  EXPECT_EQ(s4.qmax(), 7);
  EXPECT_EQ(make(4, Granularity::PerTensor, false).qmin(), -8);
}

}  // namespace
}  // namespace wquant
