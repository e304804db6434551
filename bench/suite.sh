#!/bin/bash
# The whole side-by-side suite in one command: ivswitch vs OVS-DPDK vs the testpmd I/O
# ceiling, same harness (bench/vm2vm), same run, repeated; then the report.
#
#   1. throughput, 1 flow:       L2, routed, QoS guard on           (run.sh)
#   2. throughput, 10,000 flows: L2, mirror with a 1% filter        (run.sh)
#   3. throughput, 100,000 flows: policy with 1,000 rules, stateless (OVS OpenFlow) and
#      stateful (OVS conntrack) against ivswitch's flow cache       (run.sh)
#   4. first-packet flow setup rate, both switches, then ivswitch alone at a larger K
#                                                                    (flowsetup.sh)
#   5. ping RTT between two real guests through each switch         (latency.sh)
#   6. report: REPORT_DIR/report.md (tables, the `<system> <case>: <Mpps> Mpps` lines,
#      ratios with their spread) and REPORT_DIR/suite.png (Mpps by case and system)
#
# Within each throughput step every repetition runs every system once, alternating, and
# ratios are taken within a repetition (see bench/vm2vm/README.md for the method).
#
# usage: sudo bench/suite.sh [-r REPS] [-d SECONDS] [-w WARMUP] [-o REPORT_DIR] [-s STEPS] [-p PREV_BUILD]
#   defaults: -r 3 -d 10 -w 3 -o bench/results/suite-YYYYMMDD-HHMM -s 1,2,3,4,5
#   -s: which steps to run (the report covers what ran); about 20 minutes for all with -r 3
#   -p: another ivswitch build folder (e.g. the previous commit built beside this tree);
#       its ivswitchd runs every ivswitch throughput case too, in the same repetitions
#       (sut/ivswitch-prev.sh), and the report compares the two builds
# Environment: bench/vm2vm/lib.sh (BENCH_DIR, GEN_CPU, SW_CPU, MEM_MODE, ...), VM_IMAGE.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
V=$HERE/vm2vm
REPS=3 DUR=10 WARM=3 OUT="" STEPS=1,2,3,4,5 PREV=""
while getopts "r:d:w:o:s:p:h" o; do
    case $o in
        r) REPS=$OPTARG ;; d) DUR=$OPTARG ;; w) WARM=$OPTARG ;; o) OUT=$OPTARG ;; s) STEPS=$OPTARG ;;
        p) PREV=$(cd "$OPTARG" && pwd) || exit 2 ;;
        *) sed -n '2,27p' "$0"; exit 2 ;;
    esac
done
[ -z "$PREV" ] || [ -x "$PREV/ivswitchd" ] || { echo "suite: no ivswitchd in $PREV"; exit 2; }
export IVSWITCH_PREV_BUILD=$PREV
[ "$(id -u)" = 0 ] || { echo "suite: run as root (hugepages, vhost sockets, taskset)"; exit 2; }
"$HERE/../scripts/install-deps.sh" || exit 1
# only what the suite runs (the whole tree takes minutes on a small machine)
(cd "$HERE/.." && cmake --preset release >/dev/null && cmake --build build/release -j "$(nproc)" --target ivswitchd ivctl >/dev/null) || exit 1
# Debian's python3 (where python3-matplotlib goes), not another one first in PATH.
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
"$PY" -c 'import matplotlib' 2>/dev/null || {
    echo "suite: installing python3-matplotlib (for the plot)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-matplotlib >/dev/null || exit 1
}
OUT=${OUT:-$HERE/results/suite-$(date +%Y%m%d-%H%M)}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
: "${BENCH_DIR:=/tmp/ivsbench}"; export BENCH_DIR
RAWDIR="$BENCH_DIR/results/suite-$(date +%Y%m%d-%H%M%S)"
echo "suite: report in $OUT; per-run logs in $RAWDIR"
step() { case ",$STEPS," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
keep() {  # STEP_DIR NAME: the step's small files go with the report
    mkdir -p "$OUT/$2"
    cp "$1"/raw.txt "$1"/summary.txt "$1"/rounds.txt "$1"/rtt.txt "$1"/loss.txt "$OUT/$2/" 2>/dev/null
    # each run's busy cycles per packet, for the report
    for c in "$1"/*/cycles.txt; do [ -f "$c" ] && echo "$(basename "$(dirname "$c")") $(cat "$c")"; done >"$OUT/$2/cycles.txt"
    return 0
}
rm -f "$OUT/failed-steps.txt"
failed() { echo "$1 (exit status $2; logs in $3)" >>"$OUT/failed-steps.txt"; echo "suite: step $1 FAILED" >&2; }
tp() {  # NAME FLOWS SCENARIOS...
    local name=$1 flows=$2 rc s scens=(); shift 2
    # with -p, each ivswitch case right after it again with the other build
    for s in "$@"; do scens+=("$s"); [ -n "$PREV" ] && [ "${s%%:*}" = ivswitch ] && scens+=("ivswitch-prev:${s#*:}"); done
    set -- "${scens[@]}"
    RESULT_DIR="$RAWDIR/$name" "$V/run.sh" -r "$REPS" -d "$DUR" -w "$WARM" -f "$flows" "$@"; rc=$?
    [ $rc = 0 ] || failed "$name" $rc "$RAWDIR/$name"
    keep "$RAWDIR/$name" "$name"
}
step 1 && tp tp-1flow 1 testpmd-io:io ovs-dpdk:normal ivswitch:l2 ovs-dpdk:routed ivswitch:routed ovs-dpdk:dscp ivswitch:qos
step 2 && tp tp-10kflows 10000 testpmd-io:io ovs-dpdk:normal ivswitch:l2 ivswitch:mirror1pct
step 3 && tp tp-100kflows 100000 testpmd-io:io ovs-dpdk:acl1k ovs-dpdk:ct1k ivswitch:policy1k
if step 4; then
    RESULT_DIR="$RAWDIR/flowsetup" "$V/flowsetup.sh" -n "$REPS" ovs-dpdk ivswitch || failed flowsetup $? "$RAWDIR/flowsetup"
    keep "$RAWDIR/flowsetup" flowsetup
    RESULT_DIR="$RAWDIR/flowsetup-ivs" "$V/flowsetup.sh" -n "$REPS" -k 200000 ivswitch || failed flowsetup-ivs $? "$RAWDIR/flowsetup-ivs"
    keep "$RAWDIR/flowsetup-ivs" flowsetup-ivs
fi
if step 5; then
    RESULT_DIR="$RAWDIR/latency" "$V/latency.sh" -r "$REPS" || failed latency $? "$RAWDIR/latency"
    keep "$RAWDIR/latency" latency
fi
{
    echo "date=$(date -Is) host=$(hostname) kernel=$(uname -r) cpus=$(nproc)"
    echo "commit=$(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null)$(git -C "$HERE/.." diff --quiet 2>/dev/null || echo '+changes')"
    echo "reps=$REPS duration=${DUR}s warmup=${WARM}s gen_cpu=${GEN_CPU:-0} sw_cpu=${SW_CPU:-1} mem=${MEM_MODE:-huge}"
    [ -z "$PREV" ] || echo "previous build (ivswitch-prev)=$PREV commit=$(git -C "$PREV" rev-parse --short HEAD 2>/dev/null)"
    echo "cpu=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
} >"$OUT/machine.txt"
"$PY" "$V/report.py" "$OUT" || exit 1
[ ! -s "$OUT/failed-steps.txt" ] || { echo "suite: failed steps (also in report.md):"; cat "$OUT/failed-steps.txt"; exit 1; }
