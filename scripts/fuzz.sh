#!/usr/bin/env bash
# Fuzzes wquant's parsers: builds the libFuzzer targets (fuzz/fuzz_*.cpp:
# clang, AddressSanitizer and UBSan, undefined behaviour aborting) into
# $WQUANT_FUZZ_BUILD (default build-fuzz/), writes their seed corpora
# (scripts/fuzz_seeds.py, which needs a built wquant), and runs each target.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   a campaign: each target SECONDS
#       (default 600), its corpus kept and grown under $WQUANT_CACHE/fuzz/;
#       with WQUANT_FUZZ_RUNS=N, each target N executions instead of a time
#   scripts/fuzz.sh --ci                     what CI runs: the parsers' unit
#       tests (core, quant, io, tokenizer) under the sanitizers, then each
#       target for a fixed number of executions from its seeds alone with a
#       fixed random seed, so the run is the same every time
#
# A finding (crash, sanitizer report, uncaught exception, leak, timeout,
# out-of-memory) is saved as $WQUANT_FUZZ_BUILD/findings/<target>-*, its log
# printed, and the script exits 1 once every target has run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${WQUANT_FUZZ_BUILD:-$ROOT/build-fuzz}"
CACHE="${WQUANT_CACHE:-$HOME/.cache/wquant}"
CI=0
if [ "${1:-}" = "--ci" ]; then CI=1; shift; fi
SECONDS_EACH="${1:-600}"
[ $# -gt 0 ] && shift
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  for f in "$ROOT"/fuzz/fuzz_*.cpp; do TARGETS+=("$(basename "$f" .cpp)"); done
fi
UNIT_TESTS=(test_core test_quant test_io test_tokenizer)

# -O1 with line tables: quicker to build than -O2 -g, still fast to fuzz, and
# the sanitizers' stack traces name file and line.
CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" \
  -DWQUANT_SANITIZE=ON \
  -DWQUANT_FUZZ=ON -DWQUANT_BUILD_TESTS=$([ $CI = 1 ] && echo ON || echo OFF) \
  -DWQUANT_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target "${TARGETS[@]}" $([ $CI = 1 ] && echo "${UNIT_TESTS[@]}")
if [ $CI = 1 ]; then
  for t in "${UNIT_TESTS[@]}"; do
    echo "== $t under AddressSanitizer and UBSan"
    (cd "$BUILD" && "./$t" --gtest_brief=1)
  done
fi

SEEDS="$BUILD/seeds"
rm -rf "$SEEDS"
"$CACHE/venv/bin/python" "$ROOT/scripts/fuzz_seeds.py" "$SEEDS" "${WQUANT_BUILD_DIR:-$ROOT/build}/wquant" >/dev/null
mkdir -p "$BUILD/findings"
status=0
for t in "${TARGETS[@]}"; do
  if [ $CI = 1 ]; then
    corpus="$BUILD/corpus/$t"  # fresh each run: the seeds only
    rm -rf "$corpus"
    budget=(-runs=20000 -seed=1)
  else
    corpus="$CACHE/fuzz/$t"
    if [ -n "${WQUANT_FUZZ_RUNS:-}" ]; then budget=(-runs="$WQUANT_FUZZ_RUNS")
    else budget=(-max_total_time="$SECONDS_EACH"); fi
  fi
  mkdir -p "$corpus"
  log="$BUILD/$t.log"
  if ! (cd "$BUILD" && "./$t" "$corpus" "$SEEDS/$t" "${budget[@]}" -rss_limit_mb=2048 -timeout=10 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$BUILD/findings/$t-") >"$log" 2>&1; then
    echo "== $t: FINDING (log $log, input $BUILD/findings/)"; tail -40 "$log"; status=1
  fi
  echo "== $t: $(grep -E 'stat::number_of_executed_units' "$log" | awk '{print $2}') executions" \
       "in $(grep -E 'Done [0-9]+ runs in' "$log" | sed -E 's/.*in ([0-9]+) second.*/\1/') s," \
       "$(grep -E 'stat::peak_rss_mb' "$log" | awk '{print $2}') MB peak, corpus $(ls "$corpus" | wc -l) inputs"
done
exit $status
