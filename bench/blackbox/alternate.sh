#!/bin/bash
# Runs two built harnesses alternated and summarizes (compare.sh's second half; also
# usable alone, e.g. a build against itself for the noise floor).
# usage: bench/blackbox/alternate.sh [OPTIONS] OLD_BIN NEW_BIN
# OPTIONS (also compare.sh's, which passes them here):
#   -r 3      repetitions; each runs every case on both builds, alternating which goes
#             first (A B, then B A, ...), so that a drift of the machine's load hits both
#   -s 5 -w 2 measured seconds and warm-up seconds per run
#   -c l2,l2-flows,routed,policy   cases (bench/blackbox/cases.cpp)
#   -o DIR    where raw.txt and summary.txt go (default: build/compare-results-DATE)
#   -n        check the options and stop (compare.sh, before it builds anything)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPS=3 SECS=5 WARM=2 CASES=l2,l2-flows,routed,policy OUT="" CHECK_ONLY=0
usage() { sed -n '2,/^set -u$/{/^set -u$/!p}' "$0"; exit 2; }
while getopts "r:s:w:c:o:nh" o; do
    case $o in
        r) REPS=$OPTARG ;; s) SECS=$OPTARG ;; w) WARM=$OPTARG ;; c) CASES=$OPTARG ;; o) OUT=$OPTARG ;; n) CHECK_ONLY=1 ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ "$CHECK_ONLY" = 1 ] && exit 0
[ $# = 2 ] && [ -x "$1" ] && [ -x "$2" ] || usage
OLD_BIN=$1 NEW_BIN=$2
OUT=${OUT:-$HERE/../../build/compare-results-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
ERR=$(mktemp); trap 'rm -f "$ERR"' EXIT
: >"$OUT/raw.txt"
failed=0
IFS=, read -r -a case_list <<<"$CASES"
for rep in $(seq 1 "$REPS"); do
    order="old new"; [ $((rep % 2)) = 0 ] && order="new old"
    for c in "${case_list[@]}"; do
        for side in $order; do
            bin=$OLD_BIN; [ "$side" = new ] && bin=$NEW_BIN
            out=$("$bin" --case "$c" --seconds "$SECS" --warmup "$WARM" 2>"$ERR")
            rc=$?
            line=$(grep '^blackbox ' <<<"$out")
            # A case with mirrors also says what they did (copies made, skipped): kept aside.
            grep '^blackbox-mirrors ' <<<"$out" | sed "s/^/rep=$rep side=$side /" >>"$OUT/mirrors.txt"
            if [ "$rc" != 0 ] || [ -z "$line" ]; then
                failed=$((failed + 1))
                echo "FAILED rep=$rep side=$side case=$c rc=$rc $(grep -h 'FAIL\|error\|did not' "$ERR" | tr '\n' ' ')" | tee -a "$OUT/raw.txt"
                continue
            fi
            echo "rep=$rep side=$side $line" | tee -a "$OUT/raw.txt"
        done
    done
done
python3 "$HERE/summarize.py" "$OUT/raw.txt" | tee -a "$OUT/summary.txt"
echo "alternate: raw runs and summary in $OUT"
[ "$failed" = 0 ] || { echo "alternate: $failed run(s) failed (see above)"; exit 1; }
