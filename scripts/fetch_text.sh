#!/usr/bin/env bash
# Writes English evaluation text from Debian's bible-kjv package (the King
# James Bible, public domain) into the cache: $WQUANT_CACHE/text/genesis.txt
# (the book of Genesis, one verse per line, verse numbers removed).
set -euo pipefail
CACHE="${WQUANT_CACHE:-$HOME/.cache/wquant}"
OUT="$CACHE/text/genesis.txt"
if [ -s "$OUT" ]; then exit 0; fi
mkdir -p "$CACHE/text"
bible -f Genesis1:1-50:26 | sed -E 's/^[0-9A-Za-z]+[0-9]+:[0-9]+ //' > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT ($(wc -w < "$OUT") words)"
