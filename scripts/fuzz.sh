#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/fuzz_*.cpp: clang, AddressSanitizer and
# UBSan, undefined behaviour aborting) into $WQUANT_FUZZ_BUILD (default
# build-fuzz/), writes their seed corpora (scripts/fuzz_seeds.py), and runs
# each target for SECONDS (default 30). The corpora grow across runs under
# $WQUANT_CACHE/fuzz/<target>/; a finding (crash, sanitizer report, leak,
# timeout, out-of-memory) is saved as $WQUANT_FUZZ_BUILD/findings/<target>-*
# and makes the script exit 1 after the other targets have run.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# With WQUANT_FUZZ_UNIT_TESTS=1 the same sanitized build also builds and runs
# the C++ unit tests (ctest).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${WQUANT_FUZZ_BUILD:-$ROOT/build-fuzz}"
CACHE="${WQUANT_CACHE:-$HOME/.cache/wquant}"
SECONDS_EACH="${1:-30}"
shift || true
TESTS="${WQUANT_FUZZ_UNIT_TESTS:-0}"
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  for f in "$ROOT"/fuzz/fuzz_*.cpp; do TARGETS+=("$(basename "$f" .cpp)"); done
fi

tests_flag=OFF
[ "$TESTS" = 1 ] && tests_flag=ON
CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWQUANT_SANITIZE=ON \
  -DWQUANT_FUZZ=ON -DWQUANT_BUILD_TESTS=$tests_flag -DWQUANT_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target "${TARGETS[@]}" $([ "$TESTS" = 1 ] && echo all)
if [ "$TESTS" = 1 ]; then
  echo "== C++ unit tests under AddressSanitizer and UBSan"
  (cd "$BUILD" && ctest --output-on-failure -j"$(nproc)")
fi

SEEDS="$BUILD/seeds"
rm -rf "$SEEDS"
"$CACHE/venv/bin/python" "$ROOT/scripts/fuzz_seeds.py" "$SEEDS" "${WQUANT_BUILD_DIR:-$ROOT/build}/wquant" >/dev/null
mkdir -p "$BUILD/findings"
status=0
for t in "${TARGETS[@]}"; do
  corpus="$CACHE/fuzz/$t"
  mkdir -p "$corpus"
  log="$BUILD/$t.log"
  echo "== $t: $SECONDS_EACH s"
  if ! "$BUILD/$t" "$corpus" "$SEEDS/$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$BUILD/findings/$t-" >"$log" 2>&1; then
    echo "$t: FINDING, see $log and $BUILD/findings/"; tail -40 "$log"; status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$log" | tr '\n' ' '; echo
done
exit $status
