#!/usr/bin/env bash
# Runs the kernel benchmarks (linear_bench) with repetitions and writes the
# tables of docs/PERFORMANCE.md from the medians (bench/kernel_report.py).
#
#   bench/run_kernels.sh [BUILD_DIR]          # default build/; about 10 minutes
#   REPS=5 MIN_TIME=0.5 bench/run_kernels.sh build-perf
#
# The JSON of the run is kept next to the build (BUILD_DIR/linear_bench.json)
# for later study. Timings are only as quiet as the machine: run it idle.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
REPS="${REPS:-3}"
MIN_TIME="${MIN_TIME:-0.2}"
JSON="$BUILD/linear_bench.json"
cmake --build "$BUILD" --target linear_bench -j2 >/dev/null
"$BUILD/bench/linear_bench" --benchmark_repetitions="$REPS" --benchmark_min_time="$MIN_TIME" \
  --benchmark_report_aggregates_only=true --benchmark_out="$JSON" --benchmark_out_format=json \
  >/dev/null
python3 "$ROOT/bench/kernel_report.py" "$JSON" \
  --command "bench/run_kernels.sh (REPS=$REPS MIN_TIME=$MIN_TIME)" \
  --output "$ROOT/docs/PERFORMANCE.md"
echo "wrote docs/PERFORMANCE.md from $JSON"
