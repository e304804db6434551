#!/bin/bash
# The black-box harness under valgrind's callgrind: what the datapath thread executes per
# burst of cached packets, counted rather than timed, so that it does not depend on the
# machine's load (compare.sh -g; also usable alone on two builds).
# usage: bench/blackbox/callgrind.sh [-c CASES] [-w WARMUP] [-o DIR] OLD_BIN NEW_BIN
#   -c l2,l2-flows,routed,policy   cases (bench/blackbox/cases.cpp)
#   -w 40     warm-up seconds: under valgrind the switch runs ~50x slower, and the
#             window must start with every flow cached (l2-flows' 1000 flows need ~30 s)
#   -o DIR    where the callgrind files and summary.txt go
# Collected: Forwarder::process_burst and Forwarder::flush (each burst's whole work: the
# stages, the lookups, the tx batches), only between the harness's two readings of the
# switch's counters (CALLGRIND_ZERO_STATS / _DUMP_STATS in harness.cpp), with valgrind's
# cache and branch simulation. Per burst (the harness keeps the switch's rx ring full,
# so a burst is 32 packets; the count of bursts is callgrind's count of process_burst
# calls): instructions (Ir), simulated L1 data misses, mispredicted conditional
# branches, and callgrind's estimate of cycles, Ir + 10 x (L1 misses + mispredicts) +
# 100 x last-level misses. A model, not a measurement of this CPU: it says where the
# instructions and the misses went (callgrind_annotate DIR/<side>.<case>.1), and it
# moves with the code only. Needs valgrind.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CASES=l2,l2-flows,routed,policy WARM=40 OUT=""
usage() { sed -n '2,/^set -u$/{/^set -u$/!p}' "$0"; exit 2; }
while getopts "c:w:o:h" o; do
    case $o in c) CASES=$OPTARG ;; w) WARM=$OPTARG ;; o) OUT=$OPTARG ;; *) usage ;; esac
done
shift $((OPTIND - 1))
[ $# = 2 ] && [ -x "$1" ] && [ -x "$2" ] || usage
command -v valgrind >/dev/null || { echo "callgrind: valgrind is not installed (apt-get install valgrind)"; exit 2; }
OUT=${OUT:-$HERE/../../build/callgrind-results-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
IFS=, read -r -a case_list <<<"$CASES"
failed=0
: >"$OUT/summary.txt"
for c in "${case_list[@]}"; do
    for side in old new; do
        bin=$1; [ $side = new ] && bin=$2
        f=$OUT/$side.$c
        rm -f "$f" "$f".*
        valgrind --tool=callgrind --cache-sim=yes --branch-sim=yes --callgrind-out-file="$f" \
            --toggle-collect='ivs::pipeline::Forwarder::process_burst(unsigned short, rte_mbuf**, unsigned short, unsigned int, unsigned long)' \
            --toggle-collect='ivs::pipeline::Forwarder::flush()' \
            "$bin" --case "$c" --seconds 3 --warmup "$WARM" >"$f.log" 2>&1
        # The harness fails a run whose window was not all cache hits: not counted.
        if ! grep -q '^blackbox ' "$f.log" || grep -q 'FAIL' "$f.log" || [ ! -s "$f.1" ]; then
            echo "callgrind: $side $c failed (see $f.log)"; failed=1; continue
        fi
        python3 "$HERE/callgrind_summary.py" "$f.1" "$side" "$c" | tee -a "$OUT/summary.txt"
    done
done
python3 "$HERE/callgrind_summary.py" --ratios "$OUT/summary.txt" | tee -a "$OUT/summary.txt"
exit $failed
