#!/usr/bin/env bash
# The Python package as a user gets it: builds the wheel (`pip wheel .`:
# scikit-build-core, nanobind, the C++ library) into
# $WQUANT_BUILD_DIR/wheel, installs it into a fresh virtual environment
# ($WQUANT_BUILD_DIR/wheel-venv, only the wheel and numpy) and runs the quick
# start there (python/examples/quickstart.py) on the default model; then
# installs the same wheel into the test references' environment
# ($WQUANT_CACHE/venv), where tests/python/test_python_package.py uses it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${WQUANT_BUILD_DIR:-$ROOT/build}"
CACHE="${WQUANT_CACHE:-$HOME/.cache/wquant}"
REFS="$CACHE/venv"
rm -rf "$BUILD/wheel"
# Built in the main build directory, configured as scripts/build.sh does
# (same build type, tests and benchmarks on) plus the extension module, so
# the libraries already built are reused; scikit-build-core and nanobind come
# from the references' environment (tests/python/requirements.txt), pinned as
# in pyproject.toml. A user's `pip install .` builds in Release in isolation.
CMAKE_GENERATOR="Unix Makefiles" "$REFS/bin/pip" wheel --quiet --no-deps --no-build-isolation -w "$BUILD/wheel" \
  -C build-dir="$BUILD" -C cmake.build-type=RelWithDebInfo -C install.strip=true \
  -C cmake.define.WQUANT_BUILD_TESTS=ON -C cmake.define.WQUANT_BUILD_BENCHMARKS=ON "$ROOT"
WHEEL="$(ls "$BUILD"/wheel/wquant-*.whl)"
echo "built $(basename "$WHEEL") ($(du -h "$WHEEL" | cut -f1))"
python3 -m venv --clear "$BUILD/wheel-venv"
"$BUILD/wheel-venv/bin/pip" install --quiet "$WHEEL"
echo "== the quick start in a fresh virtual environment"
(cd "$BUILD" && "$BUILD/wheel-venv/bin/python" "$ROOT/python/examples/quickstart.py" \
   "$CACHE/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
"$BUILD/wheel-venv/bin/wquant" --version
"$REFS/bin/pip" install --quiet --no-deps --force-reinstall "$WHEEL"
