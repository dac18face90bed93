#!/usr/bin/env bash
# Configures and builds wquant (Release with debug info) into $WQUANT_BUILD_DIR
# (default: build/ in the repository).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${WQUANT_BUILD_DIR:-$ROOT/build}"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
