#!/usr/bin/env bash
# Writes English text from Debian's bible-kjv package (the King James Bible,
# public domain) into the cache, one verse per line, verse numbers removed:
#   $WQUANT_CACHE/text/genesis.txt   the book of Genesis: the evaluation text
#   $WQUANT_CACHE/text/gospels.txt   Matthew to John: the calibration text
# (calibrated quantization is calibrated on one and evaluated on the other).
set -euo pipefail
CACHE="${WQUANT_CACHE:-$HOME/.cache/wquant}"
mkdir -p "$CACHE/text"
write_text() {  # NAME RANGE
  local out="$CACHE/text/$1.txt"
  if [ -s "$out" ]; then return 0; fi
  bible -f "$2" | sed -E 's/^[0-9A-Za-z]+[0-9]+:[0-9]+ //' > "$out.tmp"
  mv "$out.tmp" "$out"
  echo "wrote $out ($(wc -w < "$out") words)"
}
write_text genesis Genesis1:1-50:26
write_text gospels Matthew1:1-John21:25
