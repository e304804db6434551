#!/usr/bin/env bash
# Captures what users see of the counters, to compare two builds (a refactor must not
# change it): every `ivctl show` view with counters, human and --json, `ivctl flow-export
# show`, and /metrics, from a daemon with every optional counter group on (QoS, mirrors,
# channels, flow export, port security), after some traffic. Numbers that move between
# runs (uptime, cycles, memory) are masked by scripts/mask-outputs.py, not here. Needs root.
#
# usage: capture-outputs.sh BUILD_DIR OUT_DIR
set -u
OUT=${2:?usage: capture-outputs.sh BUILD_DIR OUT_DIR}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
. "$(dirname "$0")/lib/netns_test.sh" capture ivcap "${1:-}"
. "$(dirname "$0")/lib/counters_switch.sh"
# Beside vm1..vm3 on web: two tool ports for a mirror's port group (their namespaces
# first: the switch opens their interfaces), and flow export.
netns_vm ids1 02:00:00:00:09:01 192.168.99.1/24
netns_vm ids2 02:00:00:00:09:02 192.168.99.2/24
counters_switch_up 3 "\
  - {name: ids1, type: af_packet, interface: $P-ids1, network: tools}
  - {name: ids2, type: af_packet, interface: $P-ids2, network: tools}" "\
  - {name: tools, vlan: 99}" "\
flow_export: {collectors: [\"127.0.0.1:9\"], active_timeout_seconds: 1}" || exit 1
ivctl mirror add web --tap vm1 --pcapng "$WORK/web.pcapng" >/dev/null
ivctl mirror add odd --tap vm2 --pcapng "$WORK/we\"ird\\name.pcapng" >/dev/null
ivctl mirror add grp --tap vm1 --tool '{"group": [{"port": "ids1"}, {"port": "ids2"}]}' >/dev/null
in_vm vm1 ping -c 5 -i 0.1 -W 1 10.0.1.12 >/dev/null
in_vm vm1 ping -c 2 -i 0.1 -W 1 10.0.1.1 >/dev/null
in_vm vm2 ping -c 2 -i 0.1 -W 1 10.0.1.13 >/dev/null
# vm3 sends as vm1 (port security drops it), then to an unknown address (flood)
in_vm vm3 ip addr add 10.0.1.11/32 dev eth0 2>/dev/null
in_vm vm3 ping -c 2 -i 0.1 -W 1 -I 10.0.1.11 10.0.1.12 >/dev/null 2>&1
in_vm vm1 ping -c 2 -i 0.1 -W 1 10.0.1.99 >/dev/null 2>&1
sleep 1.5
for v in ports stats pmd qos mirrors channels port-security policy chains; do
    ivctl show $v >"$OUT/show-$v.txt" 2>&1
    ivctl --json show $v >"$OUT/show-$v.json" 2>&1
done
ivctl flow-export show >"$OUT/flow-export.txt" 2>&1
ivctl --json flow-export show >"$OUT/flow-export.json" 2>&1
curl -sf "http://$METRICS/metrics" >"$OUT/metrics.txt"
echo "captured $(ls "$OUT" | wc -l) files in $OUT"
# The control side's cost of the views (printed, not saved: it is no output to compare).
t0=$(date +%s%N); for i in $(seq 1 200); do curl -sf "http://$METRICS/metrics" >/dev/null; done; t1=$(date +%s%N)
for i in $(seq 1 200); do ivctl --json show ports >/dev/null; done; t2=$(date +%s%N)
echo "200 GET /metrics: $(( (t1 - t0) / 200000 )) us each; 200 ivctl --json show ports: $(( (t2 - t1) / 200000 )) us each"
