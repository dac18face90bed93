// Support for the kernel benchmarks (linear_bench.cpp): weights of every
// format built from random codes (fast, any size up to GiBs), the machine's
// own limits measured in the same process (sustained read bandwidth, peak
// FMA throughput), and the check that a kernel's result agrees with the
// scalar reference (the CI short mode).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "wquant/core/tensor.h"
#include "wquant/kernels/linear.h"
#include "wquant/kernels/weight_matrix.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace wquant::bench {

// Weight formats benchmarked. Quantized scales are BF16 (as wquant writes them).
enum Format { kF32, kBF16, kW8Channel, kW4G128Asym, kW4G32, kW2G64, kNumFormats };
inline const char* format_name(int f) {
  static const char* const names[] = {"f32",    "bf16",   "w8_channel",
                                      "w4_g128_asym", "w4_g32", "w2_g64"};
  return names[f];
}

// A fast deterministic generator (xorshift64*): GiBs of codes in a second.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  float uniform() { return float(next() >> 40) * (1.0f / 16777216.0f); }  // [0, 1)
};

inline std::vector<float> random_floats(size_t n, uint64_t seed, float scale = 1.0f) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = (rng.uniform() * 2.0f - 1.0f) * scale;
  return v;
}

// A weight [rows, cols] of one format with random contents, owning its
// buffers (quantized: uniformly random codes, scales in [0.001, 0.01),
// zero-points in [-4, 4]).
class BenchWeight {
 public:
  BenchWeight(Format format, int64_t rows, int64_t cols, uint64_t seed = 1) {
    Rng rng(seed);
    if (format == kF32 || format == kBF16) {
      const size_t n = size_t(rows * cols);
      f32_.resize(format == kF32 ? n : 0);
      u16_.resize(format == kBF16 ? n : 0);
      for (size_t i = 0; i < n; ++i) {
        const float v = (rng.uniform() * 2.0f - 1.0f) * 0.05f;
        if (format == kF32) f32_[i] = v; else from_f32(&v, 1, DType::BF16, &u16_[i]);
      }
      view_ = FloatMatrixView{format == kF32 ? DType::F32 : DType::BF16, rows, cols,
                              format == kF32 ? static_cast<const void*>(f32_.data())
                                             : static_cast<const void*>(u16_.data())};
      bytes_ = n * (format == kF32 ? 4 : 2);
      return;
    }
    QuantizedMatrixView q;
    q.bits = format == kW8Channel ? 8 : format == kW2G64 ? 2 : 4;
    q.rows = rows, q.cols = cols;
    q.granularity = format == kW8Channel ? Granularity::PerChannel : Granularity::PerGroup;
    q.group_size = format == kW4G128Asym ? 128 : format == kW4G32 ? 32 : format == kW2G64 ? 64 : 0;
    q.scale_dtype = DType::BF16;
    const int64_t words = q.row_words(), scales = rows * q.n_groups();
    packed_.resize(size_t(rows * words));
    for (int32_t& w : packed_) w = int32_t(rng.next() >> 32);
    for (int64_t r = 0; r < rows; ++r) {  // the format's padding bits are 0
      const int64_t used = cols * q.bits - (words - 1) * 32;
      if (used < 32) packed_[size_t((r + 1) * words - 1)] &= int32_t((1u << used) - 1);
    }
    u16_.resize(size_t(scales));
    for (uint16_t& s : u16_) {
      const float v = 0.001f + 0.009f * rng.uniform();
      from_f32(&v, 1, DType::BF16, &s);
    }
    if (format == kW4G128Asym || format == kW2G64) {
      const int range = q.bits == 2 ? 2 : 9;
      zero_points_.resize(size_t(scales));
      for (int8_t& z : zero_points_) z = int8_t(int(rng.next() % uint64_t(range)) - range / 2);
    }
    q.packed = packed_.data(), q.scales = u16_.data();
    q.zero_points = zero_points_.empty() ? nullptr : zero_points_.data();
    view_ = q;
    bytes_ = packed_.size() * 4 + u16_.size() * 2 + zero_points_.size();
  }
  const WeightMatrix& view() const { return view_; }
  // Returns the bytes a matrix-vector product reads: weights (packed words,
  // scales, zero-points).
  size_t bytes() const { return bytes_; }

 private:
  WeightMatrix view_;
  size_t bytes_ = 0;
  std::vector<float> f32_;
  std::vector<uint16_t> u16_;  // bf16 weights or scales
  std::vector<int32_t> packed_;
  std::vector<int8_t> zero_points_;
};

// Runs fn(thread_index) on `threads` threads at once and returns the wall time in seconds.
template <class F>
double run_threads(int threads, const F& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&, i] { fn(i); });
  fn(0);
  for (std::thread& t : pool) t.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Returns the sum of a float buffer read as 8 interleaved streams (8
// equal segments read in lockstep, 16 floats each per step), one pass,
// nothing written. Several streams, as a matrix-vector kernel reading 4 rows
// has: a single sequential stream leaves memory-level parallelism unused and
// measures ~30% lower on this machine.
inline float read_sum(const float* p, size_t n) {
  constexpr size_t kStreams = 8, kStep = 16;
  const size_t seg = n / kStreams / kStep * kStep;
  float s[kStreams][kStep] = {};
  for (size_t i = 0; i < seg; i += kStep) {
    for (size_t k = 0; k < kStreams; ++k) {
      for (size_t j = 0; j < kStep; ++j) s[k][j] += p[k * seg + i + j];
    }
  }
  float sum = 0;
  for (size_t k = 0; k < kStreams; ++k) {
    for (size_t j = 0; j < kStep; ++j) sum += s[k][j];
  }
  return sum;
}

// Returns the best of `reps` sustained read bandwidths (GB/s) over a 512 MiB
// buffer (16x the 32 MiB LLC here), split over `threads` threads.
inline double measure_read_bandwidth(int threads, int reps = 5) {
  const size_t n = (size_t(512) << 20) / 4;
  std::unique_ptr<float[]> buf(new float[n]);
  run_threads(threads, [&](int i) {  // first touch by the reading thread
    std::fill(buf.get() + n * size_t(i) / size_t(threads),
              buf.get() + n * size_t(i + 1) / size_t(threads), 1.0f);
  });
  double best = 0;
  volatile float sink = 0;
  for (int rep = 0; rep < reps; ++rep) {
    const double s = run_threads(threads, [&](int i) {
      sink = sink + read_sum(buf.get() + n * size_t(i) / size_t(threads), n / size_t(threads));
    });
    best = std::max(best, double(n) * 4 / s / 1e9);
  }
  return best;
}

#if defined(__x86_64__)
// Returns f32 FLOP done by `iters` rounds of 12 independent 8-lane FMAs.
__attribute__((target("avx2,fma"))) inline double fma_loop(int64_t iters) {
  __m256 a[12];
  for (int k = 0; k < 12; ++k) a[k] = _mm256_set1_ps(float(k));
  const __m256 b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
  for (int64_t i = 0; i < iters; ++i) {
    // 12 chains: 2 FMA pipes x 4 cycles latency, with room to spare.
    a[0] = _mm256_fmadd_ps(a[0], b, c), a[1] = _mm256_fmadd_ps(a[1], b, c);
    a[2] = _mm256_fmadd_ps(a[2], b, c), a[3] = _mm256_fmadd_ps(a[3], b, c);
    a[4] = _mm256_fmadd_ps(a[4], b, c), a[5] = _mm256_fmadd_ps(a[5], b, c);
    a[6] = _mm256_fmadd_ps(a[6], b, c), a[7] = _mm256_fmadd_ps(a[7], b, c);
    a[8] = _mm256_fmadd_ps(a[8], b, c), a[9] = _mm256_fmadd_ps(a[9], b, c);
    a[10] = _mm256_fmadd_ps(a[10], b, c), a[11] = _mm256_fmadd_ps(a[11], b, c);
  }
  __m256 s = a[0];
  for (int k = 1; k < 12; ++k) s = _mm256_add_ps(s, a[k]);
  volatile float sink = _mm256_cvtss_f32(s);
  (void)sink;
  return double(iters) * 12 * 8 * 2;
}
#endif

// Returns the best of `reps` register-only FMA throughputs (GFLOP/s) on
// `threads` threads, or 0 where no AVX2/FMA loop is compiled or supported.
inline double measure_peak_gflops(int threads, int reps = 5) {
#if defined(__x86_64__)
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0;
  const int64_t iters = 20'000'000;
  double best = 0;
  for (int rep = 0; rep < reps; ++rep) {
    const double s = run_threads(threads, [&](int) { fma_loop(iters); });
    best = std::max(best, double(threads) * double(iters) * 12 * 8 * 2 / s / 1e9);
  }
  return best;
#else
  return 0;
#endif
}

// Returns the largest |y - ref| / bound over y [n_tokens, out] for x
// [n_tokens, in]; above 1 the kernel is wrong. The bound is linear.h's,
// (in + 32) 2^-24 M + A, with M = sum_c |s| (2^(b-1) + |zp| + o_b) |x_c| and
// A = sum_c |s| (2^(b-1) + |zp|) max_c |x_c| / 2^14 for quantized weights
// (|q| <= 2^(b-1); the 16-bit activations' scale is at most max |x| / 2^14:
// looser than the unit tests' but enough to catch a broken path).
inline double error_over_bound(const WeightMatrix& w, const float* x, int64_t n_tokens,
                               const float* y) {
  const int64_t out = out_features(w), in = in_features(w);
  std::vector<float> ref(size_t(n_tokens * out));
  matmul_ref(w, x, DType::F32, n_tokens, nullptr, ref.data());
  std::vector<float> row(static_cast<size_t>(in)), weight_magnitude(static_cast<size_t>(in));
  std::vector<float> code_magnitude(static_cast<size_t>(in), 0.0f);  // |s| (2^(b-1) + |zp|)
  double worst = 0;
  for (int64_t r = 0; r < out; ++r) {
    if (const auto* q = std::get_if<QuantizedMatrixView>(&w)) {
      const double o = double(1 << q->bits);  // 8 bits too (the AVX3_DL kernel)
      for (int64_t c = 0; c < in; ++c) {
        const int64_t i = q->scale_index(r, c / q->group_cols());
        const double zp = q->zero_points ? std::fabs(double(q->zero_points[i])) : 0.0;
        weight_magnitude[size_t(c)] =
            float(std::fabs(q->scale_at(i)) * (double(1 << (q->bits - 1)) + zp + o));
        code_magnitude[size_t(c)] = float(std::fabs(q->scale_at(i)) * (double(1 << (q->bits - 1)) + zp));
      }
    } else {
      weight_row_f32(w, r, row.data());
      for (int64_t c = 0; c < in; ++c) weight_magnitude[size_t(c)] = std::fabs(row[size_t(c)]);
    }
    for (int64_t t = 0; t < n_tokens; ++t) {
      double m = 0, codes = 0, x_max = 0;
      for (int64_t c = 0; c < in; ++c) {
        m += weight_magnitude[size_t(c)] * std::fabs(x[t * in + c]);
        codes += code_magnitude[size_t(c)];
        x_max = std::max(x_max, std::fabs(double(x[t * in + c])));
      }
      const double bound =
          double(in + 32) * std::ldexp(1.0, -24) * m + codes * x_max / 16384.0;
      const double err = std::fabs(double(y[t * out + r]) - double(ref[size_t(t * out + r)]));
      worst = std::max(worst, bound > 0 ? err / bound : (err > 0 ? 1e9 : 0.0));
    }
  }
  return worst;
}

}  // namespace wquant::bench
