// The scalar reference (matvec_ref / matmul_ref): hand-computed values, and
// agreement with the quant layer's definition, QuantizedLinear::forward.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernel_test_util.h"
#include "wquant/kernels/linear.h"
#include "wquant/kernels/weight_matrix.h"
#include "wquant/quant/quantized_linear.h"

namespace wquant {
namespace {
using test::random_floats;

// W: 8-bit, groups of 4 columns (the second group short: 2 columns), asymmetric.
//   row 0: q = [3, -2, 7, 0 | 100, -128], scales [0.5, 2],  zero-points [1, -1]
//          w = [1, -1.5, 3, -0.5 | 202, -254]
//   row 1: q = [-128, 127, 0, 0 | 1, 2],   scales [0.25, 1], zero-points [0, 5]
//          w = [-32, 31.75, 0, 0 | -4, -3]
// x = [2, 4, 1, 8, 0.5, 0.25], bias = [1.5, -0.25]:
//   y0 = 2 - 6 + 3 - 4 + 101 - 63.5 + 1.5 = 34
//   y1 = -64 + 127 - 2 - 0.75 - 0.25     = 60
// Every product and partial sum is exact in f32 and x is exact in F16 and
// BF16, so every implementation and every summation order gives exactly this.
QuantizedTensor hand_tensor() {
  QuantizedTensor t;
  t.scheme = test::make_scheme(8, Granularity::PerGroup, false, 4);
  t.rows = 2;
  t.cols = 6;
  t.q = {3, -2, 7, 0, 100, -128, -128, 127, 0, 0, 1, 2};
  t.scales = {0.5f, 2.0f, 0.25f, 1.0f};
  t.zero_points = {1, -1, 0, 5};
  t.scale_rows = 2;
  t.scale_cols = 2;
  return t;
}

TEST(LinearReference, HandComputedQuantized) {
  const PackedQuantizedMatrix w(hand_tensor(), DType::BF16);
  const std::vector<float> bias = {1.5f, -0.25f};
  for (DType act : {DType::F32, DType::F16, DType::BF16}) {
    const auto x = test::make_activations({2, 4, 1, 8, 0.5f, 0.25f}, act);
    std::vector<float> y(2);
    matvec_ref(w.view(), x.bytes.data(), act, bias.data(), y.data());
    EXPECT_EQ(y, (std::vector<float>{34.0f, 60.0f})) << dtype_name(act);
    // The SIMD kernels on every target (exact here too).
    ThreadPool pool(2);
    for (const std::string& target : available_simd_targets()) {
      test::ScopedSimdTarget forced(target);
      std::fill(y.begin(), y.end(), 0.0f);
      matvec(w.view(), x.bytes.data(), act, bias.data(), y.data(), pool);
      EXPECT_EQ(y, (std::vector<float>{34.0f, 60.0f})) << dtype_name(act) << " " << target;
    }
  }
}

// W = [[1.5, -2], [0.25, 3]] in BF16, x = [4, 1] (two tokens: [4, 1], [-1, 0.5]):
//   y = [[4, 4], [-2.5, 1.25]].
TEST(LinearReference, HandComputedFloat) {
  const std::vector<float> w = {1.5f, -2.0f, 0.25f, 3.0f};
  std::vector<uint16_t> wb(4);
  from_f32(w.data(), 4, DType::BF16, wb.data());
  const std::vector<float> x = {4.0f, 1.0f, -1.0f, 0.5f};
  std::vector<float> y(4);
  matmul_ref(FloatMatrixView{DType::BF16, 2, 2, wb.data()}, x.data(), DType::F32, 2, nullptr,
             y.data());
  EXPECT_EQ(y, (std::vector<float>{4.0f, 4.0f, -2.5f, 1.25f}));
  ThreadPool pool(1);
  for (const std::string& target : available_simd_targets()) {
    test::ScopedSimdTarget forced(target);
    std::fill(y.begin(), y.end(), 0.0f);
    matmul(FloatMatrixView{DType::BF16, 2, 2, wb.data()}, x.data(), DType::F32, 2, nullptr,
           y.data(), pool);
    EXPECT_EQ(y, (std::vector<float>{4.0f, 4.0f, -2.5f, 1.25f})) << target;
  }
}

// Returns the unit roundoff of rounding to `act` (the forward's output dtype).
double unit_roundoff(DType act) {
  return act == DType::F32 ? std::ldexp(1.0, -24)
         : act == DType::F16 ? std::ldexp(1.0, -11)
                             : std::ldexp(1.0, -8);
}

// QuantizedLinear::forward dequantizes the same f32 weights
// float(q - zp) * scale and sums them in f32 in column order, then rounds to
// the activation dtype. So |forward - reference| <= gamma_in * M (its f32
// sum; M = |b| + sum |w x|) + u_act * |y| (its final rounding) + the
// reference's own final rounding; plus 2^-24 absolute for F16 subnormals.
TEST(LinearReference, AgreesWithQuantizedLinearForward) {
  const DType dtypes[] = {DType::F32, DType::F16, DType::BF16};
  uint32_t seed = 40;
  int checked = 0;
  for (int bits : {2, 3, 4, 8}) {
    for (auto [g, group] : {std::pair{Granularity::PerTensor, int64_t(0)},
                            {Granularity::PerChannel, 0}, {Granularity::PerGroup, 7},
                            {Granularity::PerGroup, 32}}) {
      for (bool symmetric : {true, false}) {
        const QuantScheme scheme = test::make_scheme(bits, g, symmetric, group);
        for (DType scale_dtype : dtypes) {
          for (auto [out, in] : {std::pair<int64_t, int64_t>{1, 37}, {3, 259}, {17, 64}}) {
            const QuantizedTensor qt = quantize(
                random_floats(size_t(out * in), symmetric ? 0.0f : 0.2f, 0.1f, seed++).data(),
                out, in, scheme, scale_dtype);
            const std::vector<float> bias = random_floats(size_t(out), 0.0f, 1.0f, seed++);
            const QuantizedLinear layer(qt, bias);
            const PackedQuantizedMatrix packed(qt, scale_dtype);
            const std::vector<float> wf = dequantize(qt);
            for (DType act : dtypes) {
              for (int64_t n : {1, 5}) {
                SCOPED_TRACE(testing::Message() << scheme.describe() << " scales "
                             << dtype_name(scale_dtype) << " x " << dtype_name(act) << " ["
                             << out << ", " << in << "] n " << n);
                const auto x = test::make_activations(
                    random_floats(size_t(n * in), 0.0f, 1.0f, seed++), act);
                std::vector<float> ref(size_t(n * out));
                matmul_ref(packed.view(), x.bytes.data(), act, n, bias.data(), ref.data());
                std::vector<uint8_t> yq(ref.size() * dtype_size(act));
                layer.forward(x.bytes.data(), act, n, yq.data());
                const std::vector<float> ql = to_f32(TensorView{act, {n, out}, yq.data()});
                for (int64_t t = 0; t < n; ++t) {
                  for (int64_t r = 0; r < out; ++r) {
                    double m = std::fabs(bias[size_t(r)]);
                    for (int64_t c = 0; c < in; ++c) {
                      m += std::fabs(double(wf[size_t(r * in + c)]) * x.f32[size_t(t * in + c)]);
                    }
                    const double y = ref[size_t(t * out + r)];
                    const double t32 = double(in + 4) * std::ldexp(1.0, -24) * m;
                    const double tol = t32 + unit_roundoff(act) * (std::fabs(y) + t32) +
                                       (act == DType::F16 ? std::ldexp(1.0, -24) : 0.0);
                    ASSERT_NEAR(ql[size_t(t * out + r)], y, tol) << "token " << t << " row " << r;
                    ++checked;
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 10000);
}

}  // namespace
}  // namespace wquant
