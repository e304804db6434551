#!/bin/bash
# Flow-setup benchmark, side by side: how many new flows per second each switch installs when
# a VM sends K never-seen 5-tuples at full speed.
#
#   ovs-dpdk:flowsetup  one OpenFlow rule in_port=1,actions=output:2 and
#                       `upcall/disable-megaflows`, so every 5-tuple is its own datapath flow
#                       (an upcall + flow install, done inline by the PMD thread)
#   ivswitch:flowsetup  policy "default drop" + one allow rule for the generator's UDP flows;
#                       every 5-tuple is its own flow-table entry, decided by the policy thread
#                       (one classifier lookup + install + re-injection of the first packet).
#                       Both switch threads share one CPU, as OVS's PMD does its own upcalls.
#
# Each round starts a fresh generator and a fresh switch (empty flow table) for each system in
# turn, and polls the switch's own "flows installed" counter every ~20 ms from the first
# install until K are installed:
#   wall rate = installs / elapsed wall time (includes the polling overhead, for both)
#   10-90%    = the same between the polls that saw 10% and 90% installed (see mid_rate)
#   (either is "nan" unless at least 3 polls fell inside the ramp 0 < installed < K)
#   cpu rate  = installs / CPU time of the thread that sets flows up:
#               OVS: 1e6 / "us/upcall" of dpif-netdev/pmd-perf-show (PMD time in upcalls)
#               ivswitch: all installs / the policy thread's busy time (slow_path busy_ms,
#               TSC-counted around each upcall burst: decide, install, re-inject)
# ivswitch installs K=8000 flows before its control socket answers the first poll (wall rates
# "nan" or meaningless); use -k 1000000 for ivswitch alone to get its wall rate (harder for
# it: a table 125 times bigger). Each round's poll curve is in installed-curve.txt.
# K defaults to 8000: OVS starts with a dynamic limit of 10000 datapath flows and fails
# upcalls above it, so larger K would measure that limit, not the setup path.
#
# usage: flowsetup.sh [-k FLOWS] [-n ROUNDS] [SYSTEM ...]   (default: ovs-dpdk ivswitch)
set -u
. "$(dirname "$0")/lib.sh"
K=8000
ROUNDS=5
while getopts "k:n:h" o; do
    case $o in k) K=$OPTARG ;; n) ROUNDS=$OPTARG ;; *) sed -n '2,24p' "$0"; exit 2 ;; esac
done
shift $((OPTIND - 1))
SYSTEMS=("$@")
[ ${#SYSTEMS[@]} -gt 0 ] || SYSTEMS=(ovs-dpdk ivswitch)
for s in "${SYSTEMS[@]}"; do
    case $s in ovs-dpdk) NEED_OVS=1 ;; ivswitch) ;; *) die "unknown system $s (ovs-dpdk, ivswitch)" ;; esac
done

bench_begin "${SYSTEMS[@]}"
# generator + the bigger of the two switches (ivswitch: ~808 MB with its 2M-flow table)
[ "$MEM_MODE" = nohuge ] || ensure_hugepages $(( 256 + (K + 32768) * 2560 / 1048576 + 1024 + 256 ))
RES=${RESULT_DIR:-"$BENCH_DIR/results/flowsetup-$(date +%Y%m%d-%H%M%S)"}
RUN_DIR="$RES"
mkdir -p "$RES"
cleanup_round() { stop_pidfile "$PIDDIR/gen.pid"; declare -F sut_stop >/dev/null && sut_stop; rm -f "$SOCK_A" "$SOCK_B"; clean_dpdk_leftovers; }
trap 'cleanup_round; rmdir "$PIDDIR" 2>/dev/null' EXIT
trap 'exit 130' INT TERM

# --- per system: installed-flow counter, CPU rate --------------------------------------------
installed_ovs-dpdk() { appctl dpif-netdev/pmd-stats-show -pmd "$SW_CPU" | awk '/miss with success upcall/{print $NF; exit}'; }
installed_ivswitch() { ivs_ctl show policy 2>/dev/null | awk '/^flows .* installed /{for(i=1;i<NF;i++) if ($i=="installed") {print $(i+1); exit}}'; }
begin_ovs-dpdk() { :; }
begin_ivswitch() { sut_measure_begin 2>/dev/null; }
cpu_rate_ovs-dpdk() {
    local us
    us=$(appctl dpif-netdev/pmd-perf-show -pmd "$SW_CPU" 2>/dev/null | tee "$RUN_DIR/perf.txt" |
        awk '/Upcalls:/{for(i=1;i<=NF;i++) if ($i ~ /us\/upcall/) {gsub(/[(]/,"",$(i-1)); print $(i-1)}}' | head -1)
    awk -v u="${us:-0}" 'BEGIN{ if (u>0) printf "%.0f", 1e6/u; else print "nan" }'
}
cpu_rate_ivswitch() {  # all installs since start / the policy thread's busy time (its own TSC count)
    ivs_ctl show policy 2>/dev/null | tee "$RUN_DIR/policy.txt" | awk '
        /^flows .* installed /{for(i=1;i<NF;i++) if ($i=="installed") n=$(i+1)}
        /busy_ms=/{for(i=1;i<=NF;i++) if ($i ~ /^busy_ms=/) {sub(/busy_ms=/, "", $i); ms=$i}}
        END{ if (ms>0) printf "%.0f", n/(ms/1e3); else print "nan" }'
}

# Installs per second between the polls that first saw 10% and 90% of K installed. The
# generator replays its pcap faster than a switch takes it; what does not fit in the vhost
# ring is dropped by the generator, so each flow not yet installed has only some chance per
# replay pass to reach the switch: the last few % arrive in a long tail that measures the
# generator, not the switch. nan if no poll fell between 10% and 90%.
mid_rate() {
    awk -v k="$K" '$2>0 && $2<k {p++} $2>=0.1*k && !a {ta=$1; na=$2; a=1} $2>=0.9*k && !b {tb=$1; nb=$2; b=1}
        END{ if (a && b && tb>ta && na<0.9*k && p>=3) printf "%.0f", (nb-na)/(tb-ta); else print "nan" }' "$1"
}

pcap=$(pcap_for "$K")
: >"$RES/rounds.txt"
for r in $(seq 1 "$ROUNDS"); do
    order=("${SYSTEMS[@]}")
    [ $((r % 2)) = 0 ] && [ ${#order[@]} = 2 ] && order=("${SYSTEMS[1]}" "${SYSTEMS[0]}")  # alternate who goes first
    for sys in "${order[@]}"; do
        # fresh generator + fresh switch each round: K never-seen flows into an empty table
        RUN_DIR="$RES/round-$r-$sys"; mkdir -p "$RUN_DIR"
        . "$BENCH_SRC/sut/$sys.sh"
        gen_start "$pcap"
        sut_start flowsetup >"$RUN_DIR/sut_start.log" 2>&1 || die "$sys start failed"
        "begin_$sys"
        n=0; tf=""; nf=0; t0=$(date +%s.%N)
        while :; do
            n=$("installed_$sys"); n=${n:-0}
            t1=$(date +%s.%N)
            echo "$t1 $n" >>"$RUN_DIR/installed-curve.txt"
            if [ -z "$tf" ] && [ "$n" -gt 0 ]; then tf=$t1; nf=$n; "begin_$sys"; fi
            [ "$n" -ge "$K" ] && break
            awk -v a="$t0" -v b="$t1" 'BEGIN{exit !(b-a>60)}' && break
            sleep 0.02
        done
        # a wall rate needs at least 3 polls inside the ramp (0 < installed < K)
        ramp=$(awk -v k="$K" '$2>0 && $2<k' "$RUN_DIR/installed-curve.txt" | wc -l)
        rate=$(awk -v n="$n" -v m="$nf" -v k="$K" -v a="${tf:-0}" -v b="$t1" -v p="$ramp" 'BEGIN{ if (b>a && n>m && n>=k && p>=3) printf "%.0f", (n-m)/(b-a); else print "nan"}')
        cpu=$("cpu_rate_$sys")
        mid=$(mid_rate "$RUN_DIR/installed-curve.txt")
        echo "$sys $r $n $rate $cpu $mid" >>"$RES/rounds.txt"
        log "round $r $sys: $n flows installed, wall rate $rate flows/s (10-90%: $mid), $cpu flows per CPU-second of the setup thread"
        sut_collect
        cleanup_round
    done
done
{
for sys in "${SYSTEMS[@]}"; do
    read -r mn md mx cnt < <(awk -v s="$sys" '$1==s && $4!="nan"{print $4}' "$RES/rounds.txt" | stats3)
    read -r cmn cmd cmx ccnt < <(awk -v s="$sys" '$1==s && $5!="nan"{print $5}' "$RES/rounds.txt" | stats3)
    printf '%s flowsetup %dflows wall: %.0f flows/s [min %.0f med %.0f max %.0f n=%d]\n' "$sys" "$K" "$md" "$mn" "$md" "$mx" "$cnt"
    read -r mmn mmd mmx mcnt < <(awk -v s="$sys" '$1==s && $6!="nan"{print $6}' "$RES/rounds.txt" | stats3)
    printf '%s flowsetup %dflows wall 10-90%%: %.0f flows/s [min %.0f med %.0f max %.0f n=%d]\n' "$sys" "$K" "$mmd" "$mmn" "$mmd" "$mmx" "$mcnt"
    printf '%s flowsetup %dflows cpu: %.0f flows/s of setup-thread CPU [min %.0f med %.0f max %.0f n=%d]\n' "$sys" "$K" "$cmd" "$cmn" "$cmd" "$cmx" "$ccnt"
done
if [ ${#SYSTEMS[@]} = 2 ]; then
    # ratios within each round (same conditions), then the median over rounds
    for col in 4:wall 5:cpu; do
        awk -v a="${SYSTEMS[1]}" -v b="${SYSTEMS[0]}" -v c="${col%%:*}" '$c!="nan"{w[$1,$2]=$c} END{for (k in w) {split(k, p, SUBSEP); if (p[1]==a && (b SUBSEP p[2]) in w) print w[k]/w[b, p[2]]}}' "$RES/rounds.txt" |
            stats3 | awk -v a="${SYSTEMS[1]}" -v b="${SYSTEMS[0]}" -v w="${col#*:}" '{printf "ratio %s/%s %s: %.2f [min %.2f max %.2f n=%d]\n", a, b, w, $2, $1, $3, $4}'
    done
fi
} | tee "$RES/summary.txt"
