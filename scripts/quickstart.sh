#!/usr/bin/env bash
# The main job on the default real model: builds wquant, fetches
# SmolLM2-135M-Instruct (GGUF), quantizes it to W8A16 (8-bit weights, one
# scale per output channel, lm_head and embeddings kept in float), printing
# the per-layer error table and the footprint before and after, then asks the
# float and the W8 model the same question, greedily, with speed and memory.
# Output: $WQUANT_CACHE/out/smollm2-w8 (override with the first argument).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export WQUANT_BUILD_DIR="${WQUANT_BUILD_DIR:-$ROOT/build}"
CACHE="${WQUANT_CACHE:-$HOME/.cache/wquant}"
OUT="${1:-$CACHE/out/smollm2-w8}"
MODEL="$CACHE/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
WQUANT="$WQUANT_BUILD_DIR/wquant"
QUESTION="What is the capital of France? Answer in one sentence."
"$ROOT/scripts/install_deps.sh"
"$ROOT/scripts/build.sh" >/dev/null
"$ROOT/scripts/fetch_models.sh" >/dev/null
mkdir -p "$(dirname "$OUT")"
"$WQUANT" quantize "$MODEL" -o "$OUT" --bits 8 --per-channel --force
"$WQUANT" inspect "$OUT" | tail -8
echo "== float (GGUF dequantized to f32):"
"$WQUANT" generate "$MODEL" -p "$QUESTION" -n 48
echo "== W8A16 ($OUT):"
"$WQUANT" generate "$OUT" -p "$QUESTION" -n 48
