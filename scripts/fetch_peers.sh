#!/usr/bin/env bash
# Fetches and builds the peers that bench/e2e.py measures wquant against,
# into a cache outside the repository (never committed):
#   $WQUANT_CACHE/peers/llama.cpp-<ver>/build/bin/{llama-bench,llama-completion,llama-quantize}
#       llama.cpp as vendored in the llama-cpp-python source distribution on
#       PyPI (the only route to llama.cpp from this machine), built for the
#       CPU only, tuned for this CPU (GGML_NATIVE), no curl. llama-completion
#       is the plain one-shot CLI (this version builds llama-cli only with
#       the server).
#   optimum-quanto and sentencepiece, installed into the test venv ($WQUANT_CACHE/venv).
# Idempotent: does nothing when the binaries are already there.
# Prints the llama.cpp directory on the last line of stdout.
set -euo pipefail
CACHE="${WQUANT_CACHE:-$HOME/.cache/wquant}"
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
VENV="$CACHE/venv"
PEERS="$CACHE/peers"
DEST="$PEERS/llama.cpp-$VERSION"
JOBS="${JOBS:-$(nproc)}"

mkdir -p "$PEERS"
if [ ! -f "$DEST/.complete" ]; then
  rm -rf "$DEST" "$PEERS/unpack"
  if [ ! -f "$PEERS/sdist/llama_cpp_python-$VERSION.tar.gz" ]; then
    "$VENV/bin/pip" download --quiet --no-deps --no-binary :all: \
        -d "$PEERS/sdist" "llama-cpp-python==$VERSION" >&2
  fi
  mkdir -p "$PEERS/unpack"
  tar xzf "$PEERS/sdist/llama_cpp_python-$VERSION.tar.gz" -C "$PEERS/unpack"
  mv "$PEERS/unpack/llama_cpp_python-$VERSION/vendor/llama.cpp" "$DEST"
  rm -rf "$PEERS/unpack"
  touch "$DEST/.unpacked"
fi
if [ ! -x "$DEST/build/bin/llama-bench" ] || [ ! -x "$DEST/build/bin/llama-quantize" ] \
    || [ ! -x "$DEST/build/bin/llama-completion" ]; then
  cmake -S "$DEST" -B "$DEST/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DGGML_CUDA=OFF -DGGML_METAL=OFF \
      -DGGML_VULKAN=OFF -DGGML_OPENMP=ON -DBUILD_SHARED_LIBS=OFF \
      -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >&2
  cmake --build "$DEST/build" -j "$JOBS" --target llama-bench llama-completion llama-quantize >&2
fi
touch "$DEST/.complete"

# optimum-quanto (qint8 weights) for the PyTorch peer, and sentencepiece,
# which llama.cpp's convert_hf_to_gguf.py imports even for a BPE vocabulary.
# A failure is reported by bench/e2e.py (n/a in its table, or a note), so it
# does not stop this script.
for module_package in optimum.quanto:optimum-quanto sentencepiece:sentencepiece; do
  if ! "$VENV/bin/python" -c "import ${module_package%%:*}" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet "${module_package#*:}" >&2 \
        || echo "fetch_peers: pip install ${module_package#*:} failed" >&2
  fi
done
echo "$DEST"
