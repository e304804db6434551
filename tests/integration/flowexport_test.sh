#!/usr/bin/env bash
# Flow records over IPFIX, judged by real collectors from Debian:
#   vm1, vm2 (network web) and vm3 (network db) are namespaces on af_packet ports; ping
#   vm1 -> vm3 (IPv4, routed), ping vm1 -> vm2 (IPv6), a TCP stream vm1 -> vm3:5432 long
#   enough for several active-timeout records, a TCP connection to vm3:80 that the policy
#   drops, vm1's DSCP audited against an assignment, a mirror tapping vm3's port.
#   - nfcapd (nfdump's collector) takes collector 1; `nfdump -r` decodes every record's
#     standard fields, and the records of each flow direction add up to the packets and
#     bytes `ivctl show flows` counted;
#   - collector 2 is a plain UDP socket; tshark's IPFIX dissector, on a capture of that
#     traffic, shows ivswitch's enterprise fields (rule, verdict, epoch, state, DSCP
#     observed/assigned, mirrors), checked against `show flows` too;
#   - collector 2 then goes away: its sends fail (ECONNREFUSED), counted, collector 1
#     unaffected; ivctl flow-export del/add at runtime; /metrics;
#   - the switch stops with flows in its table: their last records reach nfcapd too.
# usage: flowexport_test.sh BUILD_DIR
set -u
. "$(dirname "$0")/../../scripts/lib/netns_test.sh" flowexport ivx "${1:-}"
for t in nfcapd nfdump tshark; do command -v $t >/dev/null || { echo "flowexport: $t missing (scripts/install-deps.sh installs it)"; echo "flowexport: 0 passed, 1 failed"; exit 1; }; done
SOCK="$WORK/ctl.sock"
METRICS=$((20000 + $$ % 20000))
NF_PORT=$((40000 + $$ % 10000)); SINK_PORT=$((NF_PORT + 1))
cat >"$WORK/switch.yaml" <<YAML
switch: {instance: $P, control_socket: $SOCK, metrics_address: "127.0.0.1:$METRICS"}
ports:
  - {name: vm1, type: af_packet, interface: $P-vm1, network: web, port_security: false}
  - {name: vm2, type: af_packet, interface: $P-vm2, network: web, port_security: false}
  - {name: vm3, type: af_packet, interface: $P-vm3, network: db}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
  - {name: db, vlan: 20, subnet: 10.0.2.0/24, gateway: 10.0.2.1}
vms:
  - {name: vm1, port: vm1, mac: "02:00:00:00:01:01", ip: 10.0.1.11, allowed_addresses: ["fd00:10::11"]}
  - {name: vm2, port: vm2, mac: "02:00:00:00:01:02", ip: 10.0.1.12, allowed_addresses: ["fd00:10::12"]}
  - {name: vm3, port: vm3, mac: "02:00:00:00:02:03", ip: 10.0.2.13}
flows: {icmp_seconds: 3, udp_seconds: 3, tcp_closing_seconds: 2, tcp_handshake_seconds: 3, other_seconds: 3}
flow_export:
  collectors: ["127.0.0.1:$NF_PORT", "127.0.0.1:$SINK_PORT"]
  active_timeout_seconds: 2
  template_interval_seconds: 5
  observation_domain: 7
policy:
  default: allow
  rules:
    - {name: no-http, to: [10.0.2.13/32], protocol: tcp, ports: [80], action: drop}
    - {name: pg, to: [10.0.2.13/32], protocol: tcp, ports: [5432], action: allow}
qos:
  assign:
    - {name: web-af21, from: vm1, dscp: AF21, mode: audit}
  classes:
    - {name: bulk, dscp: [AF21], weight: 1}
mirrors:
  - name: db-tap
    taps: [{port: vm3, direction: both}]
    tools: [{pcapng: $WORK/db.pcapng}]
YAML
netns_vm vm1 02:00:00:00:01:01 10.0.1.11/24 10.0.1.1
netns_vm vm2 02:00:00:00:01:02 10.0.1.12/24 10.0.1.1
netns_vm vm3 02:00:00:00:02:03 10.0.2.13/24 10.0.2.1
for v in vm1 vm2; do  # IPv6 between vm1 and vm2 (same network)
    in_vm $v sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.eth0.disable_ipv6=0
done
in_vm vm1 ip -6 addr add fd00:10::11/64 dev eth0 nodad
in_vm vm2 ip -6 addr add fd00:10::12/64 dev eth0 nodad

# Collector 1: nfcapd. Collector 2: a UDP socket that takes the datagrams (tshark reads them on lo).
mkdir -p "$WORK/nf"
nfcapd -b 127.0.0.1 -p "$NF_PORT" -w "$WORK/nf" -t 3600 >"$WORK/nfcapd.log" 2>&1 & NFCAPD_PID=$!
python3 -c "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', $SINK_PORT))
while True: s.recv(65535)" & SINK_PID=$!
tshark -i lo -f "udp port $SINK_PORT" -w "$WORK/ipfix.pcapng" >"$WORK/tshark.out" 2>"$WORK/tshark.out.stderr" & TSHARK_PID=$!
cleanup_collectors() { for p in ${NFCAPD_PID:-} ${SINK_PID:-} ${TSHARK_PID:-} ${SNAP_PID:-}; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap 'cleanup_collectors; netns_cleanup; rm -rf "$WORK"' EXIT
for i in $(seq 1 100); do grep -q "^Capturing on" "$WORK/tshark.out.stderr" && break; sleep 0.1; done
sleep 0.5

start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log" || exit 1
ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }
sleep 0.5
# The switch's view of every flow, every 0.5 s while the test runs (a flow lives at least
# its 2 s idle timeout after its last packet, so some snapshot has its final counters;
# the checker keeps the largest figures seen per flow).
mkdir -p "$WORK/snap"
( n=0; while :; do "$BUILD/ivctl" --socket "$SOCK" --json show flows >"$WORK/snap/flows.$n.json.tmp" 2>/dev/null &&
      mv "$WORK/snap/flows.$n.json.tmp" "$WORK/snap/flows.$n.json"; n=$((n + 1)); sleep 0.5; done ) & SNAP_PID=$!

traffic() {
    in_vm vm1 ping -c 4 -i 0.2 -W 2 10.0.2.13 >"$WORK/ping4.txt" || { cat "$WORK/ping4.txt"; return 1; }
    in_vm vm1 ping -6 -c 4 -i 0.2 -W 2 fd00:10::12 >"$WORK/ping6.txt" || { cat "$WORK/ping6.txt"; return 1; }
    in_vm vm3 timeout 12 python3 "$HERE/tcp_stream.py" server 5432 5 "$WORK/s5432.txt" & local s=$!
    sleep 0.4; in_vm vm1 python3 "$HERE/tcp_stream.py" client 10.0.2.13 5432 5; wait $s
    if in_vm vm1 python3 -c 'import socket; socket.create_connection(("10.0.2.13", 80), timeout=1)' 2>/dev/null; then echo "port 80 connected?"; return 1; fi
    echo "ping4: $(grep -c 'bytes from' "$WORK/ping4.txt") replies, ping6: $(grep -c 'bytes from' "$WORK/ping6.txt") replies," \
         "TCP 5432: $(awk '{t+=$1} END{print t}' "$WORK/s5432.txt") bytes; TCP 80 refused by rule no-http"
}
check "traffic: ping (IPv4, IPv6), a TCP stream, a dropped TCP connection" traffic
all_expired() {
    local i n
    for i in $(seq 1 40); do
        n=$(ivctl --json show flows | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
        [ "$n" = 0 ] && { echo "flow table empty after ${i}x0.25 s"; sleep 0.5; return 0; }
        sleep 0.25
    done
    echo "still $n flows"; return 1
}
check "every flow expires (idle timeouts of 2-3 s)" all_expired
exporter_counts() {
    ivctl flow-export show | tee "$WORK/fe.txt"
    ivctl --json flow-export show | python3 -c '
import json, sys
v = json.load(sys.stdin)
for c in v["collectors"]:
    assert c["records"] > 0 and c["templates"] >= 1 and c["send_errors"] == 0, c
assert v["queue_full"] == 0 and v["records_queued"] == v["collectors"][0]["records"], v'
}
check "flow-export show: both collectors got records and templates, no error, nothing dropped" exporter_counts

# Collector 2 goes away; a new flow's records then fail to reach it (ICMP port
# unreachable -> ECONNREFUSED), counted; collector 1 still gets them.
collector_gone() {
    kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null; SINK_PID=""
    local before; before=$(ivctl --json flow-export show)
    in_vm vm1 ping -c 3 -i 0.2 -W 2 10.0.2.13 >/dev/null || return 1
    all_expired >/dev/null || return 1
    in_vm vm1 ping -c 2 -i 0.2 -W 2 10.0.2.13 >/dev/null  # a second round: the first send only collects the ICMP error
    all_expired >/dev/null || return 1
    ivctl flow-export show | tail -3
    printf '%s\n' "$before" >"$WORK/before.json"
    ivctl --json flow-export show | python3 -c '
import json, sys
now = json.load(sys.stdin); before = json.load(open(sys.argv[1]))
b = {c["collector"]: c for c in before["collectors"]}
nf, sink = now["collectors"]
print("nfcapd: records", b[nf["collector"]]["records"], "->", nf["records"], "; gone: send errors", sink["send_errors"], "records dropped", sink["records_dropped"], sink["last_error"])
assert nf["records"] > b[nf["collector"]]["records"] and nf["send_errors"] == 0
# UDP learns of the ICMP error on the send after the one it answered: a send fails, the
# next goes out (and is lost), so some records are counted dropped, not all.
assert sink["send_errors"] > 0 and "refused" in sink["last_error"].lower()' "$WORK/before.json"
}
check "a collector that goes away: its send errors and dropped records counted, the other unaffected" collector_gone
metrics_ok() {
    curl -sf "http://127.0.0.1:$METRICS/metrics" >"$WORK/m.txt" || return 1
    grep -E "^ivswitch_flow_export_(records|templates|send_errors|records_dropped|messages)_total\{collector=" "$WORK/m.txt" | sed -n 1,10p
    grep -qE "^ivswitch_flow_export_records_total\{collector=\"127.0.0.1:$NF_PORT\"\} [1-9]" "$WORK/m.txt" &&
    grep -qE "^ivswitch_flow_export_send_errors_total\{collector=\"127.0.0.1:$SINK_PORT\"\} [1-9]" "$WORK/m.txt" &&
    grep -qE "^ivswitch_flow_export_queue_full_total 0$" "$WORK/m.txt"
}
check "/metrics: records, messages, templates, send errors, drops per collector" metrics_ok
runtime_del_add() {
    ivctl flow-export del "127.0.0.1:$SINK_PORT" && ! ivctl --json flow-export show | grep -q "\"127.0.0.1:$SINK_PORT\"" &&
    ivctl flow-export add "[::1]:$SINK_PORT" && ivctl --json flow-export show | grep -q "\"\[::1\]:$SINK_PORT\"" &&
    ! ivctl flow-export add "nohost.invalid:1" 2>"$WORK/err" && cat "$WORK/err" &&
    ! ivctl flow-export add "127.0.0.1:0" 2>"$WORK/err" && cat "$WORK/err"
}
check "ivctl flow-export del/add at runtime ([::1] too); a bad collector refused with its reason" runtime_del_add

# Shutdown with flows in the table: each still gets its last record (forced end); the
# nfdump check below finds them (a flow without records fails it).
stop_with_flows() {
    in_vm vm1 ping -c 3 -i 0.2 -W 2 10.0.2.13 >/dev/null || return 1
    sleep 1  # a snapshot of its final counters; its 3 s idle timeout not reached
    local n; n=$(ivctl --json show flows | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
    stop_switch; local rc=$?
    echo "ivswitchd stopped with $n flow(s) in its table, exit status $rc"; [ "$rc" = 0 ] && [ "$n" -gt 0 ]
}
check "ivswitchd stops cleanly with flows in its table" stop_with_flows

# The judges: nfcapd writes its file when it stops; tshark has the collector-2 datagrams.
kill "$SNAP_PID"; wait "$SNAP_PID" 2>/dev/null; SNAP_PID=""
kill "$NFCAPD_PID"; wait "$NFCAPD_PID" 2>/dev/null; NFCAPD_PID=""
kill "$TSHARK_PID"; wait "$TSHARK_PID" 2>/dev/null; TSHARK_PID=""
nfdump_matches() {
    local f; f=$(ls "$WORK"/nf/nfcapd.2* 2>/dev/null | head -1)
    [ -n "$f" ] || { echo "no nfcapd file:"; ls "$WORK/nf"; cat "$WORK/nfcapd.log"; return 1; }
    nfdump -r "$f" -o json >"$WORK/nfdump.json" 2>"$WORK/nfdump.err" || { cat "$WORK/nfdump.err"; return 1; }
    nfdump -r "$f" -o long | head -5
    python3 "$HERE/flowexport_check.py" nfdump "$WORK/nfdump.json" "$WORK"/snap/flows.*.json
}
check "nfdump decodes every record (addresses, ports, protocol, interfaces, VLAN, times); per flow direction they add up to show flows" nfdump_matches
tshark_matches() {
    tshark -r "$WORK/ipfix.pcapng" -d "udp.port==$SINK_PORT,cflow" -T json --no-duplicate-keys >"$WORK/tshark.json" 2>"$WORK/tshark.err" || { cat "$WORK/tshark.err"; return 1; }
    python3 "$HERE/flowexport_check.py" tshark "$WORK/tshark.json" "$WORK"/snap/flows.*.json
}
check "tshark's IPFIX dissector: the enterprise fields (rule, verdict, epoch, state, DSCP, mirrors) match show flows" tshark_matches
summary flowexport
