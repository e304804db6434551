#!/bin/bash
# Throughput benchmark: generator port A -> switch port 1 -> switch port 2 -> generator port B.
# Prints one line per (scenario, flows): median received Mpps at the sink over REPS runs,
# with min/max and the ratio to testpmd-io measured in the same repetition.
#
# usage: run.sh [-r REPS] [-d SECONDS] [-w WARMUP] [-f "1 1000 100000"] [SUT:MODE ...]
#   default scenarios: testpmd-io:io ovs-dpdk:normal ovs-dpdk:ofrule ovs-dpdk:ct
#   SUT is a file sut/SUT.sh (see README.md); MODE is passed to its sut_start.
# Environment: see lib.sh (BENCH_DIR, GEN_CPU, SW_CPU, MEM_MODE, FRAME_LEN, ...).
set -u
. "$(dirname "$0")/lib.sh"

REPS=3
FLOWS="1 1000 100000"
: "${CLEAN_MAX:=5}"     # a run during which other processes used more than this % of all CPUs ...
: "${RETRIES:=2}"       # ... is repeated up to this many times (all attempts are kept in raw.txt)
while getopts "r:d:w:f:h" o; do
    case $o in
        r) REPS=$OPTARG ;; d) DURATION=$OPTARG ;; w) WARMUP=$OPTARG ;; f) FLOWS=$OPTARG ;;
        *) sed -n '2,9p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
SCENARIOS=${*:-testpmd-io:io ovs-dpdk:normal ovs-dpdk:ofrule ovs-dpdk:ct}

bench_begin $SCENARIOS
maxf=$(echo $FLOWS | tr ' ' '\n' | sort -n | tail -1)
ensure_hugepages $(( 256 + (maxf + 32768) * 2560 / 1048576 + OVS_MEM_MB + 256 ))
for s in $SCENARIOS; do [ -f "$BENCH_SRC/sut/${s%%:*}.sh" ] || die "no such SUT: $BENCH_SRC/sut/${s%%:*}.sh"; done

RES=${RESULT_DIR:-"$BENCH_DIR/results/$(date +%Y%m%d-%H%M%S)"}   # RESULT_DIR: set by bench/suite.sh
mkdir -p "$RES"
RAW="$RES/raw.txt"
: >"$RAW"
trap 'stop_all_pids; rm -f "$SOCK_A" "$SOCK_B"; clean_dpdk_leftovers; rmdir "$PIDDIR" 2>/dev/null' EXIT
CHILD=""
trap '[ -n "$CHILD" ] && kill "$CHILD" 2>/dev/null; exit 130' INT TERM

log "results in $RES; scenarios: $SCENARIOS; flows: $FLOWS; reps: $REPS; warmup ${WARMUP}s, measure ${DURATION}s"
log "cpu: generator on CPU $GEN_CPU, switch on CPU $SW_CPU; mem mode $MEM_MODE; frame $FRAME_LEN B"

run_one() {  # scenario flows rep -> prints Mpps
    local scen=$1 flows=$2 rep=$3 sut=${1%%:*} mode=${1#*:}
    unset PCAP_DST_MAC
    [ "$mode" = "$scen" ] && mode=""
    RUN_DIR="$RES/$rep-$flows-${scen//:/-}"
    mkdir -p "$RUN_DIR"
    (
        exec 9>&-   # only the main shell holds the lock: if it dies, the lock goes with it
        # shellcheck disable=SC1090
        . "$BENCH_SRC/sut/$sut.sh"
        trap 'stop_pidfile "$PIDDIR/gen.pid"; sut_stop; rm -f "$SOCK_A" "$SOCK_B"; clean_dpdk_leftovers' EXIT
        case "$mode" in routed*) export PCAP_DST_MAC=$GW_MAC_A ;; *) unset PCAP_DST_MAC ;; esac
        gen_start "$(pcap_for "$flows")"
        sut_start $mode >"$RUN_DIR/sut_start.log" 2>&1 || { echo "0.000"; exit 1; }
        if ! gen_wait_traffic; then
            log "no traffic at the sink for $scen $flows flows (see $RUN_DIR)"
            echo "0.000"; exit 1
        fi
        gen_measure "$(declare -F sut_measure_begin)"
        sut_collect
    ) | tail -n 1 >"$RUN_DIR/result"
}

for rep in $(seq 1 "$REPS"); do
    for flows in $FLOWS; do
        for scen in $SCENARIOS; do
            for attempt in $(seq 1 $((RETRIES + 1))); do
                bg=$(wait_quiet)
                run_one "$scen" "$flows" "$rep" &
                CHILD=$!; wait "$CHILD"; CHILD=""
                v=""; fg=""
                read -r v fg <"$RES/$rep-$flows-${scen//:/-}/result" 2>/dev/null
                mv "$RES/$rep-$flows-${scen//:/-}" "$RES/$rep-$flows-${scen//:/-}-try$attempt"
                echo "$scen $flows $rep ${v:-0.000} busy-before=${bg}% foreign-during=${fg:-100}% attempt=$attempt" >>"$RAW"
                log "rep $rep: $scen ${flows}flow: ${v:-0.000} Mpps (other processes used ${fg:-?}% of all CPUs during the run; ${bg}% before it)"
                [ "${fg:-100}" -le "$CLEAN_MAX" ] && break
            done
        done
    done
done

# ---- summary ----------------------------------------------------------------
{
echo "# $(date -Is) host=$(hostname) kernel=$(uname -r) cpus=$(nproc) mem=$MEM_MODE frame=${FRAME_LEN}B"
echo "# reps=$REPS warmup=${WARMUP}s duration=${DURATION}s gen_cpu=$GEN_CPU sw_cpu=$SW_CPU"
CLEAN_MAX=$CLEAN_MAX "$BENCH_SRC/summarize.sh" "$RES"
} | tee "$RES/summary.txt"
python3 "$BENCH_SRC/ratios.py" "$RES" | tee -a "$RES/summary.txt"
