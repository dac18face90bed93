#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs what is missing,
# builds, fetches the real models, then runs the C++ unit tests (ctest) and
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
echo "== Python package: wheel, fresh virtual environment, quick start"
"$ROOT/scripts/python_package.sh"
echo "== Python oracle and integration tests"
cd "$ROOT"
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WQUANT_REQUIRE_PACKAGE=1 "$WQUANT_CACHE/venv/bin/python" -m pytest tests/python -q -p no:cacheprovider
echo "== Parsers under AddressSanitizer and UBSan: unit tests, then each libFuzzer target (scripts/fuzz.sh --ci)"
"$ROOT/scripts/fuzz.sh" --ci
