// Helpers shared by the kernel tests: random weights and activations, and
// the error bound that SIMD results are held to against the reference.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "wquant/core/tensor.h"
#include "wquant/kernels/simd_target.h"
#include "wquant/quant/quantize.h"

namespace wquant::test {

inline QuantScheme make_scheme(int bits, Granularity g, bool symmetric, int64_t group_size = 0) {
  QuantScheme s;
  s.bits = bits;
  s.granularity = g;
  s.symmetric = symmetric;
  s.group_size = g == Granularity::PerGroup ? group_size : 0;
  return s;
}

// Returns n normal(mean, stddev) floats (a nonzero mean makes asymmetric
// ranges, hence zero-points far from 0, and activations with a large sum).
inline std::vector<float> random_floats(size_t n, float mean, float stddev, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(mean, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

// Activations in a dtype: the bytes the kernels read and their exact f32 values.
struct Activations {
  DType dtype = DType::F32;
  std::vector<uint8_t> bytes;
  std::vector<float> f32;
};

inline Activations make_activations(const std::vector<float>& x, DType dtype) {
  Activations a;
  a.dtype = dtype;
  a.bytes.resize(x.size() * dtype_size(dtype));
  from_f32(x.data(), x.size(), dtype, a.bytes.data());
  a.f32 = to_f32(TensorView{dtype, {int64_t(x.size())}, a.bytes.data()});
  return a;
}

// Returns the extra per-weight magnitude of the matrix-vector kernel's
// terms for b-bit weights (linear.h): below 8 bits it sums the unsigned codes
// u = q + 2^(b-1) and takes off (2^(b-1) + zp) s (sum of x), terms up to
// |s| (|q| + 2^(b-1)) |x| and |s| (2^(b-1) + |zp|) |x|: 2^b more than
// |s| (|q| + |zp|) |x| together. 8 bits too: the int16 kernel decodes q
// itself, but the AVX3_DL one (vnni_matvec-inl.h) sums u = q + 128.
inline int code_offset_magnitude(int bits) { return 1 << bits; }

// Returns, per output (t, r) of y [n_tokens, out], the magnitude
//   M = |bias_r| + sum_c |scale| (|q_c| + |zero_point| + code_offset_magnitude) |x_t,c|
// that bounds every term (and every partial sum) of both computations.
inline std::vector<double> magnitudes(const QuantizedTensor& w, const std::vector<float>& x,
                                      int64_t n_tokens, const std::vector<float>& bias) {
  const int offset = code_offset_magnitude(w.scheme.bits);
  std::vector<double> m(size_t(n_tokens * w.rows));
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < w.rows; ++r) {
      double sum = bias.empty() ? 0.0 : std::fabs(bias[size_t(r)]);
      for (int64_t c = 0; c < w.cols; ++c) {
        const int64_t s = w.scale_index(r, c);
        const int zp = w.zero_points.empty() ? 0 : w.zero_points[size_t(s)];
        sum += std::fabs(double(w.scales[size_t(s)])) *
               (std::abs(int(w.q[size_t(r * w.cols + c)])) + std::abs(zp) + offset) *
               std::fabs(double(x[size_t(t * w.cols + c)]));
      }
      m[size_t(t * w.rows + r)] = sum;
    }
  }
  return m;
}

// Returns the bound on |SIMD - reference| for an output of magnitude M with
// `in` input features. Every term passes through at most in + 16 f32
// roundings in the SIMD kernels (in-lane chains of multiply-adds over a
// block's fields, two chains joined by one add, then one multiply-add per
// block across the row, a log2(lanes) <= 4 horizontal sum, the zero-point
// term's group sum and per-group subtractions, the bias), so
// their error is at most gamma_(in+16) * M, gamma_d = d u / (1 - d u),
// u = 2^-24 (the classic bound for any summation order). The reference
// rounds each dequantized weight to f32 (u M), sums in double (in 2^-53 M)
// and rounds once to f32 (u M). (in + 32) u M covers both. The typical
// error is ~sqrt(in) u M; the worst case is used so that no seed can flake.
inline double tolerance(int64_t in, double magnitude) {
  return double(in + 32) * std::ldexp(1.0, -24) * magnitude;
}

// Returns, per output (t, r), what the matrix-vector kernel's 16-bit
// activations add to the bound (linear.h):
//   sum_c |scale| |q_c - zero_point| sigma_t,
// sigma_t = 2^(k - 15) for max_c |x_t,c| = f 2^k, f in [0.5, 1) (the
// kernel's power-of-two scale; rounding is off by at most one unit of it).
inline std::vector<double> activation_rounding(const QuantizedTensor& w,
                                               const std::vector<float>& x, int64_t n_tokens) {
  std::vector<double> a(size_t(n_tokens * w.rows));
  for (int64_t t = 0; t < n_tokens; ++t) {
    double m = 0;
    for (int64_t c = 0; c < w.cols; ++c) m = std::max(m, std::fabs(double(x[size_t(t * w.cols + c)])));
    int k = 0;
    std::frexp(m, &k);
    const double sigma = m > 0 ? std::ldexp(1.0, k - 15) : 0.0;
    for (int64_t r = 0; r < w.rows; ++r) {
      double sum = 0;
      for (int64_t c = 0; c < w.cols; ++c) {
        const int64_t s = w.scale_index(r, c);
        const int zp = w.zero_points.empty() ? 0 : w.zero_points[size_t(s)];
        sum += std::fabs(double(w.scales[size_t(s)])) *
               std::abs(int(w.q[size_t(r * w.cols + c)]) - zp);
      }
      a[size_t(t * w.rows + r)] = sum * sigma;
    }
  }
  return a;
}

// Returns, per output, the whole bound on |SIMD - reference| for a quantized
// weight: tolerance(in, M) + activation_rounding.
inline std::vector<double> bounds(const QuantizedTensor& w, const std::vector<float>& x,
                                  int64_t n_tokens, const std::vector<float>& bias) {
  const std::vector<double> m = magnitudes(w, x, n_tokens, bias);
  std::vector<double> b = activation_rounding(w, x, n_tokens);
  for (size_t i = 0; i < b.size(); ++i) b[i] += tolerance(w.cols, m[i]);
  return b;
}

// Forces a SIMD target for the lifetime of the object.
class ScopedSimdTarget {
 public:
  explicit ScopedSimdTarget(const std::string& name) { force_simd_target(name); }
  ~ScopedSimdTarget() { force_simd_target(""); }
  ScopedSimdTarget(const ScopedSimdTarget&) = delete;
  ScopedSimdTarget& operator=(const ScopedSimdTarget&) = delete;
};

}  // namespace wquant::test
