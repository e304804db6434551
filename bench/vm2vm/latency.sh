#!/bin/bash
# Latency between two real guests: ping RTT from guest A to guest B through each switch,
# the same two guests for every system. The guests (tests/vm: Debian kernel, busybox; QEMU,
# TCG on this kind of machine) are the vhost-user servers on SOCK_A/SOCK_B; each system in
# turn connects to them as vhost-user client (the sut/*.sh plugins of run.sh, L2 modes),
# A pings B, and the switch is stopped. Rounds alternate the systems, so slow drifts of the
# machine hit all of them alike.
#
# Prints per system: RTT min / median / mean / p99 / max and the standard deviation over
# all replies of all rounds, and the loss; then, per round, the ratio of ivswitch's median
# RTT to each other system's (< 1: ivswitch faster), median over rounds.
# Under TCG the guests' own emulated network stacks dominate the RTT (milliseconds); the
# switches differ by microseconds. Figures are what they are: read the spread.
#
# usage: latency.sh [-n PINGS] [-i INTERVAL] [-r ROUNDS] [SYSTEM:MODE ...]
#   default: -n 200 -i 0.02 -r 3 ivswitch:l2 ivswitch:l2-poll ovs-dpdk:normal testpmd-io:io
# Environment: lib.sh's (BENCH_DIR, SW_CPU, GEN_CPU = the guests' CPU, MEM_MODE), VM_IMAGE.
set -u
. "$(dirname "$0")/lib.sh"
PINGS=200; INTERVAL=0.02; ROUNDS=3
while getopts "n:i:r:h" o; do
    case $o in n) PINGS=$OPTARG ;; i) INTERVAL=$OPTARG ;; r) ROUNDS=$OPTARG ;; *) sed -n '2,17p' "$0"; exit 2 ;; esac
done
shift $((OPTIND - 1))
SYSTEMS=${*:-ivswitch:l2 ivswitch:l2-poll ovs-dpdk:normal testpmd-io:io}
bench_begin $SYSTEMS
ensure_hugepages $(( 512 + OVS_MEM_MB ))
RES=${RESULT_DIR:-"$BENCH_DIR/results/latency-$(date +%Y%m%d-%H%M%S)"}
mkdir -p "$RES"
VM_DIR="$RES/guests"; mkdir -p "$VM_DIR"
: "${VM_IMAGE:=/var/cache/ivswitch/vm-guest}"
. "$BENCH_SRC/../../tests/vm/qemu.sh"
VM_CPU=$GEN_CPU
VM_TIMEOUT=86400   # the guests live as long as the run (stopped by PID at its end)
# A running guest keeps the virtio features it negotiated with the first switch, and QEMU
# drops a later switch that does not offer them all: OVS-DPDK offers no host TSO and fewer
# offloads than net_vhost (seen: OVS's connection closed at once, every second). So the
# guests ask for the set every system offers; ping does not use offloads anyway.
VM_NET_OPTS=",csum=off,guest_csum=off,host_tso4=off,host_tso6=off,host_ecn=off,host_ufo=off,guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off,mrg_rxbuf=off"
trap 'stop_all_pids; vm_cleanup; rm -f "$SOCK_A" "$SOCK_B"; clean_dpdk_leftovers; rmdir "$PIDDIR" 2>/dev/null' EXIT
trap 'exit 130' INT TERM

why=$(vm_guest_image "$VM_IMAGE") || die "no guest image: $why"
rm -f "$SOCK_A" "$SOCK_B"
vm_boot b "$SOCK_B" "$MAC_B" 198.18.0.2/24
vm_boot a "$SOCK_A" "$MAC_A" 198.18.0.1/24
# QEMU's vhost-user netdev holds the guest until a switch has connected once: boot them
# with the I/O-only testpmd, which the rounds then replace.
RUN_DIR="$RES/boot"; mkdir -p "$RUN_DIR"
(
    exec 9>&-
    . "$BENCH_SRC/sut/testpmd-io.sh"
    trap 'sut_stop; clean_dpdk_leftovers' EXIT
    sut_start io >"$RUN_DIR/sut_start.log" 2>&1 || exit 1
    vm_wait_ready b 180 >&2 && vm_wait_ready a 180 >&2
) || die "the guests did not boot (see $VM_DIR)"
log "guests up (pinned to CPU $VM_CPU); systems: $SYSTEMS; $ROUNDS rounds of $PINGS pings every ${INTERVAL}s"

for r in $(seq 1 "$ROUNDS"); do
    for scen in $SYSTEMS; do
        sut=${scen%%:*} mode=${scen#*:}
        RUN_DIR="$RES/$r-${scen//:/-}"; mkdir -p "$RUN_DIR"
        (
            exec 9>&-
            # shellcheck disable=SC1090
            . "$BENCH_SRC/sut/$sut.sh"
            trap 'sut_stop; clean_dpdk_leftovers' EXIT
            sut_start "$mode" >"$RUN_DIR/sut_start.log" 2>&1 || exit 1
            # until the switch has connected and forwards (ARP, learning, flow setup)
            ok=0
            for i in $(seq 1 60); do
                vm_run a 10 "ping -c 1 -W 1 198.18.0.2 >/dev/null" >/dev/null && { ok=1; break; }
            done
            [ $ok = 1 ] || { log "$scen: guest B unreachable"; exit 1; }
            vm_run a 10 "ping -c 20 -i 0.05 198.18.0.2 >/dev/null" >/dev/null   # warm-up
            if declare -F sut_measure_begin >/dev/null; then sut_measure_begin >/dev/null 2>&1; fi
            vm_run a $((PINGS / 5 + 60)) "ping -c $PINGS -i $INTERVAL -W 1 198.18.0.2" >"$RUN_DIR/ping.txt"
            sut_collect >/dev/null 2>&1
        ) || { echo "$scen $r" >>"$RES/failed.txt"; log "round $r $scen: FAILED (see $RUN_DIR)"; continue; }
        got=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' "$RUN_DIR/ping.txt" 2>/dev/null)
        sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' "$RUN_DIR/ping.txt" 2>/dev/null | sed "s/^/$scen $r /" >>"$RES/rtt.txt"
        echo "$scen $r sent=$PINGS received=${got:-0}" >>"$RES/loss.txt"
        log "round $r $scen: ${got:-0}/$PINGS replies, $(tail -1 "$RUN_DIR/ping.txt" 2>/dev/null)"
    done
done

touch "$RES/rtt.txt" "$RES/loss.txt"
python3 - "$RES" $SYSTEMS <<'PY' | tee "$RES/summary.txt"
import os, statistics, sys
res, systems = sys.argv[1], sys.argv[2:]
rtt = {s: {} for s in systems}
if os.path.exists(f"{res}/failed.txt"):
    print("# FAILED rounds (left out): " + ", ".join(l.strip() for l in open(f"{res}/failed.txt")))
for line in open(f"{res}/rtt.txt"):
    s, r, v = line.split()
    rtt.setdefault(s, {}).setdefault(r, []).append(float(v))
loss = {}
for line in open(f"{res}/loss.txt"):
    f = line.split()
    sent, got = int(f[2].split("=")[1]), int(f[3].split("=")[1])
    a = loss.setdefault(f[0], [0, 0]); a[0] += sent; a[1] += got
print("# ping RTT guest A -> guest B (ms) over all rounds: min median mean p99 max stdev; loss")
for s in systems:
    v = sorted(x for r in rtt.get(s, {}).values() for x in r)
    if not v:
        print(f"{s} latency: no replies"); continue
    p99 = v[min(len(v) - 1, int(0.99 * len(v)))]
    sent, got = loss.get(s, [0, 0])
    print(f"{s} latency: min {v[0]:.3f} median {statistics.median(v):.3f} mean {statistics.mean(v):.3f} "
          f"p99 {p99:.3f} max {v[-1]:.3f} stdev {statistics.pstdev(v):.3f} ms; lost {sent - got}/{sent}")
for ref in (x for x in systems if x.startswith("ivswitch")):
    for s in (x for x in systems if not x.startswith("ivswitch")):
        ratios = [statistics.median(rtt[ref][r]) / statistics.median(rtt[s][r])
                  for r in rtt.get(ref, {}) if r in rtt.get(s, {}) and rtt[s][r] and rtt[ref][r]]
        if ratios:
            print(f"median RTT {ref} / {s}: {statistics.median(ratios):.2f} [{min(ratios):.2f}..{max(ratios):.2f} n={len(ratios)}] (per round; < 1 = ivswitch faster)")
PY
[ ! -s "$RES/failed.txt" ]   # a round that failed fails the run
