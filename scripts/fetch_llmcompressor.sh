#!/usr/bin/env bash
# Creates the virtual environment of llm-compressor (PyPI `llmcompressor`,
# vLLM's GPTQ / AWQ quantizer), the peer that bench/peers_quality.py measures
# wquant's calibrated quantization against, apart from the test venv: its pins
# (transformers, compressed-tensors, torch) differ from the test venv's.
#   $WQUANT_CACHE/llmc-venv
#
# PyTorch: PyPI has only the CUDA build of torch for Linux (several GB with
# its nvidia-* libraries; the CPU build lives on download.pytorch.org, which
# this machine cannot reach). By default (LLMC_TORCH=reuse) the venv does not
# install torch: a .pth file puts the test venv's site-packages at the end of
# sys.path, so its torch (and anything else llm-compressor needs that the
# venv does not install itself) is imported from there, while the packages
# installed here (llmcompressor, transformers, compressed-tensors, ...) come
# first. llmcompressor is installed with --no-deps, then its requirements
# other than torch with pip's resolver, which then counts the test venv's
# packages as installed (and never touches them: they are outside this
# environment). The test venv's torch may be newer than llmcompressor's pin
# (torch<=2.14.0 for 0.14.0.1, test venv 2.15.0); `pip check` says so on
# stderr and bench/peers_quality.py records the versions in use.
# LLMC_TORCH=pinned installs llmcompressor with all of its requirements
# instead, torch and its CUDA libraries included (about 4 GB more).
#
# Idempotent: does nothing when the venv is complete for this version.
# Prints the venv path on the last line of stdout.
set -euo pipefail
CACHE="${WQUANT_CACHE:-$HOME/.cache/wquant}"
VERSION="${LLMCOMPRESSOR_VERSION:-0.14.0.1}"
TORCH_MODE="${LLMC_TORCH:-reuse}"
TEST_VENV="$CACHE/venv"
VENV="$CACHE/llmc-venv"
STAMP="$VENV/.complete-$VERSION-$TORCH_MODE"

case "$TORCH_MODE" in
  reuse|pinned) ;;
  *) echo "fetch_llmcompressor: LLMC_TORCH must be reuse or pinned, not '$TORCH_MODE'" >&2; exit 1 ;;
esac

if [ -f "$STAMP" ] && "$VENV/bin/python" -c "import llmcompressor" 2>/dev/null; then
  echo "$VENV"
  exit 0
fi

if [ ! -x "$TEST_VENV/bin/python" ]; then
  echo "fetch_llmcompressor: no test venv at $TEST_VENV (run scripts/setup_python.sh first)" >&2
  exit 1
fi
# The same interpreter as the test venv (the .pth below needs the same
# Python version and ABI).
BASE_PY="$("$TEST_VENV/bin/python" -c 'import sys; print(sys._base_executable)')"

rm -rf "$VENV"
"$BASE_PY" -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip >&2

if [ "$TORCH_MODE" = reuse ]; then
  TEST_SITE="$("$TEST_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$TEST_SITE" > "$SITE/zz_wquant_test_venv.pth"
  "$PY" -m pip install --quiet --no-deps "llmcompressor==$VERSION" >&2
  # Its requirements (no extras), torch left out.
  mapfile -t REQS < <("$PY" - <<'EOF'
from importlib.metadata import requires
from packaging.requirements import Requirement
for r in requires("llmcompressor") or []:
    req = Requirement(r)
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    if req.name.lower() == "torch":
        continue
    print(str(req).split(";")[0].strip())
EOF
  )
  "$PY" -m pip install --quiet "${REQS[@]}" >&2
else
  "$PY" -m pip install --quiet "llmcompressor==$VERSION" >&2
fi

"$PY" -m pip check >&2 || echo "fetch_llmcompressor: pip check reports the conflicts above (expected for torch with LLMC_TORCH=reuse)" >&2
"$PY" - >&2 <<'EOF'
import importlib.metadata as md
import torch, transformers, compressed_tensors, llmcompressor  # noqa: F401
print("fetch_llmcompressor:", ", ".join(f"{p} {md.version(p)}" for p in
      ("llmcompressor", "compressed-tensors", "transformers", "torch")),
      "(torch from", torch.__file__.rsplit("/torch/", 1)[0] + ")")
EOF
echo "fetch_llmcompressor: venv uses $(du -sh "$VENV" | cut -f1) on disk" >&2
touch "$STAMP"
echo "$VENV"
