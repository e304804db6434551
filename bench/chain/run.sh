#!/usr/bin/env bash
# Inspect-then-shortcut benchmark: the same VM-to-VM flows through the switch's shortcut vs
# kept on the device path, alternating in one run, plus the switch's time from a flow's
# first packet to VERIFIED.
#
# Topology (namespaces, af_packet ports): vm1 (web) and vm3 (db) with a Linux router +
# nftables firewall namespace as their gateway, the chain's device (as in
# tests/integration/chain_test.sh). Two policies, swapped by `ivctl policy reload`:
#   shortcut:    vm1 -> vm3 inspected by chain fw (first packet through the router, then
#                routed by the switch)
#   device-path: vm1 -> vm3 allowed; every packet goes through the router (what a flow
#                that is never shortcut costs, e.g. on_failure: open after a timeout)
# Per case and repetition: iperf3 TCP throughput (-t SECONDS) and ping RTT (200 pings,
# 10 ms apart); time to verified from `ivctl show chains` after 50 fresh TCP connections.
# Ratios are taken within each repetition; medians over repetitions are printed.
#
# usage: run.sh [-r REPS] [-t SECONDS] [BUILD_DIR]     (as root; default 3 reps, 5 s)
set -u
REPS=3; SECS=5
while getopts "r:t:h" o; do case $o in r) REPS=$OPTARG ;; t) SECS=$OPTARG ;; *) sed -n '2,18p' "$0"; exit 2 ;; esac; done
shift $((OPTIND - 1))
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-$HERE/../../build/release}" && pwd)
NETNS_PREFIX="ivb$$"; NETNS_PREFIX=${NETNS_PREFIX:0:7}
. "$HERE/../../scripts/lib/netns.sh"
[ "$(id -u)" = 0 ] || { echo "run as root"; exit 2; }
WORK=$(mktemp -d /tmp/ivs-chainbench.XXXXXX)
trap 'netns_cleanup; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
P=$NETNS_PREFIX
SOCK="$WORK/ctl.sock"
. "$HERE/../../scripts/lib/chain_topology.sh"
write_config() { chain_topology_config "$SOCK" "" "" "    - {name: vm1-vm3, from: vm1, to: vm3, action: $1}"; }  # RULE-ACTION
write_config "{inspect: fw}"
chain_topology_up || exit 1
# pings are inspected too (protocol any); let the firewall pass the replies it never sees
in_vm fwa nft insert rule inet ivtest forward icmp type echo-reply accept
start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log" || exit 1
ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }
in_vm vm3 iperf3 -s -D -I "$WORK/iperf3.pid" >/dev/null 2>&1
sleep 1
in_vm vm1 ping -c 2 -W 2 10.0.2.13 >/dev/null || { echo "no connectivity"; cat "$WORK/ivswitchd.log"; exit 1; }

fw_rx() { in_vm fwa cat /sys/class/net/eth0/statistics/rx_packets /sys/class/net/fwb/statistics/rx_packets | awk '{t+=$1} END{print t}'; }
measure() {  # CASE REP -> appends "CASE REP Gbit/s rtt_ms" to $WORK/raw.txt
    local rx0; rx0=$(fw_rx)
    in_vm vm1 iperf3 -c 10.0.2.13 -t "$SECS" -J >"$WORK/iperf.json" 2>&1 || { echo "iperf3 failed"; cat "$WORK/iperf.json"; return 1; }
    local gbps rtt
    gbps=$(python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]/1e9))' "$WORK/iperf.json")
    rtt=$(in_vm vm1 ping -q -c 200 -i 0.01 -W 1 10.0.2.13 | awk -F/ '/^rtt/{print $5}')
    echo "$1 $2 $gbps ${rtt:-nan}" >>"$WORK/raw.txt"
    echo "  $1 rep $2: $gbps Gbit/s, ping rtt avg ${rtt:-nan} ms, packets into the router: $(( $(fw_rx) - rx0 ))"
}
: >"$WORK/raw.txt"
for r in $(seq 1 "$REPS"); do
    order="shortcut device-path"; [ $((r % 2)) = 0 ] && order="device-path shortcut"  # alternate who goes first
    for c in $order; do
        [ $c = shortcut ] && write_config "{inspect: fw}" || write_config allow
        ivctl policy reload >/dev/null || exit 1
        sleep 0.3
        measure $c "$r" || exit 1
    done
done
# time to verified: 50 fresh connections under the inspect policy
write_config "{inspect: fw}"; ivctl policy reload >/dev/null
before=$(ivctl --json show chains)
for i in $(seq 1 50); do in_vm vm1 python3 -c 'import socket; socket.create_connection(("10.0.2.13", 5201), timeout=2).close()'; done
after=$(ivctl --json show chains)
echo
python3 - "$WORK/raw.txt" "$before" "$after" <<'PY' | tee "$WORK/summary.txt"
import json, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
by = {}
for case, rep, g, rtt in rows:
    by.setdefault(rep, {})[case] = (float(g), float(rtt))
def med(xs): return statistics.median(xs) if xs else float("nan")
sc = [v["shortcut"] for v in by.values() if "shortcut" in v and "device-path" in v]
dp = [v["device-path"] for v in by.values() if "shortcut" in v and "device-path" in v]
print("shortcut     throughput %.2f Gbit/s [%s], ping rtt %.3f ms" % (med([x[0] for x in sc]), " ".join("%.2f" % x[0] for x in sc), med([x[1] for x in sc])))
print("device path  throughput %.2f Gbit/s [%s], ping rtt %.3f ms" % (med([x[0] for x in dp]), " ".join("%.2f" % x[0] for x in dp), med([x[1] for x in dp])))
print("ratio shortcut/device-path: throughput %.2f, rtt %.2f (medians of per-repetition ratios, n=%d)" % (
    med([a[0] / b[0] for a, b in zip(sc, dp)]), med([a[1] / b[1] for a, b in zip(sc, dp)]), len(sc)))
a, b = (json.loads(x)["chains"][0] for x in sys.argv[2:4])
na, nb = a["flows"]["verified"], b["flows"]["verified"]
n = nb - na
mean = (b["verify_ms_mean"] * nb - a["verify_ms_mean"] * na) / n if n else float("nan")
print("time to verified (switch TSC, first packet -> the device passed it back): mean %.3f ms over the %d of 50 new connections verified; max %.3f ms over all %d verified flows of the run" % (
    mean, n, b["verify_ms_max"], nb))
PY
