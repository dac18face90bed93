#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs what is missing,
# builds, fetches the real models, then runs the C++ unit tests (ctest), the
# kernel tests cross-compiled for aarch64 under qemu (scripts/test_arm.sh), and
# the oracle / integration tests against transformers, compressed-tensors,
# gguf and safetensors (pytest).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export WQUANT_BUILD_DIR="${WQUANT_BUILD_DIR:-$ROOT/build}"
export WQUANT_CACHE="${WQUANT_CACHE:-$HOME/.cache/wquant}"
"$ROOT/scripts/install_deps.sh"
"$ROOT/scripts/build.sh"
"$ROOT/scripts/fetch_models.sh" >/dev/null
"$ROOT/scripts/fetch_text.sh" >/dev/null
"$ROOT/scripts/setup_python.sh"
echo "== C++ unit tests"
(cd "$WQUANT_BUILD_DIR" && ctest --output-on-failure -j2)
echo "== SIMD kernels on aarch64: cross-compiled, run under qemu (NEON, SVE, SVE2)"
WQUANT_ARM_BUILD="${WQUANT_ARM_BUILD:-$WQUANT_BUILD_DIR-arm}" "$ROOT/scripts/test_arm.sh"
echo "== Python package: wheel, fresh virtual environment, quick start"
"$ROOT/scripts/python_package.sh"
echo "== Python oracle and integration tests"
cd "$ROOT"
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WQUANT_REQUIRE_PACKAGE=1 "$WQUANT_CACHE/venv/bin/python" -m pytest tests/python -q -p no:cacheprovider
echo "== Parsers under AddressSanitizer and UBSan: unit tests, then each libFuzzer target (scripts/fuzz.sh --ci)"
"$ROOT/scripts/fuzz.sh" --ci
