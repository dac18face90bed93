#include <gtest/gtest.h>

#include "make_scheme.h"

#include <cmath>
#include <random>
#include <vector>

#include "wquant/core/error.h"
#include "wquant/core/tensor.h"
#include "wquant/quant/quantized_linear.h"

namespace wquant {
namespace {

using testing::make;

std::vector<float> random_floats(size_t n, float stddev, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, stddev);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

// Returns x [batch, in] stored as `act` bytes (as uint16 for F16/BF16).
std::vector<uint8_t> to_act(const std::vector<float>& x, DType act) {
  std::vector<uint8_t> bytes(x.size() * dtype_size(act));
  from_f32(x.data(), x.size(), act, bytes.data());
  return bytes;
}

// W = [[63.5, -10.25, 0.25], [0.75, -63.5, 1]] quantizes (w8 per-tensor sym,
// scale 0.5, see quantize_test) to [[63.5, -10, 0], [1, -63.5, 1]].
// x = [2, 1, -4], b = [0.5, -1]:
//   y0 = 127 - 10 + 0 + 0.5 = 117.5, y1 = 2 - 63.5 - 4 - 1 = -66.5.
// Every partial sum is exact in f32, and 117.5 / -66.5 need only 8
// significant bits, so the result is exact in F32, F16 and BF16.
TEST(QuantizedLinear, HandComputedExactInAllDtypes) {
  const std::vector<float> w = {63.5f, -10.25f, 0.25f, 0.75f, -63.5f, 1.0f};
  const QuantizedLinear layer(quantize(w.data(), 2, 3, make(8, Granularity::PerTensor, true)),
                              {0.5f, -1.0f});
  EXPECT_EQ(layer.in_features(), 3);
  EXPECT_EQ(layer.out_features(), 2);
  for (DType act : {DType::F32, DType::F16, DType::BF16}) {
    const auto x = to_act({2.0f, 1.0f, -4.0f}, act);
    std::vector<uint8_t> y(2 * dtype_size(act));
    layer.forward(x.data(), act, 1, y.data());
    EXPECT_EQ(to_f32(TensorView{act, {2}, y.data()}), (std::vector<float>{117.5f, -66.5f}))
        << dtype_name(act);
  }
}

// Forward against a double-precision dot product with dequantize(W).
// Tolerance: the layer sums `in` f32 products in f32; each product and each
// addition rounds with relative error <= 2^-24, so the standard bound is
// |y - y_exact| <= (in + 2) * 2^-24 * (sum |x w| + |b|). Rounding the result
// to F16 / BF16 adds half an ulp: 2^-11 / 2^-8 relative (plus 2^-25
// absolute for F16 subnormals). x itself is compared as the layer sees it
// (already rounded to act), so input rounding does not enter.
TEST(QuantizedLinear, MatchesDequantizedReference) {
  const int64_t out = 6, in = 45;  // 45: short last group, 3-bit words straddle
  const auto w = random_floats(size_t(out * in), 0.05f, 11);
  const auto bias = random_floats(size_t(out), 0.1f, 12);
  std::vector<QuantScheme> schemes;
  for (int bits : {2, 3, 4, 8}) {
    for (bool sym : {true, false}) {
      schemes.push_back(make(bits, Granularity::PerTensor, sym));
      schemes.push_back(make(bits, Granularity::PerChannel, sym));
      schemes.push_back(make(bits, Granularity::PerChannel, sym, 0, 1));
      schemes.push_back(make(bits, Granularity::PerGroup, sym, 16));
    }
  }
  for (const QuantScheme& scheme : schemes) {
    const QuantizedTensor qt = quantize(w.data(), out, in, scheme, DType::BF16);
    const std::vector<float> deq = dequantize(qt);
    for (bool with_bias : {false, true}) {
      const QuantizedLinear layer(qt, with_bias ? bias : std::vector<float>{});
      for (DType act : {DType::F32, DType::F16, DType::BF16}) {
        for (int64_t batch : {1, 3}) {
          SCOPED_TRACE(scheme.describe() + " act " + std::string(dtype_name(act)) +
                       " batch " + std::to_string(batch) + (with_bias ? " bias" : ""));
          const auto x_bytes = to_act(random_floats(size_t(batch * in), 1.0f, 13), act);
          const auto x = to_f32(TensorView{act, {batch, in}, x_bytes.data()});
          std::vector<uint8_t> y_bytes(size_t(batch * out) * dtype_size(act));
          layer.forward(x_bytes.data(), act, batch, y_bytes.data());
          const auto y = to_f32(TensorView{act, {batch, out}, y_bytes.data()});
          const double u_act = act == DType::F32 ? 0.0 : act == DType::F16 ? 0x1p-11 : 0x1p-8;
          for (int64_t n = 0; n < batch; ++n) {
            for (int64_t o = 0; o < out; ++o) {
              const double b = with_bias ? bias[size_t(o)] : 0.0;
              double ref = b, mag = std::abs(b);
              for (int64_t c = 0; c < in; ++c) {
                const double p = double(x[size_t(n * in + c)]) * deq[size_t(o * in + c)];
                ref += p;
                mag += std::abs(p);
              }
              const double acc_tol = double(in + 2) * 0x1p-24 * mag;
              const double tol = acc_tol + (std::abs(ref) + acc_tol) * u_act + 0x1p-25;
              EXPECT_NEAR(y[size_t(n * out + o)], ref, tol) << "y[" << n << ", " << o << "]";
            }
          }
        }
      }
    }
  }
}

// Packed weight: 16 rows x ceil(64 * 4 / 32) = 8 words x 4 B = 512 B;
// scales 16 x 2 groups x 4 B = 128 B; bias 16 x 4 B = 64 B; total 704.
// 3-bit asym per-channel, 4 x 11: 4 x ceil(33 / 32) = 2 words x 4 B = 32 B,
// scales 4 x 4 B = 16 B, zero-points 4 x 1 B: total 52.
TEST(QuantizedLinear, StorageBytes) {
  const auto w = random_floats(16 * 64, 0.05f, 3);
  const QuantizedLinear a(quantize(w.data(), 16, 64, make(4, Granularity::PerGroup, true, 32)),
                          std::vector<float>(16, 0.0f));
  EXPECT_EQ(a.storage_bytes(), 704u);
  const QuantizedLinear b(quantize(w.data(), 4, 11, make(3, Granularity::PerChannel, false)));
  EXPECT_EQ(b.storage_bytes(), 52u);
}

TEST(QuantizedLinear, RejectsBadInput) {
  const std::vector<float> w = {1.0f, 2.0f, 3.0f, 4.0f};
  const auto qt = quantize(w.data(), 2, 2, make(8, Granularity::PerChannel, true));
  EXPECT_THROW(QuantizedLinear(qt, {1.0f, 2.0f, 3.0f}), Error);
  QuantizedTensor broken = qt;
  broken.q.pop_back();
  EXPECT_THROW(QuantizedLinear{broken}, Error);
  const QuantizedLinear layer(qt);
  const int8_t x[2] = {1, 1};
  int8_t y[2];
  EXPECT_THROW(layer.forward(x, DType::I8, 1, y), Error);
  // An empty batch is fine and writes nothing.
  layer.forward(nullptr, DType::F32, 0, nullptr);
}

}  // namespace
}  // namespace wquant
