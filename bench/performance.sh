#!/usr/bin/env bash
# Regenerates every performance figure of docs/: the kernel tables of
# docs/PERFORMANCE.md (bench/run_kernels.sh: linear_bench against the
# machine's measured limits and OpenBLAS) and docs/PERFORMANCE_E2E.md
# (bench/e2e.py: SmolLM2-135M end to end against llama.cpp, PyTorch and
# optimum-quanto, and a synthetic 1.1B llama against llama.cpp). About 16
# minutes on 2 cores once the models are cached; the first run also builds
# llama.cpp and makes the models (about 20 minutes more, 13 GB under
# $WQUANT_CACHE/e2e). Run it on an idle machine.
#
#   bench/performance.sh [BUILD_DIR]      # Release build for the kernels, default build-perf/
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-$ROOT/build-perf}"
CACHE="${WQUANT_CACHE:-$HOME/.cache/wquant}"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DWQUANT_BUILD_TESTS=OFF >/dev/null
"$ROOT/bench/run_kernels.sh" "$BUILD"
"$CACHE/venv/bin/python" "$ROOT/bench/e2e.py"
