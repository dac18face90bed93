#!/usr/bin/env bash
# Installs the Debian packages wquant builds and tests with (Debian 12).
# Does nothing when they are all present.
set -euo pipefail
PKGS=(build-essential cmake pkg-config libgtest-dev libgmock-dev libbenchmark-dev
      libhwy-dev nlohmann-json3-dev libcli11-dev libopenblas-dev python3-venv python3-pip python3-dev bible-kjv
      clang libclang-rt-14-dev  # clang: the libFuzzer targets (scripts/fuzz.sh)
      chromium)  # renders --report pages in tests/python/test_report_html.py
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
