#!/usr/bin/env bash
# vTAP + broker end to end, with namespaces as VMs (af_packet ports); tshark and tcpdump
# judge what the broker wrote:
#   a configured mirror (ICMP at vm1) writes a pcapng that holds exactly the pings sent;
#   mirrors added at runtime (ivctl mirror add) on the same tap with different filters
#   select exactly what `tcpdump -r` selects from an unfiltered capture of the same tap;
#   snaplen slices copies but keeps the original length; 1-in-N sampling; a tool port
#   (tcpdump in the "ids" namespace) receives the copies; ivctl mirror del stops a mirror;
#   show mirrors and /metrics count eligible/filtered/copied/delivered.
# usage: mirror_test.sh BUILD_DIR
set -u
. "$(dirname "$0")/../../scripts/lib/netns_test.sh" mirror ivr "${1:-}"
SOCK="$WORK/ctl.sock"
METRICS="127.0.0.1:$((20000 + $$ % 20000))"
cat >"$WORK/switch.yaml" <<YAML
switch: {instance: $P, control_socket: $SOCK, metrics_address: "$METRICS"}
ports:
  - {name: vm1, type: af_packet, interface: $P-vm1, network: lan}
  - {name: vm2, type: af_packet, interface: $P-vm2, network: lan}
  - {name: ids, type: af_packet, interface: $P-ids, network: tools}
networks:
  - {name: lan, vlan: 10, subnet: 10.0.1.0/24}
  - {name: tools, vlan: 99}
mirrors:
  - name: pings
    taps: [vm1]
    filter: icmp
    tools: [{pcapng: $WORK/pings.pcapng}]
YAML
netns_vm vm1 02:00:00:00:01:01 10.0.1.11/24
netns_vm vm2 02:00:00:00:01:02 10.0.1.12/24
netns_vm ids 02:00:00:00:09:99 192.168.99.1/24
start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log" || exit 1
ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }
sleep 0.5

configured_mirror() {
    in_vm vm1 ping -c 5 -i 0.2 -W 1 10.0.1.12 >/dev/null || return 1
    sleep 0.5
    tshark -r "$WORK/pings.pcapng" -T fields -e icmp.type -e ip.src 2>/dev/null >"$WORK/pings.txt" || return 1
    echo "pcapng: $(grep -c . "$WORK/pings.txt") packets: $(cut -f1 "$WORK/pings.txt" | sort | uniq -c | tr '\n' ' ')(type 8 request, 0 reply)"
    [ "$(grep -c '^8' "$WORK/pings.txt")" = 5 ] && [ "$(grep -c '^0' "$WORK/pings.txt")" = 5 ] && [ "$(grep -c . "$WORK/pings.txt")" = 10 ]
}
check "configured mirror: the pcapng holds exactly the 5 echo requests and 5 replies seen at vm1" configured_mirror

# Runtime mirrors on vm2's tap: one unfiltered (the reference), several filtered.
FILTERS=("tcp" "tcp dst port 5201" "udp" "icmp or arp" "tcp[tcpflags] & tcp-syn != 0" "greater 1000" "not tcp")
runtime_add() {
    ivctl mirror add everything --tap vm2 --pcapng "$WORK/all.pcapng" || return 1
    local i=0
    for f in "${FILTERS[@]}"; do ivctl mirror add "f$i" --tap vm2 --filter "$f" --pcapng "$WORK/f$i.pcapng" || return 1; i=$((i + 1)); done
    ivctl mirror add sliced --tap vm2:rx --filter "tcp" --snaplen 64 --sample 4 --pcapng "$WORK/sliced.pcapng" --tool-port ids || return 1
    ivctl show mirrors | grep -E "^mirror" 
}
check "ivctl mirror add: 9 mirrors on vm2 at runtime (no restart)" runtime_add
in_vm_capture ids "$WORK/ids.out" tcpdump -i eth0 -nn -U -w "$WORK/ids.pcap"; TCPDUMP=$CAPTURE_PID
traffic() {
    in_vm vm2 iperf3 -s -1 -D -p 5201 >/dev/null 2>&1; sleep 0.5
    in_vm vm1 iperf3 -c 10.0.1.12 -p 5201 -t 1 -b 200M >/dev/null || return 1
    in_vm vm1 iperf3 -s -1 -D -p 5202 >/dev/null 2>&1; sleep 0.5
    in_vm vm2 iperf3 -c 10.0.1.11 -p 5202 -u -b 5M -t 1 >/dev/null || return 1
    in_vm vm1 ping -c 3 -i 0.2 -W 1 10.0.1.12 >/dev/null
}
check "traffic through vm2's tap: iperf3 TCP and UDP, pings" traffic
sleep 1
show_ok() {
    ivctl --json show mirrors >"$WORK/mirrors.json"
    python3 - "$WORK/mirrors.json" <<'PY'
import json, sys
ms = {m["name"]: m for m in json.load(open(sys.argv[1]))["mirrors"]}
e = ms["everything"]["packets"]
print("everything:", e)
f0 = ms["f0"]["packets"]
print("f0 (tcp):", f0, "engine", ms["f0"]["filter_engine"], "| f4 (tcpflags):", ms["f4"]["filter_engine"])
ok = e["copied"] == e["eligible"] > 1000 and e["dropped_no_buffer"] == 0 and e["dropped_broker_behind"] == 0
ok &= f0["copied"] + f0["filtered_out"] == f0["eligible"] == e["eligible"]
ok &= ms["f4"]["filter_engine"] == "libpcap" and ms["f0"]["filter_engine"].startswith("rte_bpf")
sys.exit(0 if ok else 1)
PY
}
check "show mirrors: every packet at the tap copied (no drops); filtered = eligible - copied" show_ok
filter_modes() {
    ivctl show mirrors | grep -E "^mirror f[15] "
    python3 - "$WORK/mirrors.json" <<'PY'
import json, sys
ms = {m["name"]: m for m in json.load(open(sys.argv[1]))["mirrors"]}
f1, f5 = ms["f1"], ms["f5"]  # 'tcp dst port 5201' (flow-constant), 'greater 1000' (the length)
print("f1:", f1["filter_mode"], f1["filter_verdicts"], "| f5:", f5["filter_mode"], f5["filter_verdicts"])
ok = f1["filter_mode"] == "per flow" and f5["filter_mode"].startswith("per packet: reads the packet length")
for m in (f1, f5):  # every judged packet counted once, as a run or a kept verdict
    ok &= m["filter_verdicts"]["run"] + m["filter_verdicts"]["cached"] == m["packets"]["eligible"] > 1000
ok &= f1["filter_verdicts"]["cached"] > f1["filter_verdicts"]["run"] and f5["filter_verdicts"]["cached"] == 0
sys.exit(0 if ok else 1)
PY
    [ $? = 0 ] && ivctl show mirrors | grep -A2 -E "^mirror f1 " | grep -q "per flow" && ivctl show mirrors | grep -q "filter verdicts: filter run"
}
check "show mirrors: a flow-constant filter judged per flow (verdicts kept), a length filter per packet, each judgement counted once" filter_modes
equivalent() {
    local i=0 bad=0 want got
    for f in "${FILTERS[@]}"; do
        want=$(tcpdump -r "$WORK/all.pcapng" -nn "$f" 2>/dev/null | wc -l)
        got=$(tcpdump -r "$WORK/f$i.pcapng" -nn 2>/dev/null | wc -l)
        echo "'$f': tcpdump selects $want of the reference capture, the mirror wrote $got"
        [ "$want" = "$got" ] && [ "$got" -gt 0 ] || bad=1
        i=$((i + 1))
    done
    return $bad
}
check "each filtered mirror holds exactly what tcpdump -r selects from the unfiltered one" equivalent
sliced() {
    tshark -r "$WORK/sliced.pcapng" -T fields -e frame.cap_len -e frame.len 2>/dev/null >"$WORK/sliced.txt"
    local n big; n=$(grep -c . "$WORK/sliced.txt"); big=$(awk '$2 > $1' "$WORK/sliced.txt" | wc -l)
    local sel; sel=$(tcpdump -r "$WORK/all.pcapng" -nn "tcp and ether src 02:00:00:00:01:02" 2>/dev/null | wc -l)
    echo "sliced: $n copies (1 in 4 of $sel TCP frames received from vm2), $big of them cut (original length kept), captured lengths: $(cut -f1 "$WORK/sliced.txt" | sort -u | tr '\n' ' ')"
    awk '$1 > 64 || $1 > $2 {bad=1} END{exit bad}' "$WORK/sliced.txt" && [ "$big" -gt 0 ] && [ "$n" -ge $((sel / 4 - 1)) ] && [ "$n" -le $((sel / 4 + 1)) ]
}
check "snaplen 64 slices copies (original length kept in the pcapng), sample 1/4" sliced
tool_port() {
    sleep 1; kill -INT $TCPDUMP 2>/dev/null; wait $TCPDUMP 2>/dev/null
    local got want; got=$(tcpdump -r "$WORK/ids.pcap" -nn 2>/dev/null | wc -l)
    want=$(ivctl --json show mirrors | python3 -c 'import json,sys; m=[x for x in json.load(sys.stdin)["mirrors"] if x["name"]=="sliced"][0]; print([t for t in m["tools"] if "port" in t][0]["delivered"])')
    echo "tcpdump on the ids port captured $got frames; the broker delivered $want to it"
    [ "$got" = "$want" ] && [ "$got" -gt 0 ]
}
check "tool port: tcpdump in the ids namespace receives every copy delivered" tool_port
deleted() {
    local before; before=$(tcpdump -r "$WORK/f0.pcapng" -nn 2>/dev/null | wc -l)
    ivctl mirror del f0 || return 1
    in_vm vm2 iperf3 -s -1 -D -p 5201 >/dev/null 2>&1; sleep 0.5
    in_vm vm1 iperf3 -c 10.0.1.12 -p 5201 -t 1 -b 50M >/dev/null || return 1
    sleep 0.5
    local after; after=$(tcpdump -r "$WORK/f0.pcapng" -nn 2>/dev/null | wc -l)
    echo "f0 held $before frames before ivctl mirror del, $after after more TCP traffic"
    [ "$before" = "$after" ] && ! ivctl show mirrors | grep -q "^mirror f0 "
}
check "ivctl mirror del: the mirror stops at once" deleted
bad_add() {
    if ivctl mirror add bad --tap vm9 --filter "tcp" --pcapng "$WORK/x.pcapng" 2>"$WORK/err"; then return 1; fi
    cat "$WORK/err"; grep -q "tap port 'vm9'" "$WORK/err"
}
check "ivctl mirror add with a bad port is refused, nothing changed" bad_add
bad_filter() {
    if ivctl mirror add bad --tap vm1 --filter "tcp port" --pcapng "$WORK/x.pcapng" 2>"$WORK/err"; then return 1; fi
    cat "$WORK/err"; grep -q "syntax error" "$WORK/err"
}
check "ivctl mirror add with a bad filter is refused with libpcap's message" bad_filter
metrics_ok() {
    curl -sf "http://$METRICS/metrics" >"$WORK/m.txt" || return 1
    grep -E '^ivswitch_mirror_packets_total\{mirror="everything",what="copied"\} [1-9]' "$WORK/m.txt" &&
    grep -E '^ivswitch_mirror_delivered_total\{mirror="sliced",tool="port ids"\} [1-9]' "$WORK/m.txt"
}
check "/metrics: mirror packets and deliveries" metrics_ok
summary mirror
