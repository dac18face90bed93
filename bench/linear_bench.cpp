// The linear kernels against this machine's limits and against OpenBLAS,
// measured in the same run (Google Benchmark).
//
//   build/bench/linear_bench                                # everything (minutes)
//   build/bench/linear_bench --benchmark_filter='BM_Matvec/' --benchmark_repetitions=5
//   WQUANT_FORCE_TARGET=SSE4 build/bench/linear_bench --benchmark_filter=Matvec
//   build/bench/linear_bench --check --benchmark_filter=... # CI short mode (ctest)
//
// The limits come first: BM_ReadBandwidth (STREAM-style sustained read of a
// 512 MiB buffer, 1 and 2 threads) and BM_PeakFma (a register-only FMA loop).
// The same figures, measured once at start-up, are the denominators of the
// counters (rates: the console prints them with "/s"):
//   matrix-vector (BM_Matvec, BM_MatvecSweep, BM_Sgemv): GB, the weight
//     bytes read per second (packed words + scales + zero-points), and
//     bw_pct, that rate as a percentage of the read bandwidth at the same
//     thread count;
//   matrix-matrix (BM_Matmul, BM_Sgemm): GFLOP per second (2 * tokens * out
//     * in per call) and peak_pct, as a percentage of the FMA peak.
// Shapes are out x in, from SmolLM2-135M (576 x 1536, 1536 x 576) and 7B-class
// models (4096 x 4096, 4096 x 11008, 11008 x 4096). bench/run_kernels.sh runs
// this and writes docs/PERFORMANCE.md.
//
// --check (our flag, removed before Google Benchmark sees the arguments):
// after timing, every kernel benchmark compares its output with the scalar
// reference (bench_support.h: error_over_bound) and fails the run (exit 1)
// if it is off; the limits are not measured.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "bench_support.h"
#include "wquant/kernels/linear.h"
#include "wquant/kernels/simd_target.h"

#ifdef WQUANT_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace {
using namespace wquant;
using namespace wquant::bench;

bool g_check = false;
int g_failures = 0;

struct Shape {
  int64_t out, in;
};
const Shape kShapes[] = {{576, 1536}, {1536, 576}, {4096, 4096}, {4096, 11008}, {11008, 4096}};
constexpr int kNumShapes = 5;

// The machine's limits at 1 and 2 threads, measured once (0 in --check mode).
struct Limits {
  double read_gbs[3] = {}, peak_gflops[3] = {};
};
const Limits& limits() {
  static const Limits l = [] {
    Limits m;
    if (g_check) return m;
    for (int t = 1; t <= 2; ++t) {
      m.read_gbs[t] = measure_read_bandwidth(t);
      m.peak_gflops[t] = measure_peak_gflops(t);
    }
    return m;
  }();
  return l;
}

// Weights of the fixed shapes, built once per (format, shape).
const BenchWeight& shape_weight(int format, int shape) {
  static std::map<std::pair<int, int>, std::unique_ptr<BenchWeight>> cache;
  auto& w = cache[{format, shape}];
  if (!w) w = std::make_unique<BenchWeight>(Format(format), kShapes[shape].out, kShapes[shape].in);
  return *w;
}

// Sets the matrix-vector counters: GB/s of `bytes` per iteration, and pct_bw.
void matvec_counters(benchmark::State& state, size_t bytes, int threads) {
  const double gb = double(bytes) * double(state.iterations()) / 1e9;
  state.counters["GB"] = benchmark::Counter(gb, benchmark::Counter::kIsRate);
  const double bw = limits().read_gbs[std::min(threads, 2)];
  if (bw > 0) state.counters["bw_pct"] = benchmark::Counter(100 * gb / bw, benchmark::Counter::kIsRate);
}

// Sets the matrix-matrix counters: GFLOP/s and pct_peak.
void matmul_counters(benchmark::State& state, double flops_per_call, int threads) {
  const double gflop = flops_per_call * double(state.iterations()) / 1e9;
  state.counters["GFLOP"] = benchmark::Counter(gflop, benchmark::Counter::kIsRate);
  const double peak = limits().peak_gflops[std::min(threads, 2)];
  if (peak > 0) {
    state.counters["peak_pct"] = benchmark::Counter(100 * gflop / peak, benchmark::Counter::kIsRate);
  }
}

// In --check mode: fails the benchmark (and the run) if y is off the reference.
void check(benchmark::State& state, const WeightMatrix& w, const float* x, int64_t n_tokens,
           const float* y) {
  if (!g_check) return;
  const double ratio = error_over_bound(w, x, n_tokens, y);
  state.counters["err_over_bound"] = ratio;
  if (!(ratio <= 1.0)) {
    ++g_failures;
    state.SkipWithError("result differs from matmul_ref beyond the rounding bound");
  }
}

void BM_ReadBandwidth(benchmark::State& state) {
  const int threads = int(state.range(0));
  double gbs = 0;
  for (auto _ : state) gbs = measure_read_bandwidth(threads, 1);
  state.counters["GB/s"] = gbs;
}
BENCHMARK(BM_ReadBandwidth)->ArgName("threads")->Arg(1)->Arg(2)->Iterations(5)
    ->Unit(benchmark::kMillisecond);

void BM_PeakFma(benchmark::State& state) {
  const int threads = int(state.range(0));
  double gflops = 0;
  for (auto _ : state) gflops = measure_peak_gflops(threads, 1);
  state.counters["GFLOP/s"] = gflops;
}
BENCHMARK(BM_PeakFma)->ArgName("threads")->Arg(1)->Arg(2)->Iterations(5)
    ->Unit(benchmark::kMillisecond);

void run_matvec(benchmark::State& state, const BenchWeight& w, int threads) {
  ThreadPool pool(static_cast<size_t>(threads));
  const std::vector<float> x = random_floats(size_t(in_features(w.view())), 2);
  std::vector<float> y(size_t(out_features(w.view())));
  for (auto _ : state) {
    matvec(w.view(), x.data(), DType::F32, nullptr, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  matvec_counters(state, w.bytes(), threads);
  check(state, w.view(), x.data(), 1, y.data());
}

void BM_Matvec(benchmark::State& state) {
  const int format = int(state.range(0)), shape = int(state.range(1)), threads = int(state.range(2));
  run_matvec(state, shape_weight(format, shape), threads);
  state.SetLabel(std::string(format_name(format)) + " " + active_simd_target());
}
BENCHMARK(BM_Matvec)
    ->ArgsProduct({benchmark::CreateDenseRange(0, kNumFormats - 1, 1),
                   benchmark::CreateDenseRange(0, kNumShapes - 1, 1), {1, 2}})
    ->ArgNames({"format", "shape", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Matrix-vector time against size: in = 4096, rows for 2^log2_bytes bytes of
// weights (256 KiB: in L2; 4 MiB: in the 32 MiB L3; 1 GiB: DRAM).
void BM_MatvecSweep(benchmark::State& state) {
  const int format = int(state.range(0)), threads = int(state.range(2));
  const int64_t in = 4096, bytes = int64_t(1) << state.range(1);
  const int64_t row_bytes = format == kF32 ? in * 4 : format == kW8Channel ? in : in / 2;
  const BenchWeight w(Format(format), std::max<int64_t>(1, bytes / row_bytes), in);
  run_matvec(state, w, threads);
  state.SetLabel(format_name(format));
}
BENCHMARK(BM_MatvecSweep)
    ->ArgsProduct({{kF32, kW8Channel, kW4G128Asym}, {18, 20, 22, 24, 26, 28, 30}, {1, 2}})
    ->ArgNames({"format", "log2_bytes", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// One decoded token of SmolLM2-135M: its 30 layers' 7 linear layers (q, k,
// v, o: 576x576, 192x576, 192x576, 576x576; gate, up: 1536x576; down:
// 576x1536), each weight in its own memory (106 MB at 8 bits: beyond the L3,
// so every weight comes cold from DRAM, as in decoding), called in order.
// Small matrices read 4 rows side by side defeat the hardware prefetcher
// (quantized_matvec-inl.h); this is the benchmark that showed it. --check:
// 2 layers, the last product checked.
void BM_ModelLayers(benchmark::State& state) {
  const int format = int(state.range(0)), threads = int(state.range(1));
  struct Shape { int64_t out, in; };
  const Shape layer[] = {{576, 576}, {192, 576}, {192, 576}, {576, 576},
                         {1536, 576}, {1536, 576}, {576, 1536}};
  std::vector<std::unique_ptr<BenchWeight>> weights;
  size_t bytes = 0;
  for (int l = 0; l < (g_check ? 2 : 30); ++l) {
    for (const Shape& sh : layer) {
      weights.push_back(std::make_unique<BenchWeight>(Format(format), sh.out, sh.in,
                                                      uint64_t(weights.size() + 1)));
      bytes += weights.back()->bytes();
    }
  }
  ThreadPool pool(static_cast<size_t>(threads));
  const std::vector<float> x = random_floats(1536, 2);
  std::vector<float> y(1536);
  for (auto _ : state) {
    for (const auto& w : weights) matvec(w->view(), x.data(), DType::F32, nullptr, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  matvec_counters(state, bytes, threads);
  check(state, weights.back()->view(), x.data(), 1, y.data());
  state.SetLabel(std::string(format_name(format)) + " " + std::to_string(weights.size()) +
                 " matrices");
}
BENCHMARK(BM_ModelLayers)
    ->ArgsProduct({{kBF16, kW8Channel, kW4G128Asym, kW4G32, kW2G64}, {1, 2}})
    ->ArgNames({"format", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_Matmul(benchmark::State& state) {
  const int format = int(state.range(0)), shape = int(state.range(1));
  const int64_t n = state.range(2);
  const int threads = int(state.range(3));
  const BenchWeight& w = shape_weight(format, shape);
  const int64_t out = kShapes[shape].out, in = kShapes[shape].in;
  ThreadPool pool(static_cast<size_t>(threads));
  const std::vector<float> x = random_floats(size_t(n * in), 3);
  std::vector<float> y(size_t(n * out));
  for (auto _ : state) {
    matmul(w.view(), x.data(), DType::F32, n, nullptr, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  matmul_counters(state, 2.0 * double(n * out * in), threads);
  check(state, w.view(), x.data(), n, y.data());
  state.SetLabel(std::string(format_name(format)) + " " + active_simd_target());
}
BENCHMARK(BM_Matmul)
    ->ArgsProduct({{kF32, kW8Channel, kW4G128Asym},
                   benchmark::CreateDenseRange(0, kNumShapes - 1, 1), {64, 512}, {1, 2}})
    ->ArgNames({"format", "shape", "tokens", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

#ifdef WQUANT_HAVE_OPENBLAS
// The peer: OpenBLAS f32 sgemv / sgemm on the same f32 weights, same threads.
void run_sgemv(benchmark::State& state, const BenchWeight& w, int threads) {
  openblas_set_num_threads(threads);
  const auto& f = std::get<FloatMatrixView>(w.view());
  const std::vector<float> x = random_floats(size_t(f.cols), 2);
  std::vector<float> y(size_t(f.rows));
  for (auto _ : state) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, int(f.rows), int(f.cols), 1.0f,
                static_cast<const float*>(f.data), int(f.cols), x.data(), 1, 0.0f, y.data(), 1);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  matvec_counters(state, w.bytes(), threads);
  state.SetLabel("openblas f32");
}

void BM_Sgemv(benchmark::State& state) {
  run_sgemv(state, shape_weight(kF32, int(state.range(0))), int(state.range(1)));
}
BENCHMARK(BM_Sgemv)
    ->ArgsProduct({benchmark::CreateDenseRange(0, kNumShapes - 1, 1), {1, 2}})
    ->ArgNames({"shape", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_SgemvSweep(benchmark::State& state) {
  const int64_t in = 4096, bytes = int64_t(1) << state.range(0);
  run_sgemv(state, BenchWeight(kF32, std::max<int64_t>(1, bytes / (in * 4)), in),
            int(state.range(1)));
}
BENCHMARK(BM_SgemvSweep)
    ->ArgsProduct({{18, 20, 22, 24, 26, 28, 30}, {1, 2}})
    ->ArgNames({"log2_bytes", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_Sgemm(benchmark::State& state) {
  const int shape = int(state.range(0)), threads = int(state.range(2));
  const int64_t n = state.range(1), out = kShapes[shape].out, in = kShapes[shape].in;
  openblas_set_num_threads(threads);
  const auto& f = std::get<FloatMatrixView>(shape_weight(kF32, shape).view());
  const std::vector<float> x = random_floats(size_t(n * in), 3);
  std::vector<float> y(size_t(n * out));
  for (auto _ : state) {  // y [n, out] = x [n, in] W^T
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(out), int(in), 1.0f,
                x.data(), int(in), static_cast<const float*>(f.data), int(in), 0.0f, y.data(),
                int(out));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  matmul_counters(state, 2.0 * double(n * out * in), threads);
  state.SetLabel("openblas f32");
}
BENCHMARK(BM_Sgemm)
    ->ArgsProduct({benchmark::CreateDenseRange(0, kNumShapes - 1, 1), {64, 512}, {1, 2}})
    ->ArgNames({"shape", "tokens", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
#endif  // WQUANT_HAVE_OPENBLAS

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]) == "--check") g_check = true; else args.push_back(argv[i]);
  }
  int n = int(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  const Limits& l = limits();
  if (!g_check) {
    for (int t = 1; t <= 2; ++t) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "%.2f GB/s read, %.1f GFLOP/s FMA peak", l.read_gbs[t],
                    l.peak_gflops[t]);
      benchmark::AddCustomContext("limits_" + std::to_string(t) + "_threads", buf);
    }
  }
  benchmark::AddCustomContext("simd_target", active_simd_target());
#ifdef WQUANT_HAVE_OPENBLAS
  benchmark::AddCustomContext("openblas", "yes");
#else
  benchmark::AddCustomContext("openblas", "not found at build time: BM_Sgemv/BM_Sgemm skipped");
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (g_failures > 0) std::fprintf(stderr, "linear_bench --check: %d kernel(s) wrong\n", g_failures);
  return g_failures > 0 ? 1 : 0;
}
