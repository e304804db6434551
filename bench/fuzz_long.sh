#!/usr/bin/env bash
# Long fuzzing runs (DESIGN.md test layer 5; CI runs each target for 20 s, this runs them
# for an hour each by default): builds the fuzz preset, runs every target (or the ones
# named) one after the other over its seed corpus plus what earlier long runs found, and
# prints executions, coverage and outcome per target (tests/fuzz/run.sh does the work).
# Crashing inputs stay in OUT/artifacts; new inputs in OUT/corpus/<target> (fold the good
# ones into tests/fuzz/corpus by hand: small files only).
#
# usage: bench/fuzz_long.sh [-t SECONDS] [-o OUT] [TARGET...]
#   defaults: -t 3600 -o build/fuzz-long (kept across runs: the corpus grows)
#   environment: FUZZ_TIMEOUT (s per input, default 30 here)
set -u
cd "$(dirname "$0")/.."
secs=3600 out=build/fuzz-long
while getopts "t:o:h" o; do
  case $o in t) secs=$OPTARG ;; o) out=$OPTARG ;; *) sed -n '2,12p' "$0"; exit 2 ;; esac
done
shift $((OPTIND - 1))
cmake --preset fuzz >/dev/null || exit 1
cmake --build build/fuzz -j 2 --target fuzzers || exit 1
mkdir -p "$out"
echo "fuzz_long: ${secs}s per target, work in $out, $(date -u +%FT%TZ)"
FUZZ_WORK=$(cd "$out" && pwd) FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-30} tests/fuzz/run.sh build/fuzz "$secs" "$@" | tee "$out/summary-$(date -u +%Y%m%d-%H%M).txt"
exit "${PIPESTATUS[0]}"
