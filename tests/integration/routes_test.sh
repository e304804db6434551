#!/usr/bin/env bash
# Static and default routes with next hops (config `routes`, docs/config.md): network
# namespaces as a VM and as routers on af_packet ports; a namespace "inet" behind the
# routers (not on the switch) stands for the internet. A default route through router r1:
# ping and a TCP connection (iperf3) from the VM reach inet; the next hop resolved by ARP,
# `ivctl show routes` (human and --json) and /metrics count it. Then two routers as two
# next hops (ECMP) to one prefix: 64 UDP flows from the VM, tcpdump in each router: both
# carry flows, and each flow stays on one router; then r2 hangs (nftables drops all it
# receives) and its flows move to r1, and come back for new flows once it answers. Needs root. Cleans up everything it
# starts (processes by PID, namespaces, veths), also on Ctrl-C.
#
#   vm1       network web    (VLAN 10, 10.0.1.0/24, gateway 10.0.1.1)
#   r1, r2    network uplink (VLAN 90, 10.9.0.0/24, gateway 10.9.0.1): 10.9.0.2, 10.9.0.3
#   inet      behind both routers (veths r1 <-> inet, r2 <-> inet): 203.0.113.10, 198.51.100.10
#   routes:   0.0.0.0/0 via 10.9.0.2;  198.51.100.0/24 via [10.9.0.2, 10.9.0.3] (ECMP)
#
# usage: routes_test.sh BUILD_DIR
set -u
. "$(dirname "$0")/../../scripts/lib/netns_test.sh" routes ivr "${1:-}"

SOCK="$WORK/ctl.sock"
METRICS=127.0.0.1:$((20000 + $$ % 20000))
cat >"$WORK/switch.yaml" <<YAML
switch:
  instance: $P
  control_socket: $SOCK
  metrics_address: $METRICS
ports:
  - {name: vm1, type: af_packet, interface: $P-vm1, network: web}
  - {name: r1, type: af_packet, interface: $P-r1, network: uplink}
  - {name: r2, type: af_packet, interface: $P-r2, network: uplink}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
  - {name: uplink, vlan: 90, subnet: 10.9.0.0/24, gateway: 10.9.0.1}
vms:
  - {name: vm1, port: vm1, mac: "02:00:00:00:01:01", ip: 10.0.1.11}
routes:
  - {prefix: 0.0.0.0/0, via: 10.9.0.2}
  - {prefix: 198.51.100.0/24, via: [10.9.0.2, 10.9.0.3]}
YAML
# ROUTES_BREAK=1: the same run without the routes section (the suite must then fail).
[ "${ROUTES_BREAK:-0}" = 1 ] && sed -i '/^routes:/,$d' "$WORK/switch.yaml"

netns_vm vm1 02:00:00:00:01:01 10.0.1.11/24 10.0.1.1
netns_vm r1 02:00:00:00:09:02 10.9.0.2/24
netns_vm r2 02:00:00:00:09:03 10.9.0.3/24
ip netns add "$P-inet" && NETNS_CREATED+=("$P-inet")
# Router <-> inet links live only inside the namespaces (they go with them).
for r in 1 2; do
    ip link add "to-inet" netns "$P-r$r" type veth peer name "from-r$r" netns "$P-inet"
    in_vm "r$r" ip addr add "192.168.9$r.1/30" dev to-inet
    in_vm "r$r" ip link set to-inet up
    in_vm inet ip addr add "192.168.9$r.2/30" dev "from-r$r"
    in_vm inet ip link set "from-r$r" up
    in_vm "r$r" sysctl -qw net.ipv4.ip_forward=1
    in_vm "r$r" ip route add 203.0.113.0/24 via "192.168.9$r.2"
    in_vm "r$r" ip route add 198.51.100.0/24 via "192.168.9$r.2"
    in_vm "r$r" ip route add 10.0.1.0/24 via 10.9.0.1   # back through the switch
done
in_vm inet ip link set lo up
in_vm inet ip addr add 203.0.113.10/32 dev lo
in_vm inet ip addr add 198.51.100.10/32 dev lo
in_vm inet ip route add 10.0.1.0/24 via 192.168.91.1   # replies all by r1 (the switch routes them to vm1)
# A packet from vm1 may come in by r2 and its reply leave by r1: no reverse-path filter.
for ns in r1 r2 inet; do in_vm "$ns" sh -c 'for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 >"$f"; done'; done

start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log" || exit 1
ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }
for i in $(seq 1 50); do
    [ "$(ivctl --json show ports | python3 -c 'import json,sys; print(all(p["link"]=="up" for p in json.load(sys.stdin)["ports"]))')" = True ] && break
    sleep 0.2
done

# The first echo may be dropped while the switch asks r1's MAC (l3.route.next_hop_unresolved).
check "default route: ping vm1 -> 203.0.113.10 (inet, behind r1)" in_vm vm1 ping -c 5 -i 0.2 -W 2 203.0.113.10
tcp_ok() {
    in_vm inet iperf3 -s -1 -D -p 5201 >/dev/null 2>&1
    sleep 0.5
    in_vm vm1 iperf3 -c 203.0.113.10 -p 5201 -t 2 -J >"$WORK/iperf.json" || return 1
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); bps=r["end"]["sum_received"]["bits_per_second"]; print(f"{bps/1e9:.2f} Gbit/s"); sys.exit(0 if bps > 1e6 else 1)' "$WORK/iperf.json"
}
check "default route: TCP (iperf3) vm1 -> 203.0.113.10" tcp_ok
r1_saw_it() {  # what left the switch to r1 is addressed to r1's MAC from the uplink gateway MAC, TTL 63
    in_vm_capture r1 "$WORK/r1.txt" tshark -i eth0 -a duration:3 -f "icmp and dst host 203.0.113.10" -T fields -e eth.src -e eth.dst -e ip.ttl
    in_vm vm1 ping -c 4 -i 0.2 -W 1 203.0.113.10 >/dev/null 2>&1
    wait "$CAPTURE_PID"
    cat "$WORK/r1.txt"
    [ "$(wc -l <"$WORK/r1.txt")" -ge 3 ] && awk '$1!="02:49:56:00:00:5a" || $2!="02:00:00:00:09:02" || $3!=63 {bad=1} END{exit bad}' "$WORK/r1.txt"
}
check "tshark in r1: routed frames to its MAC, from the uplink gateway MAC, TTL 63" r1_saw_it
routes_ok() {
    ivctl show routes | tee "$WORK/routes.txt"
    grep -q "0.0.0.0/0 *10.9.0.2 *uplink *02:00:00:00:09:02" "$WORK/routes.txt" &&
    ivctl --json show routes | python3 -c '
import json, sys
s = json.load(sys.stdin)["static_routes"]
d = [h for h in s if h["prefix"] == "0.0.0.0/0" and h["via"] == "10.9.0.2"]
sys.exit(0 if d and d[0]["mac"] == "02:00:00:00:09:02" and d[0]["packets"] >= 5 and d[0]["network"] == "uplink" else 1)'
}
check "ivctl show routes: the default route, its next hop's MAC and packets (human and --json)" routes_ok
metrics_ok() {
    curl -sf "http://$METRICS/metrics" >"$WORK/metrics.txt" || return 1
    grep -E '^ivswitch_route_packets_total\{prefix="0.0.0.0/0",via="10.9.0.2"\} [1-9]' "$WORK/metrics.txt" &&
    grep -E '^ivswitch_events_total\{event="l3.route.static.packets"\} [1-9]' "$WORK/metrics.txt"
}
check "/metrics: packets per next hop" metrics_ok

send_flows() {  # FIRST_SPORT ROUNDS: 64 UDP flows from vm1, a round every 0.5 s
    in_vm vm1 python3 - "$1" "$2" <<'PY'
import socket, sys, time
first, rounds = int(sys.argv[1]), int(sys.argv[2])
for rnd in range(rounds):
    for sport in range(first, first + 64):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("10.0.1.11", sport))
        s.sendto(b"ecmp", ("198.51.100.10", 9))
        s.close()
    time.sleep(0.5)
PY
}
# ECMP. r2 is resolved first (a ping to it), so that every flow finds both next hops.
in_vm vm1 ping -c 2 -i 0.2 -W 1 10.9.0.3 >/dev/null 2>&1
in_vm vm1 ping -c 2 -i 0.2 -W 1 10.9.0.2 >/dev/null 2>&1
CAPS=()
for r in r1 r2; do
    in_vm_capture "$r" "$WORK/ecmp-$r.txt" tcpdump -p -l -n -i eth0 "udp and dst host 198.51.100.10 and dst port 9" && CAPS+=("$CAPTURE_PID")
done
send_flows 41000 3                        # each flow 3 times, a moment apart
sleep 1
for pid in "${CAPS[@]}"; do kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
ecmp_ok() {
    python3 - "$WORK/ecmp-r1.txt" "$WORK/ecmp-r2.txt" <<'PY'
import re, sys
seen = []
for path in sys.argv[1:3]:
    ports = {}
    for line in open(path):
        m = re.search(r"10\.0\.1\.11\.(\d+) > 198\.51\.100\.10\.9:", line)
        if m: ports[int(m.group(1))] = ports.get(int(m.group(1)), 0) + 1
    seen.append(ports)
r1, r2 = seen
both = set(r1) & set(r2)
print(f"flows by r1: {len(r1)}, by r2: {len(r2)}, on both: {len(both)}, all 64 seen: {len(set(r1) | set(r2)) == 64}")
bad = both or len(r1) < 10 or len(r2) < 10 or len(set(r1) | set(r2)) != 64
sys.exit(1 if bad else 0)
PY
}
check "ECMP: 64 flows spread over r1 and r2 (tcpdump in each), each flow on one router" ecmp_ok
ecmp_counters_ok() {
    ivctl show routes
    ivctl --json show routes | python3 -c '
import json, sys
s = {h["via"]: h for h in json.load(sys.stdin)["static_routes"] if h["prefix"] == "198.51.100.0/24"}
sys.exit(0 if len(s) == 2 and all(h["packets"] >= 20 and h["mac"] for h in s.values()) else 1)'
}
check "ivctl show routes: both ECMP next hops resolved and counted" ecmp_counters_ok
refused_ok() {  # routes change only by a restart: a reload that changes them is refused, saying so
    sed 's/via: 10.9.0.2}/via: 10.9.0.3}/' "$WORK/switch.yaml" >"$WORK/changed.yaml"
    cp "$WORK/switch.yaml" "$WORK/orig.yaml" && cp "$WORK/changed.yaml" "$WORK/switch.yaml"
    ivctl policy reload >"$WORK/reload.txt" 2>&1; local rc=$?
    cp "$WORK/orig.yaml" "$WORK/switch.yaml"
    cat "$WORK/reload.txt"
    [ $rc != 0 ] && grep -q "the routes differ" "$WORK/reload.txt"
}
check "a reload changing the routes is refused: the routes differ" refused_ok
still_ok() { in_vm vm1 ping -c 2 -i 0.2 -W 2 203.0.113.10; }
check "still routed after the refused reload" still_ok

# Failover: r2 hangs (an nftables rule on its interface drops every frame it receives:
# no ARP answers, nothing forwarded). The switch keeps asking the next hops its flows use;
# 3 s after r2's first unanswered probe it is down and its flows move to r1. Every flow
# is sent for 10 s: by the end, all 64 must reach r1.
in_vm r2 nft add table netdev hang
in_vm r2 nft add chain netdev hang in "{ type filter hook ingress device eth0 priority 0; policy drop; }"
in_vm_capture r1 "$WORK/failover-r1.txt" tcpdump -p -l -n -i eth0 "udp and dst host 198.51.100.10 and dst port 9" && FPID=$CAPTURE_PID
send_flows 41000 20
kill -INT "$FPID" 2>/dev/null; wait "$FPID" 2>/dev/null
failover_ok() {
    python3 - "$WORK/failover-r1.txt" "$WORK/ecmp-r2.txt" <<'PY'
import re, sys
def flows(path, last=None):
    out = []
    for line in open(path):
        m = re.search(r"10\.0\.1\.11\.(\d+) > 198\.51\.100\.10\.9:", line)
        if m: out.append(int(m.group(1)))
    return out
seen = flows(sys.argv[1])
tail = set(seen[-128:])  # the last rounds
was_r2 = set(flows(sys.argv[2]))
print(f"flows that were on r2: {len(was_r2)}; at r1 in the last rounds: {len(tail)} of 64, of them once r2's: {len(tail & was_r2)}")
sys.exit(0 if len(tail) == 64 and was_r2 <= tail else 1)
PY
}
check "failover: r2 silent, its flows moved to r1 (tcpdump in r1)" failover_ok
down_ok() {
    ivctl show routes
    ivctl --json show routes | python3 -c '
import json, sys
s = {h["via"]: h for h in json.load(sys.stdin)["static_routes"] if h["prefix"] == "198.51.100.0/24"}
sys.exit(0 if s["10.9.0.3"]["state"] == "down" and s["10.9.0.3"]["downs"] >= 1 and s["10.9.0.2"]["state"] == "up" else 1)' &&
    curl -sf "http://$METRICS/metrics" | grep -E '^ivswitch_route_next_hop_downs_total\{prefix="198.51.100.0/24",via="10.9.0.3"\} [1-9]' &&
    curl -sf "http://$METRICS/metrics" | grep -E '^ivswitch_events_total\{event="l3.route.ecmp.next_hop_probes"\} [1-9]'
}
check "ivctl show routes: r2 down and its fall counted (and in /metrics)" down_ok
r2_packets() { ivctl --json show routes | python3 -c '
import json, sys
print([h["packets"] for h in json.load(sys.stdin)["static_routes"] if h["prefix"] == "198.51.100.0/24" and h["via"] == "10.9.0.3"][0])'; }
r2_unused_ok() {  # (tcpdump -p sees only frames to r1's MAC; the switch's count says none went to r2)
    local before after
    before=$(r2_packets); send_flows 41000 2; after=$(r2_packets)
    echo "packets to 10.9.0.3 before a round of the 64 flows: $before, after: $after"
    [ -n "$before" ] && [ "$before" = "$after" ]
}
check "while r2 is down, nothing is routed to it" r2_unused_ok
# r2 recovers: new flows hashed to it bring it back (their probe, broadcast while it is
# down, is answered), and later new flows go to it again.
in_vm r2 nft delete table netdev hang
in_vm_capture r2 "$WORK/recovered-r2.txt" tcpdump -p -l -n -i eth0 "udp and dst host 198.51.100.10 and dst port 9" && RPID=$CAPTURE_PID
send_flows 42000 2
send_flows 43000 2
kill -INT "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null
recovered_ok() {
    grep -c "> 198.51.100.10.9:" "$WORK/recovered-r2.txt"
    ivctl --json show routes | python3 -c '
import json, sys
s = {h["via"]: h for h in json.load(sys.stdin)["static_routes"] if h["prefix"] == "198.51.100.0/24"}
sys.exit(0 if s["10.9.0.3"]["state"] == "up" else 1)' &&
    grep -qE "10\.0\.1\.11\.43[0-9]+ > 198\.51\.100\.10\.9:" "$WORK/recovered-r2.txt"
}
check "r2 answers again: up, and new flows reach it" recovered_ok

clean_stop() { stop_switch || { echo "exit status $?"; tail -20 "$WORK/ivswitchd.log"; return 1; }; }
check "SIGTERM: clean exit" clean_stop

summary routes
