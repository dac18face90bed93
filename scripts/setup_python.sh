#!/usr/bin/env bash
# Creates (once) the virtual environment of test references outside the
# repository, at $WQUANT_CACHE/venv, and installs tests/python/requirements.txt.
set -euo pipefail
CACHE="${WQUANT_CACHE:-$HOME/.cache/wquant}"
REQ="$(cd "$(dirname "$0")/.." && pwd)/tests/python/requirements.txt"
VENV="$CACHE/venv"
STAMP="$VENV/.requirements.sha256"
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
mkdir -p "$CACHE"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet -r "$REQ"
echo "$want" > "$STAMP"
echo "python references installed in $VENV"
