#!/usr/bin/env bash
# The SIMD kernels on 64-bit ARM, where edge devices are: cross-compiles the
# kernel and quantizer unit tests for aarch64 (Debian's g++-aarch64-linux-gnu,
# arm64 libraries through multiarch; cmake/aarch64-linux-gnu.cmake) and runs
# them under qemu-aarch64, whose CPU has NEON, SVE and SVE2. The tests force
# every Highway target compiled in that the CPU supports, one after another,
# so the NEON and SVE kernels are held to the scalar reference there, not
# only compiled.
#
#   scripts/test_arm.sh            # build-arm/; about 5 minutes on 2 cores
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${WQUANT_ARM_BUILD:-$ROOT/build-arm}"
PKGS=(g++-aarch64-linux-gnu qemu-user libc6:arm64 libhwy-dev:arm64 libgtest-dev:arm64)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  echo "installing: ${missing[*]}"
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DWQUANT_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target test_kernels test_quant
for t in test_kernels test_quant; do
  echo "== $t on aarch64 (qemu-aarch64)"
  qemu-aarch64 "$BUILD/$t" --gtest_brief=1
done
