// Matrix-vector and matrix-matrix throughput of the linear kernels on a
// 4096 x 4096 weight, next to this machine's memory bandwidth measured in the
// same run (BM_MemoryRead) and the scalar reference.
//
//   build/bench/linear_bench                       # best SIMD target
//   WQUANT_FORCE_TARGET=SSE4 build/bench/linear_bench --benchmark_filter=Matvec
//
// "bytes_per_second" of a matvec counts the weight bytes (packed words,
// scales, zero-points) read per call: the traffic that bounds decode speed.
// Compare it with BM_MemoryRead's. Argument "threads" is the pool size.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "wquant/kernels/linear.h"
#include "wquant/kernels/simd_target.h"
#include "wquant/kernels/weight_matrix.h"
#include "wquant/quant/quantize.h"

namespace {
using namespace wquant;

constexpr int64_t kOut = 4096, kIn = 4096;

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

// One weight in every format the benchmarks use, built once.
struct Weights {
  std::vector<float> f32 = random_floats(size_t(kOut * kIn), 1);
  std::vector<uint16_t> bf16 = std::vector<uint16_t>(f32.size());
  std::vector<std::unique_ptr<PackedQuantizedMatrix>> quantized;  // by Format below
  Weights() { from_f32(f32.data(), f32.size(), DType::BF16, bf16.data()); }
};

enum Format { kF32, kBF16, kW8Channel, kW4G128Asym, kW4G32, kW2G64, kNumFormats };
const char* const kNames[] = {"f32", "bf16", "w8_channel", "w4_g128_asym", "w4_g32", "w2_g64"};

Weights& weights() {
  static Weights w;
  return w;
}

QuantScheme scheme(int bits, Granularity g, int64_t group, bool symmetric) {
  QuantScheme s;
  s.bits = bits;
  s.granularity = g;
  s.group_size = group;
  s.symmetric = symmetric;
  return s;
}

// Returns the weight of `format` and its size in bytes.
WeightMatrix weight(Format format, size_t* bytes) {
  Weights& w = weights();
  if (format == kF32) {
    *bytes = w.f32.size() * 4;
    return FloatMatrixView{DType::F32, kOut, kIn, w.f32.data()};
  }
  if (format == kBF16) {
    *bytes = w.bf16.size() * 2;
    return FloatMatrixView{DType::BF16, kOut, kIn, w.bf16.data()};
  }
  if (w.quantized.empty()) {
    const QuantScheme schemes[] = {scheme(8, Granularity::PerChannel, 0, true),
                                   scheme(4, Granularity::PerGroup, 128, false),
                                   scheme(4, Granularity::PerGroup, 32, true),
                                   scheme(2, Granularity::PerGroup, 64, false)};
    for (const QuantScheme& s : schemes) {
      const QuantizedTensor t = quantize(w.f32.data(), kOut, kIn, s, DType::BF16);
      w.quantized.push_back(std::make_unique<PackedQuantizedMatrix>(t, DType::BF16));
    }
  }
  const QuantizedMatrixView v = w.quantized[size_t(format - kW8Channel)]->view();
  const int64_t scales = v.granularity == Granularity::PerTensor ? 1 : v.rows * v.n_groups();
  *bytes = size_t(v.rows * v.row_words() * 4 + scales * (2 + (v.zero_points ? 1 : 0)));
  return v;
}

void BM_Matvec(benchmark::State& state) {
  const Format format = Format(state.range(0));
  ThreadPool pool(size_t(state.range(1)));
  size_t bytes = 0;
  const WeightMatrix w = weight(format, &bytes);
  const std::vector<float> x = random_floats(size_t(kIn), 2);
  std::vector<float> y(static_cast<size_t>(kOut));
  for (auto _ : state) {
    matvec(w, x.data(), DType::F32, nullptr, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
  state.SetLabel(std::string(kNames[format]) + " " + active_simd_target());
}
BENCHMARK(BM_Matvec)
    ->ArgsProduct({benchmark::CreateDenseRange(0, kNumFormats - 1, 1), {1, 2}})
    ->ArgNames({"format", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_MatvecReference(benchmark::State& state) {
  const Format format = Format(state.range(0));
  size_t bytes = 0;
  const WeightMatrix w = weight(format, &bytes);
  const std::vector<float> x = random_floats(size_t(kIn), 2);
  std::vector<float> y(static_cast<size_t>(kOut));
  for (auto _ : state) {
    matvec_ref(w, x.data(), DType::F32, nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
  state.SetLabel(kNames[format]);
}
BENCHMARK(BM_MatvecReference)->Arg(kW8Channel)->Arg(kW4G128Asym)->Unit(benchmark::kMillisecond);

// Prompt-style: 64 tokens; reports multiply-adds as items (x2 for FLOP/s).
void BM_Matmul64(benchmark::State& state) {
  const Format format = Format(state.range(0));
  ThreadPool pool(size_t(state.range(1)));
  size_t bytes = 0;
  const WeightMatrix w = weight(format, &bytes);
  const int64_t n = 64;
  const std::vector<float> x = random_floats(size_t(n * kIn), 3);
  std::vector<float> y(size_t(n * kOut));
  for (auto _ : state) {
    matmul(w, x.data(), DType::F32, n, nullptr, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * n * kOut * kIn);
  state.SetLabel(std::string(kNames[format]) + " " + active_simd_target());
}
BENCHMARK(BM_Matmul64)
    ->ArgsProduct({{kF32, kW8Channel, kW4G128Asym}, {1, 2}})
    ->ArgNames({"format", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The limit: one thread reading a 256 MiB buffer (larger than any cache),
// eight independent 64-bit sums so that the loop is not latency-bound.
void BM_MemoryRead(benchmark::State& state) {
  const size_t n = (size_t(256) << 20) / 8;
  std::vector<uint64_t> buf(n, 1);
  for (auto _ : state) {
    uint64_t s[8] = {};
    for (size_t i = 0; i < n; i += 8) {
      for (int k = 0; k < 8; ++k) s[k] += buf[i + size_t(k)];
    }
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(n * 8));
}
BENCHMARK(BM_MemoryRead)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
