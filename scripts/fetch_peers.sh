#!/usr/bin/env bash
# Fetches and builds the peers that bench/e2e.py measures wquant against,
# into a cache outside the repository (never committed):
#   $WQUANT_CACHE/peers/llama.cpp-<ver>/build/bin/{llama-bench,llama-completion,llama-quantize,
#                                                   llama-imatrix,llama-perplexity}
#       llama.cpp as vendored in the llama-cpp-python source distribution on
#       PyPI (the only route to llama.cpp from this machine), built for the
#       CPU only, tuned for this CPU (GGML_NATIVE), no curl. llama-completion
#       is the plain one-shot CLI (this version builds llama-cli only with
#       the server). llama-imatrix and llama-perplexity serve
#       bench/peers_quality.py (importance matrix, KL divergence).
#   optimum-quanto and sentencepiece, installed into the test venv ($WQUANT_CACHE/venv).
# Idempotent: does nothing when the binaries are already there (a cache
# holding only the first three gains the other two in an incremental build).
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
# AMX: GGML_NATIVE compiles ggml's AMX kernels (used for Q4_0, Q8_0, ... matmuls)
# when the CPU lists amx_tile, but they die of SIGILL where the kernel does not
# enable AMX tile data for processes (a VM can advertise AMX in CPUID without
# it: arch_prctl(ARCH_GET_XCOMP_SUPP) then lacks XTILEDATA, bit 18). There,
# build without AMX; the rest stays native.
amx_usable() {
  "$VENV/bin/python" -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
supported = ctypes.c_ulong(0)
# SYS_arch_prctl = 158 on x86-64, ARCH_GET_XCOMP_SUPP = 0x1022, XFEATURE_XTILEDATA = 18
rc = libc.syscall(158, 0x1022, ctypes.byref(supported))
sys.exit(0 if rc == 0 and (supported.value >> 18) & 1 else 1)
' 2>/dev/null
}
EXTRA_FLAGS=""
if grep -qw amx_tile /proc/cpuinfo 2>/dev/null && ! amx_usable; then
  EXTRA_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
  echo "fetch_peers: the CPU lists AMX but the kernel does not enable it: llama.cpp is built without AMX" >&2
fi
# Rebuild when a target is missing or the flags differ from the last build's
# (recorded in build/.wquant-build-flags; a build from before that record is
# reconfigured once, which ninja makes a no-op when the flags are the same).
TARGETS=(llama-bench llama-completion llama-quantize llama-imatrix llama-perplexity)
BUILD_FLAGS="native${EXTRA_FLAGS:+ $EXTRA_FLAGS}"
missing=0
for t in "${TARGETS[@]}"; do
  [ -x "$DEST/build/bin/$t" ] || missing=1
done
[ "$(cat "$DEST/build/.wquant-build-flags" 2>/dev/null)" = "$BUILD_FLAGS" ] || missing=1
if [ "$missing" = 1 ]; then
  cmake -S "$DEST" -B "$DEST/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DGGML_CUDA=OFF -DGGML_METAL=OFF \
      -DGGML_VULKAN=OFF -DGGML_OPENMP=ON -DBUILD_SHARED_LIBS=OFF \
      -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
      "-DCMAKE_C_FLAGS=${EXTRA_FLAGS}" "-DCMAKE_CXX_FLAGS=${EXTRA_FLAGS}" >&2
  cmake --build "$DEST/build" -j "$JOBS" --target "${TARGETS[@]}" >&2
  echo "$BUILD_FLAGS" > "$DEST/build/.wquant-build-flags"
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
