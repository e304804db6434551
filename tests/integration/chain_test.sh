#!/usr/bin/env bash
# Inspect, then shortcut, with a real inline device: namespace "fw" is a Linux router with
# an nftables firewall between network web (vm1, 10.0.1.0/24) and network db (vm3,
# 10.0.2.0/24); the VMs use it as their gateway. Policy: TCP vm1 -> vm3 is inspected by
# chain fw (out port fwa = the router's web leg, return port fwb = its db leg). The
# router's own nft counters are the judge of what went through it:
#   - an allowed connection's first packet (the SYN) went through the device, the rest
#     did not, and data flowed; an iperf3 run across the switch-over loses no connection
#   - a flow the firewall drops (TCP 22) is never delivered and is denied after the
#     verify timeout (fail-closed)
#   - the device down: new flows are denied (fail-closed); after a reload to
#     on_failure: open they are routed by the switch itself (bypass)
#   - a reload without the inspect rule ends the shortcut of a running stream: the device
#     sees its packets again, and the stream goes on
#   - ivctl show chains / show flows / trace and /metrics show it
# usage: chain_test.sh BUILD_DIR
set -u
. "$(dirname "$0")/../../scripts/lib/netns_test.sh" chain ivc "${1:-}"
command -v nft >/dev/null || { echo "chain: nft missing (apt-get install nftables)"; echo "chain: 0 passed, 1 failed"; exit 1; }
SOCK="$WORK/ctl.sock"
METRICS="127.0.0.1:$((20000 + $$ % 20000))"
. "$HERE/../../scripts/lib/chain_topology.sh"
write_config() { chain_topology_config "$SOCK" "$METRICS" ", verify_timeout_ms: 1000, on_failure: $1" "$2"; }  # ON_FAILURE RULES
INSPECT='    - {name: inspect-db, from: vm1, to: vm3, protocol: tcp, action: {inspect: fw}}'
write_config closed "$INSPECT"
chain_topology_up || exit 1
# The VMs keep their gateway's MAC: with the device down nobody answers ARP for it, and
# the fail-open part is about what the switch does with the packets that still come.
in_vm vm1 ip neigh replace 10.0.1.1 lladdr 02:fe:00:00:00:01 dev eth0 nud permanent
in_vm vm3 ip neigh replace 10.0.2.1 lladdr 02:fe:00:00:00:02 dev eth0 nud permanent
fw() { in_vm fwa "$@"; }
nft_packets() { netns_firewall_count fwa "$1"; }
# packets into the router, both legs (eth0: web, fwb: db): what the device saw of the traffic
fw_rx() { fw cat /sys/class/net/eth0/statistics/rx_packets /sys/class/net/fwb/statistics/rx_packets | awk '{t+=$1} END{print t}'; }
start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log" || exit 1
ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }
STREAM="python3 $HERE/tcp_stream.py"
sleep 0.5

check "ping vm1 -> vm3 through the router (not inspected: ICMP)" in_vm vm1 ping -c 2 -i 0.2 -W 2 10.0.2.13

shortcut_pg() {
    local pg0 rx0; pg0=$(nft_packets pg); rx0=$(fw_rx)
    in_vm vm3 timeout 10 $STREAM server 5432 2 "$WORK/s1.txt" & local s=$!
    sleep 0.4; in_vm vm1 $STREAM client 10.0.2.13 5432 2; wait $s
    local pg=$(( $(nft_packets pg) - pg0 )) rx=$(( $(fw_rx) - rx0 )) bytes
    bytes=$(awk '{t+=$1} END{print t+0}' "$WORK/s1.txt")
    echo "bytes at vm3: $bytes; the router's nft counter for 5432: $pg packet(s); packets into its legs: $rx"
    [ "$bytes" -gt 1000000 ] && [ "$pg" = 1 ] && [ "$rx" -le 5 ]
}
check "TCP vm1 -> vm3:5432: the SYN went through the device, the rest was shortcut" shortcut_pg
flows_view() {
    ivctl show flows | tee "$WORK/flows.txt" | grep -E ':5432 '
    ivctl --json show flows | python3 -c '
import json, sys
f = [x for x in json.load(sys.stdin)["flows"] if x["dst"].endswith(":5432")]
c = f[0]["chain"]
sys.exit(0 if f[0]["state"] == "verified" and c["name"] == "fw" and c["to_device"]["forward"] == 1
         and c["shortcut"]["forward"] + c["shortcut"]["reverse"] > 100 and c["verify_ms"] is not None else 1)'
}
check "show flows: verified on chain fw, 1 packet to the device, the rest shortcut" flows_view

iperf_switchover() {
    local ip0 rx0; ip0=$(nft_packets iperf); rx0=$(fw_rx)
    in_vm vm3 iperf3 -s -1 -D -I "$WORK/iperf3.pid" >/dev/null 2>&1; sleep 0.5
    in_vm vm1 iperf3 -c 10.0.2.13 -t 3 -J >"$WORK/iperf.json" 2>&1; local rc=$?
    local ip=$(( $(nft_packets iperf) - ip0 )) rx=$(( $(fw_rx) - rx0 ))
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); e=d["end"]; print("iperf3: %.2f Gbit/s received, %d retransmits" % (e["sum_received"]["bits_per_second"]/1e9, e["sum_sent"].get("retransmits",0)))' "$WORK/iperf.json" || cat "$WORK/iperf.json"
    echo "the router's nft counter for 5201: $ip packet(s) (one SYN per iperf3 connection); packets into its legs: $rx"
    [ $rc = 0 ] && [ "$ip" -ge 1 ] && [ "$ip" -le 3 ] && [ "$rx" -le 10 ]
}
check "iperf3 across the switch-over: completes, the device saw only the connections' SYNs" iperf_switchover

refused_22() {
    local ssh0; ssh0=$(nft_packets ssh)
    in_vm vm3 timeout 6 python3 -c 'import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 22)); s.listen(1); s.settimeout(5); c, a = s.accept(); print("ACCEPTED", a)' >"$WORK/l22.txt" 2>&1 & local l=$!
    sleep 0.3
    if in_vm vm1 python3 -c 'import socket; socket.create_connection(("10.0.2.13", 22), timeout=2.5)' 2>"$WORK/err"; then echo "connected?"; return 1; fi
    wait $l
    local ssh=$(( $(nft_packets ssh) - ssh0 ))
    echo "client: $(tail -1 "$WORK/err"); the router dropped $ssh SYN(s); vm3 listener: $(grep -c ACCEPTED "$WORK/l22.txt") connection(s)"
    ivctl show flows | grep -E ':22 ' | tee "$WORK/f22.txt"
    [ "$ssh" -ge 1 ] && ! grep -q ACCEPTED "$WORK/l22.txt" && grep -q " denied " "$WORK/f22.txt"
}
check "TCP vm1 -> vm3:22, dropped by the firewall: never delivered, denied after the verify timeout" refused_22

chains_view() {
    ivctl show chains | tee "$WORK/chains.txt"
    ivctl --json show chains | python3 -c '
import json, sys
c = json.load(sys.stdin)["chains"][0]
f = c["flows"]
sys.exit(0 if c["device"] == "up" and f["verified"] >= 3 and f["timeouts"] >= 1 and f["denied"] >= 1 else 1)'
}
check "show chains: device up, flows verified, one timeout denied" chains_view
trace_ok() {
    ivctl trace port=vm1 src=10.0.1.11 dst=10.0.2.13 src_mac=02:00:00:00:01:01 dst_mac=02:fe:00:00:00:01 proto=tcp sport=40999 dport=5432 flags=S | tee "$WORK/trace.txt"
    grep -q "pending on chain fw" "$WORK/trace.txt" && grep -q "port fwa" "$WORK/trace.txt"
}
check "ivctl trace: a new TCP flow to vm3 is pending on chain fw and goes to port fwa" trace_ok

device_down() {
    fw ip link set eth0 down
    local i; for i in $(seq 1 30); do ivctl --json show chains | grep -q '"device": *"down"' && break; sleep 0.1; done
    local before; before=$(ivctl --json show chains)
    if in_vm vm1 python3 -c 'import socket; socket.create_connection(("10.0.2.13", 5432), timeout=1.5)' 2>"$WORK/err"; then echo "connected?"; return 1; fi
    echo "device down, fail-closed: $(tail -1 "$WORK/err")"
    ivctl show chains | tail -n +2
    # denied at once because the device is down, not after a verify timeout
    python3 - "$before" "$(ivctl --json show chains)" <<'PY' || return 1
import json, sys
a, b = (json.loads(x)["chains"][0]["flows"] for x in sys.argv[1:3])
print("denied +%d, timeouts +%d" % (b["denied"] - a["denied"], b["timeouts"] - a["timeouts"]))
sys.exit(0 if b["denied"] > a["denied"] and b["timeouts"] == a["timeouts"] else 1)
PY
    # trace agrees with the datapath (it answered "pending ... sent on 1 port" here before)
    ivctl trace port=vm1 src=10.0.1.11 dst=10.0.2.13 src_mac=02:00:00:00:01:01 dst_mac=02:fe:00:00:00:01 proto=tcp sport=40998 dport=5432 flags=S >"$WORK/trace-down.txt"
    sed 's/^/     /' "$WORK/trace-down.txt"
    grep -q "fails closed: the flow is denied" "$WORK/trace-down.txt" && grep -q "policy.denied" "$WORK/trace-down.txt" &&
        ! grep -q "port fwa" "$WORK/trace-down.txt" || return 1
    write_config open "$INSPECT"
    ivctl policy reload || return 1
    in_vm vm3 timeout 10 $STREAM server 5432 1 "$WORK/s2.txt" & local s=$!
    sleep 0.4; in_vm vm1 $STREAM client 10.0.2.13 5432 1; wait $s
    local bytes; bytes=$(awk '{t+=$1} END{print t+0}' "$WORK/s2.txt")
    echo "device down, fail-open: the switch routed the flow itself: $bytes bytes at vm3"
    ivctl show flows | grep -E ':5432 ' | tail -2
    ivctl --json show chains | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["chains"][0]["flows"]["bypassed"] >= 1 else 1)' &&
        [ "$bytes" -gt 100000 ]
}
check "device down: fail-closed refuses new flows (and trace says so); fail-open routes them without the device" device_down
fw ip link set eth0 up
sleep 1.5  # the health check runs once a second

reload_ends_shortcut() {
    write_config closed "$INSPECT"
    ivctl policy reload >/dev/null || return 1
    in_vm vm3 timeout 15 $STREAM server 5432 6 "$WORK/s3.txt" & local s=$!
    sleep 0.4
    in_vm vm1 $STREAM client 10.0.2.13 5432 6 & local c=$!
    sleep 1
    local rx_a; rx_a=$(fw_rx)
    sleep 1
    local rx_before=$(( $(fw_rx) - rx_a ))  # shortcut: the router sees (next to) nothing
    local rx0; rx0=$(fw_rx)
    write_config closed '    - {name: ping, protocol: icmp, action: allow}'
    ivctl policy reload || return 1
    sleep 2
    local rx=$(( $(fw_rx) - rx0 ))
    wait $s; kill $c 2>/dev/null; wait $c 2>/dev/null
    echo "stream bytes per second (reload after 2 s): $(tr '\n' ' ' <"$WORK/s3.txt")"
    echo "packets into the router's legs: $rx_before in the second before the reload, $rx in the 2 s after it"
    awk 'NR>=5{a+=$1} END{exit !(a>0)}' "$WORK/s3.txt" && [ "$rx_before" -le 5 ] && [ "$rx" -gt 100 ]
}
check "a reload without the inspect rule ends the shortcut: the device sees the stream again, the stream goes on" reload_ends_shortcut
metrics_ok() {
    curl -sf "http://$METRICS/metrics" >"$WORK/m.txt" || return 1
    grep -E '^ivswitch_chain_flows_total\{chain="fw",outcome="verified"\} [1-9]' "$WORK/m.txt" &&
        grep -E '^ivswitch_chain_device_up\{chain="fw"\} 1' "$WORK/m.txt" &&
        grep -E '^ivswitch_events_total\{event="chain.shortcut"\} [1-9]' "$WORK/m.txt"
}
check "/metrics: chain flows by outcome, device health, shortcut packets" metrics_ok
stopped() { stop_switch; }
check "ivswitchd stops cleanly" stopped
summary chain
