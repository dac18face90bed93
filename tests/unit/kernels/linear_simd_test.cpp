// The SIMD kernels against the scalar reference, on every SIMD target
// compiled in and supported by this CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "wquant/core/error.h"
#include "wquant/kernels/linear.h"
#include "wquant/kernels/simd_target.h"
#include "wquant/kernels/weight_matrix.h"

namespace wquant {
namespace {
using test::Activations;
using test::make_activations;
using test::random_floats;
using test::ScopedSimdTarget;

const DType kFloatDTypes[] = {DType::F32, DType::F16, DType::BF16};
// out = 1, 3, 17; in not a multiple of the lanes nor of 32 (37, 259, 5), and 96.
const std::pair<int64_t, int64_t> kShapes[] = {{1, 37}, {3, 259}, {17, 96}, {17, 5}};

ThreadPool& pool() {
  static ThreadPool p(2);
  return p;
}

// Returns success if every y[i] is within bound[i] of ref[i].
::testing::AssertionResult all_near(const std::vector<float>& y, const std::vector<float>& ref,
                                    const std::vector<double>& bound,
                                    double* worst_ratio = nullptr) {
  for (size_t i = 0; i < y.size(); ++i) {
    const double err = std::fabs(double(y[i]) - double(ref[i]));
    const double tol = bound[i];
    if (worst_ratio && tol > 0) *worst_ratio = std::max(*worst_ratio, err / tol);
    if (!(err <= tol)) {
      return ::testing::AssertionFailure() << "y[" << i << "] = " << y[i] << ", reference "
                                           << ref[i] << ", error " << err << " > " << tol;
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(SimdTarget, EveryAvailableTargetCanBeForced) {
  const std::vector<std::string> targets = available_simd_targets();
  ASSERT_FALSE(targets.empty());
  std::string names;  // printed: which kernels this run tests (scripts/test_arm.sh)
  for (const std::string& name : targets) names += " " + name;
  std::printf("SIMD targets tested:%s\n", names.c_str());
  for (const std::string& name : targets) {
    ScopedSimdTarget forced(name);
    EXPECT_EQ(active_simd_target(), name);
  }
  EXPECT_EQ(active_simd_target(), targets.front());  // restored: the best one
  try {
    force_simd_target("NO_SUCH_TARGET");
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(targets.front()), std::string::npos) << e.what();
  }
}

struct Granularities {
  Granularity granularity;
  int64_t group_size;
  const char* name;
};

void PrintTo(const Granularities& g, std::ostream* os) { *os << g.name; }

// Group sizes: the matrix-vector kernel needs groups of whole chunks (N
// bytes: 8 columns for 8-bit on AVX2, 16 for 4-bit, 32 for 2-bit; half on
// SSE4), else it scales lane by lane: 16 and 32 are whole chunks for some
// widths and targets and not others, 24 and 7 never (7 is one group where
// in <= 7), 128 always.
const Granularities kGranularities[] = {
    {Granularity::PerTensor, 0, "tensor"}, {Granularity::PerChannel, 0, "channel"},
    {Granularity::PerGroup, 7, "g7"},      {Granularity::PerGroup, 16, "g16"},
    {Granularity::PerGroup, 24, "g24"},    {Granularity::PerGroup, 32, "g32"},
    {Granularity::PerGroup, 128, "g128"},
};

class QuantizedVsReference
    : public ::testing::TestWithParam<std::tuple<int, Granularities>> {};

// All scale dtypes x activation dtypes x sym/asym x shapes x 1 and 5 tokens
// x targets, for one bit width and granularity.
TEST_P(QuantizedVsReference, WithinRoundingBound) {
  const auto [bits, gran] = GetParam();
  const std::vector<std::string> targets = available_simd_targets();
  double worst = 0;
  uint32_t seed = 1;
  for (bool symmetric : {true, false}) {
    const QuantScheme scheme =
        test::make_scheme(bits, gran.granularity, symmetric, gran.group_size);
    for (DType scale_dtype : kFloatDTypes) {
      for (auto [out, in] : kShapes) {
        const std::vector<float> w = random_floats(size_t(out * in), symmetric ? 0.0f : 0.4f,
                                                   0.05f, seed++);
        const QuantizedTensor qt = quantize(w.data(), out, in, scheme, scale_dtype);
        const PackedQuantizedMatrix packed(qt, scale_dtype);
        const WeightMatrix wm = packed.view();
        const std::vector<float> bias = random_floats(size_t(out), 0.0f, 1.0f, seed++);
        for (DType act : kFloatDTypes) {
          for (int64_t n : {1, 2, 5}) {
            SCOPED_TRACE(testing::Message() << scheme.describe() << " scales "
                         << dtype_name(scale_dtype) << " x " << dtype_name(act) << " ["
                         << out << ", " << in << "] n " << n);
            const Activations x =
                make_activations(random_floats(size_t(n * in), 0.5f, 1.0f, seed++), act);
            std::vector<float> ref(size_t(n * out)), y(ref.size());
            matmul_ref(wm, x.bytes.data(), act, n, bias.data(), ref.data());
            const std::vector<double> bound = test::bounds(qt, x.f32, n, bias);
            for (const std::string& target : targets) {
              ScopedSimdTarget forced(target);
              std::fill(y.begin(), y.end(), -1e30f);
              matmul(wm, x.bytes.data(), act, n, bias.data(), y.data(), pool());
              ASSERT_TRUE(all_near(y, ref, bound, &worst)) << "target " << target;
            }
          }
        }
      }
    }
  }
  // Largest error seen, as a fraction of the bound (for the record; the
  // bound is a worst case, so this is well below 1).
  RecordProperty("worst_error_over_bound", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(
    Kernels, QuantizedVsReference,
    ::testing::Combine(::testing::Values(2, 3, 4, 8), ::testing::ValuesIn(kGranularities)),
    [](const auto& info) {
      return "w" + std::to_string(std::get<0>(info.param)) + "_" + std::get<1>(info.param).name;
    });

TEST(FloatVsReference, AllWeightAndActivationDTypes) {
  uint32_t seed = 100;
  for (DType wdt : kFloatDTypes) {
    for (auto [out, in] : kShapes) {
      const std::vector<float> w = random_floats(size_t(out * in), 0.0f, 0.1f, seed++);
      std::vector<uint8_t> wbytes(w.size() * dtype_size(wdt));
      from_f32(w.data(), w.size(), wdt, wbytes.data());
      const std::vector<float> wf = to_f32(TensorView{wdt, {out, in}, wbytes.data()});
      const WeightMatrix wm = FloatMatrixView{wdt, out, in, wbytes.data()};
      const std::vector<float> bias = random_floats(size_t(out), 0.0f, 1.0f, seed++);
      for (DType act : kFloatDTypes) {
        for (int64_t n : {1, 5}) {
          SCOPED_TRACE(testing::Message() << "weights " << dtype_name(wdt) << " x "
                       << dtype_name(act) << " [" << out << ", " << in << "] n " << n);
          const Activations x =
              make_activations(random_floats(size_t(n * in), 0.0f, 1.0f, seed++), act);
          std::vector<float> ref(size_t(n * out)), y(ref.size());
          std::vector<double> mag(ref.size());
          for (int64_t t = 0; t < n; ++t) {
            for (int64_t r = 0; r < out; ++r) {
              double m = std::fabs(bias[size_t(r)]);
              for (int64_t c = 0; c < in; ++c) {
                m += std::fabs(double(wf[size_t(r * in + c)]) * x.f32[size_t(t * in + c)]);
              }
              mag[size_t(t * out + r)] = test::tolerance(in, m);
            }
          }
          matmul_ref(wm, x.bytes.data(), act, n, bias.data(), ref.data());
          for (const std::string& target : available_simd_targets()) {
            ScopedSimdTarget forced(target);
            matmul(wm, x.bytes.data(), act, n, bias.data(), y.data(), pool());
            ASSERT_TRUE(all_near(y, ref, mag)) << "target " << target;
          }
        }
      }
    }
  }
}

// Weights shared by the bitwise tests below: 4-bit g32 asymmetric, F16 scales.
struct Fixture {
  int64_t out, in;
  QuantizedTensor qt;
  PackedQuantizedMatrix packed;
  Fixture(int64_t out_, int64_t in_, int bits = 4, int64_t group = 32)
      : out(out_), in(in_),
        qt(quantize(random_floats(size_t(out * in), 0.3f, 0.05f, 7).data(), out, in,
                    test::make_scheme(bits, Granularity::PerGroup, false, group), DType::F16)),
        packed(qt, DType::F16) {}
};

// Each token's outputs do not depend on the other tokens of the call: with
// the tokens in another order (GEMM path, from 4 tokens on, tokens in
// different vector lanes), or one at a time (matrix-vector path, below 4),
// every output is the same bit for bit.
TEST(SimdKernels, TokenOutputsDoNotDependOnOtherTokensBitwise) {
  const Fixture f(17, 259);
  const int64_t n = 6;
  const std::vector<float> x = random_floats(size_t(n * f.in), 0.0f, 1.0f, 8);
  std::vector<float> x_rev(x.size());
  for (int64_t t = 0; t < n; ++t) {
    std::copy_n(x.begin() + t * f.in, f.in, x_rev.begin() + (n - 1 - t) * f.in);
  }
  const std::vector<uint16_t> w16 = [&] {
    std::vector<uint16_t> v(size_t(f.out * f.in));
    from_f32(x.data(), v.size(), DType::BF16, v.data());  // any values will do
    return v;
  }();
  for (const WeightMatrix& wm : {WeightMatrix(f.packed.view()),
                                 WeightMatrix(FloatMatrixView{DType::BF16, f.out, f.in, w16.data()})}) {
    for (const std::string& target : available_simd_targets()) {
      ScopedSimdTarget forced(target);
      std::vector<float> y(size_t(n * f.out)), y_rev(y.size()), y2(size_t(2 * f.out));
      matmul(wm, x.data(), DType::F32, n, nullptr, y.data(), pool());
      matmul(wm, x_rev.data(), DType::F32, n, nullptr, y_rev.data(), pool());
      for (int64_t t = 0; t < n; ++t) {
        EXPECT_EQ(0, std::memcmp(y.data() + t * f.out, y_rev.data() + (n - 1 - t) * f.out,
                                 size_t(f.out) * 4))
            << target << " token " << t;
      }
      matmul(wm, x.data(), DType::F32, 2, nullptr, y2.data(), pool());
      for (int64_t t = 0; t < 2; ++t) {
        std::vector<float> yt(size_t(f.out));
        matvec(wm, x.data() + t * f.in, DType::F32, nullptr, yt.data(), pool());
        EXPECT_EQ(0, std::memcmp(yt.data(), y2.data() + t * f.out, yt.size() * 4))
            << target << " token " << t;
      }
    }
  }
}

// The GEMM's tiles and tails: rows not a multiple of the 6-row micro-kernel
// nor of the 48-row panel, columns over several 256-column tiles with a
// short last one, tokens over several 16-token tiles with a short last one,
// groups whole chunks or not; 1 and 2 threads; every target.
TEST(SimdKernels, GemmTilesAndTailsMatchTheReference) {
  struct Case {
    int bits;
    Granularity granularity;
    int64_t group;
    bool symmetric;
  };
  const Case cases[] = {{8, Granularity::PerChannel, 0, true},
                        {8, Granularity::PerGroup, 32, false},
                        {4, Granularity::PerGroup, 32, false},
                        {4, Granularity::PerGroup, 128, true},
                        {4, Granularity::PerGroup, 24, false},  // groups not whole chunks
                        {2, Granularity::PerGroup, 64, false}};
  uint32_t seed = 300;
  for (const auto& [out, in, n] : {std::tuple<int64_t, int64_t, int64_t>{53, 600, 17},
                                  {97, 1030, 4}, {7, 40, 33}}) {
    const std::vector<float> bias = random_floats(size_t(out), 0.0f, 1.0f, seed++);
    const Activations x =
        make_activations(random_floats(size_t(n * in), 0.3f, 1.0f, seed++), DType::F32);
    for (const Case& c : cases) {
      const QuantizedTensor qt =
          quantize(random_floats(size_t(out * in), c.symmetric ? 0.0f : 0.3f, 0.05f, seed++).data(),
                   out, in, test::make_scheme(c.bits, c.granularity, c.symmetric, c.group),
                   DType::BF16);
      const PackedQuantizedMatrix packed(qt, DType::BF16);
      std::vector<float> ref(size_t(n * out)), y(ref.size());
      matmul_ref(packed.view(), x.bytes.data(), DType::F32, n, bias.data(), ref.data());
      const std::vector<double> bound = test::bounds(qt, x.f32, n, bias);
      for (const std::string& target : available_simd_targets()) {
        ScopedSimdTarget forced(target);
        for (size_t threads : {1, 2}) {
          SCOPED_TRACE(testing::Message() << qt.scheme.describe() << " [" << out << ", " << in
                       << "] n " << n << " " << target << " threads " << threads);
          ThreadPool p(threads);
          std::fill(y.begin(), y.end(), -1e30f);
          matmul(packed.view(), x.bytes.data(), DType::F32, n, bias.data(), y.data(), p);
          ASSERT_TRUE(all_near(y, ref, bound));
        }
      }
    }
  }
}

// Rows are split over threads; no row's arithmetic depends on the split.
TEST(SimdKernels, ThreadCountDoesNotChangeResultsBitwise) {
  const Fixture f(300, 515, 8, 32);
  const std::vector<float> x = random_floats(size_t(6 * f.in), 0.0f, 1.0f, 9);
  for (int64_t n : {1, 6}) {
    std::vector<float> first;
    for (size_t threads : {1, 2, 3}) {
      ThreadPool p(threads);
      std::vector<float> y(size_t(n * f.out));
      matmul(f.packed.view(), x.data(), DType::F32, n, nullptr, y.data(), p);
      if (first.empty()) first = y;
      EXPECT_EQ(first, y) << threads << " threads, n " << n;
    }
  }
}

// Views into a file need not be aligned: shift every buffer by one byte.
TEST(SimdKernels, UnalignedBuffersGiveTheSameResult) {
  const Fixture f(17, 259);
  const QuantizedMatrixView v = f.packed.view();
  const size_t packed_bytes = size_t(v.rows * v.row_words() * 4);
  const size_t scale_bytes = f.qt.scales.size() * 2;
  std::vector<uint8_t> buf(1 + packed_bytes + 1 + scale_bytes + 1 + f.qt.zero_points.size());
  uint8_t* p = buf.data() + 1;
  std::memcpy(p, v.packed, packed_bytes);
  uint8_t* s = p + packed_bytes + 1;
  std::memcpy(s, v.scales, scale_bytes);
  uint8_t* z = s + scale_bytes + 1;
  std::memcpy(z, v.zero_points, f.qt.zero_points.size());
  QuantizedMatrixView u = v;
  u.packed = p;
  u.scales = s;
  u.zero_points = reinterpret_cast<const int8_t*>(z);
  const std::vector<float> x = random_floats(size_t(2 * f.in), 0.0f, 1.0f, 10);
  std::vector<uint8_t> xbuf(1 + x.size() * 4);
  std::memcpy(xbuf.data() + 1, x.data(), x.size() * 4);
  for (const std::string& target : available_simd_targets()) {
    ScopedSimdTarget forced(target);
    std::vector<float> y_aligned(size_t(2 * f.out)), y_unaligned(y_aligned.size());
    matmul(v, x.data(), DType::F32, 2, nullptr, y_aligned.data(), pool());
    matmul(u, xbuf.data() + 1, DType::F32, 2, nullptr, y_unaligned.data(), pool());
    EXPECT_EQ(y_aligned, y_unaligned) << target;
  }
}

// The bound is tight enough to see a one-step bug: one weight off by one
// quantization step, in the column with the largest |x|. (Not for 8-bit
// asymmetric: there the bound must cover sum q s x - zp s sum x, two terms of
// ~128 steps each, and at in = 259 it is ~3 steps wide.) The 16-bit
// activations' term is a worst case (every rounding off by a whole unit, the
// same way): for 8 bits at in = 259 it alone is about half a step there, so
// a step in a column of small |x| can hide in it.
TEST(SimdKernels, ToleranceSeesOneQuantizationStep) {
  for (auto [bits, symmetric] : {std::pair{8, true}, {4, false}, {4, true}, {2, false}}) {
    SCOPED_TRACE(testing::Message() << "w" << bits << (symmetric ? " sym" : " asym"));
    const int64_t out = 3, in = 259;
    QuantizedTensor qt = quantize(random_floats(size_t(out * in), symmetric ? 0.0f : 0.3f,
                                                0.05f, 12).data(),
                                  out, in, test::make_scheme(bits, Granularity::PerGroup,
                                                             symmetric, 32));
    const std::vector<float> bias = {0.5f, -0.25f, 1.0f};
    const Activations x =
        make_activations(random_floats(size_t(in), 0.5f, 1.0f, 11), DType::F32);
    std::vector<float> y(3), y_step(3);
    matvec_ref(PackedQuantizedMatrix(qt).view(), x.bytes.data(), DType::F32, bias.data(),
               y.data());
    const std::vector<double> bound = test::bounds(qt, x.f32, 1, bias);
    int64_t c = 0;
    for (int64_t i = 1; i < in; ++i) {
      if (std::fabs(x.f32[size_t(i)]) > std::fabs(x.f32[size_t(c)])) c = i;
    }
    int8_t& q = qt.q[size_t(in + c)];  // row 1
    q = int8_t(q < qt.scheme.qmax() ? q + 1 : q - 1);
    matvec_ref(PackedQuantizedMatrix(qt).view(), x.bytes.data(), DType::F32, bias.data(),
               y_step.data());
    const double step = std::fabs(double(y_step[1]) - y[1]);
    RecordProperty("w" + std::to_string(bits) + (symmetric ? "_sym" : "_asym") +
                       "_bound_over_step", std::to_string(bound[1] / step));
    EXPECT_GT(step, bound[1]);
  }
}

// The matrix-vector kernel's 16-bit activations keep f32's special cases: a
// zero token gives the bias exactly, and a NaN or an infinity in a token
// makes every output of that token NaN (f32 gives NaN or inf), the other
// token untouched.
TEST(SimdKernels, Int16ActivationsZeroAndNonFinite) {
  for (auto [bits, group] : {std::pair{8, int64_t(0)}, {4, int64_t(32)}, {2, int64_t(64)}}) {
    const int64_t out = 6, in = 200;
    const QuantizedTensor qt = quantize(random_floats(size_t(out * in), 0.0f, 0.05f, 21).data(),
                                        out, in,
                                        test::make_scheme(bits, group ? Granularity::PerGroup
                                                                      : Granularity::PerChannel,
                                                          false, group));
    const PackedQuantizedMatrix packed(qt);
    const std::vector<float> bias = random_floats(size_t(out), 0.0f, 1.0f, 22);
    for (float bad : {std::numeric_limits<float>::quiet_NaN(),
                      std::numeric_limits<float>::infinity()}) {
      std::vector<float> x(size_t(3 * in), 0.0f);  // token 0: zeros
      x[size_t(in + 17)] = bad;                        // token 1: one bad value
      for (int64_t c = 0; c < in; ++c) x[size_t(2 * in + c)] = 0.01f * float(c % 7);
      std::vector<float> ref(size_t(3 * out));
      matmul_ref(packed.view(), x.data(), DType::F32, 3, bias.data(), ref.data());
      for (const std::string& target : available_simd_targets()) {
        SCOPED_TRACE(testing::Message() << "w" << bits << " " << target << " bad " << bad);
        ScopedSimdTarget forced(target);
        std::vector<float> y(size_t(3 * out));
        matmul(packed.view(), x.data(), DType::F32, 3, bias.data(), y.data(), pool());
        for (int64_t r = 0; r < out; ++r) {
          EXPECT_EQ(y[size_t(r)], bias[size_t(r)]);
          EXPECT_TRUE(std::isnan(y[size_t(out + r)])) << y[size_t(out + r)];
          EXPECT_NEAR(y[size_t(2 * out + r)], ref[size_t(2 * out + r)], 1e-3);
        }
      }
    }
  }
}

// Long rows: the matrix-vector kernels sum a bounded number of chunks in
// int32 before converting (int16_matvec-inl.h's kSumChunks, vnni_matvec-inl.h's
// kVnniPieceChunks of 64 bytes); 4100 8-bit columns per channel are 65 such
// chunks, so a row's sum is three pieces, the last one short. Symmetric
// weights too: their offset is taken off piece by piece (VnniOffsetInits).
TEST(SimdKernels, LongRowsMatchTheReference) {
  for (auto [bits, granularity, group, symmetric] :
       {std::tuple{8, Granularity::PerChannel, int64_t(0), false},
        {4, Granularity::PerChannel, int64_t(0), false},
        {2, Granularity::PerTensor, int64_t(0), false},
        {8, Granularity::PerGroup, int64_t(2560), false},
        {8, Granularity::PerChannel, int64_t(0), true},
        {4, Granularity::PerChannel, int64_t(0), true},
        {2, Granularity::PerTensor, int64_t(0), true},
        {8, Granularity::PerGroup, int64_t(2560), true}}) {
    const int64_t out = 9, in = 4100;
    const QuantizedTensor qt =
        quantize(random_floats(size_t(out * in), 0.2f, 0.05f, 31).data(), out, in,
                 test::make_scheme(bits, granularity, symmetric, group));
    const PackedQuantizedMatrix packed(qt);
    const std::vector<float> bias = random_floats(size_t(out), 0.0f, 1.0f, 32);
    const std::vector<float> x = random_floats(size_t(in), 0.5f, 1.0f, 33);
    std::vector<float> ref(static_cast<size_t>(out)), y(ref.size());
    matvec_ref(packed.view(), x.data(), DType::F32, bias.data(), ref.data());
    const std::vector<double> bound = test::bounds(qt, x, 1, bias);
    for (const std::string& target : available_simd_targets()) {
      SCOPED_TRACE(testing::Message() << qt.scheme.describe() << " " << target);
      ScopedSimdTarget forced(target);
      matvec(packed.view(), x.data(), DType::F32, bias.data(), y.data(), pool());
      EXPECT_TRUE(all_near(y, ref, bound));
    }
  }
}

// The byte-split activations (vnni_matvec-inl.h) need every rounded value
// <= 32639: a token whose largest value lies just below a power of two
// (0.99999 rounds to 32767 at sigma = 2^-15) gets a twice coarser sigma,
// still within the bound; without it the high byte would wrap to -128 and
// the output be off by about 2^16 sigma times the weight.
TEST(SimdKernels, ActivationsJustBelowAPowerOfTwo) {
  for (int bits : {8, 4, 2}) {
    const int64_t out = 5, in = 256;
    const QuantizedTensor qt = quantize(random_floats(size_t(out * in), 0.1f, 0.05f, 41).data(),
                                        out, in,
                                        test::make_scheme(bits, Granularity::PerGroup, false, 64));
    const PackedQuantizedMatrix packed(qt);
    std::vector<float> x = random_floats(size_t(in), 0.0f, 0.2f, 42);  // all |x| < 0.9
    x[7] = 0.99999f;
    x[100] = -0.99999f;
    x[200] = 0.9962f;  // rounds to 32644 at 2^-15: also past 32639
    std::vector<float> ref(static_cast<size_t>(out)), y(ref.size());
    matvec_ref(packed.view(), x.data(), DType::F32, nullptr, ref.data());
    const std::vector<double> bound = test::bounds(qt, x, 1, std::vector<float>(size_t(out)));
    for (const std::string& target : available_simd_targets()) {
      SCOPED_TRACE(testing::Message() << "w" << bits << " " << target);
      ScopedSimdTarget forced(target);
      matvec(packed.view(), x.data(), DType::F32, nullptr, y.data(), pool());
      EXPECT_TRUE(all_near(y, ref, bound));
    }
  }
}

TEST(SimdKernels, ReferencePathForThreeBitsOnly) {
  EXPECT_FALSE(has_simd_kernel(Fixture(3, 40, 3, 32).packed.view()));
  EXPECT_TRUE(has_simd_kernel(Fixture(3, 40, 4, 12).packed.view()));  // groups not whole chunks
  EXPECT_TRUE(has_simd_kernel(Fixture(3, 40, 8, 12).packed.view()));
  EXPECT_TRUE(has_simd_kernel(Fixture(3, 10, 2, 7).packed.view()));
  EXPECT_TRUE(has_simd_kernel(FloatMatrixView{DType::BF16, 1, 1, nullptr}));
}

TEST(SimdKernels, RejectsBadArguments) {
  const Fixture f(3, 40);
  std::vector<float> x(size_t(f.in)), y(size_t(f.out));
  EXPECT_THROW(matvec(f.packed.view(), x.data(), DType::I8, nullptr, y.data(), pool()), Error);
  EXPECT_THROW(matmul(f.packed.view(), x.data(), DType::F32, -1, nullptr, y.data(), pool()),
               Error);
  QuantizedMatrixView bad = f.packed.view();
  bad.bits = 5;
  EXPECT_THROW(matvec(bad, x.data(), DType::F32, nullptr, y.data(), pool()), Error);
  bad = f.packed.view();
  bad.scales = nullptr;
  EXPECT_THROW(matvec(bad, x.data(), DType::F32, nullptr, y.data(), pool()), Error);
}

}  // namespace
}  // namespace wquant
