#!/usr/bin/env bash
# Regenerates every performance figure of docs/: the kernel tables of
# docs/PERFORMANCE.md (bench/run_kernels.sh: linear_bench against the
# machine's measured limits and OpenBLAS) and docs/PERFORMANCE_E2E.md
# (bench/e2e.py: SmolLM2-135M end to end against llama.cpp, PyTorch and
# optimum-quanto). About 25 minutes; run it on an idle machine.
#
#   bench/performance.sh [BUILD_DIR]      # Release build for the kernels, default build-perf/
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-$ROOT/build-perf}"
CACHE="${WQUANT_CACHE:-$HOME/.cache/wquant}"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DWQUANT_BUILD_TESTS=OFF >/dev/null
"$ROOT/bench/run_kernels.sh" "$BUILD"
"$CACHE/venv/bin/python" "$ROOT/bench/e2e.py"
