#!/usr/bin/env bash
# Packet broker end to end, with namespaces as VMs and as analysis hosts (af_packet ports);
# tshark, tcpdump and a pcap reader in Python judge what the switch emits:
#   remote tools: ERSPAN II, ERSPAN III and VXLAN copies of vm1's pings reach the
#     collector "col1"; tshark decodes each, and every inner frame equals, byte for byte,
#     a frame tcpdump saw on vm1's own interface;
#   a tool group of two ports (col2, col3) balanced by a symmetric flow hash: each of 17
#     TCP connections, both directions, lands at exactly one of them, both get some;
#   a flow tap (a policy match) takes both directions of the flows it selects, only those;
#   dedup: pings between two ports one mirror taps are copied once (duplicates counted),
#     twice with --no-dedup;
#   live capture: `ivctl capture vm1 icmp -c 6 | tshark -r -` shows 6 packets; when the
#     reader goes away (with or without traffic) the capture is removed;
#   a stalled capture reader (a slow tool) leaves iperf3's throughput within noise of
#     the runs without it (the best stalled run reaches the slowest free run), while the
#     copies it cannot take are counted; and the datapath's cost is judged by its own
#     counters too, which load on the machine does not blur: while the reader is stalled
#     the taps skip the copies (skipped_tools_full > 0), the copies made are bounded by
#     what the reader's buffers hold plus a ring in flight, and every eligible packet is
#     accounted for (issue 18, item 4);
#   a capture reader that resumes after a stall receives copies taken after it resumed.
# usage: broker_test.sh BUILD_DIR
set -u
. "$(dirname "$0")/../../scripts/lib/netns_test.sh" broker ivb "${1:-}"
SOCK="$WORK/ctl.sock"
METRICS="127.0.0.1:$((20000 + $$ % 20000))"
cat >"$WORK/switch.yaml" <<YAML
switch: {instance: $P, control_socket: $SOCK, metrics_address: "$METRICS"}
ports:
  - {name: vm1, type: af_packet, interface: $P-vm1, network: lan}
  - {name: vm2, type: af_packet, interface: $P-vm2, network: lan}
  - {name: col1, type: af_packet, interface: $P-col1, network: tools}
  - {name: col2, type: af_packet, interface: $P-col2, network: tools}
  - {name: col3, type: af_packet, interface: $P-col3, network: tools}
networks:
  - {name: lan, vlan: 10, subnet: 10.0.1.0/24}
  - {name: tools, vlan: 99, subnet: 192.168.99.0/24}
vms:
  - {name: vm1, port: vm1, mac: "02:00:00:00:01:01", ip: 10.0.1.11}
  - {name: vm2, port: vm2, mac: "02:00:00:00:01:02", ip: 10.0.1.12}
  - {name: collector, port: col1, mac: "02:00:00:00:09:01", ip: 192.168.99.1}
mirrors:
  - name: remote
    taps: [vm1]
    filter: icmp
    tools:
      - erspan: {version: 2, session: 5, remote_ip: 192.168.99.1, local_ip: 192.168.99.254, port: col1}
      - erspan: {version: 3, session: 6, remote_ip: 192.168.99.1, local_ip: 192.168.99.254, port: col1}
      - vxlan: {vni: 4242, remote_ip: 192.168.99.1, local_ip: 192.168.99.254, port: col1}
YAML
netns_vm vm1 02:00:00:00:01:01 10.0.1.11/24
netns_vm vm2 02:00:00:00:01:02 10.0.1.12/24
netns_vm col1 02:00:00:00:09:01 192.168.99.1/24
netns_vm col2 02:00:00:00:09:02 192.168.99.2/24
netns_vm col3 02:00:00:00:09:03 192.168.99.3/24
start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log" || exit 1
ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }
mirror_json() { ivctl --json show mirrors | python3 -c "import json,sys; print(json.dumps([m for m in json.load(sys.stdin)['mirrors'] if m['name']=='$1'][0]))"; }
sleep 0.5

# --- remote tools -----------------------------------------------------------------------
remote_tools() {
    in_vm_capture col1 "$WORK/col1.out" tcpdump -i eth0 -nn -U -w "$WORK/col1.pcap" || return 1
    local col1=$CAPTURE_PID
    in_vm_capture vm1 "$WORK/vm1.out" tcpdump -i eth0 -nn -U -w "$WORK/vm1.pcap" icmp || return 1
    local vm1=$CAPTURE_PID
    in_vm vm1 ping -c 5 -i 0.2 -W 1 -s 1472 10.0.1.12 >/dev/null || return 1
    sleep 1; kill -INT "$col1" "$vm1"; wait "$col1" "$vm1" 2>/dev/null
    ivctl show mirrors | grep -A6 "^mirror remote"
    echo "vm1's interface: $(tcpdump -r "$WORK/vm1.pcap" -nn 2>/dev/null | wc -l) ICMP frames"
    echo "tshark at col1: ERSPAN II / III / VXLAN with an inner ICMP packet:"
    local e2 e3 vx
    e2=$(tshark -r "$WORK/col1.pcap" -Y "erspan.version == 1 && erspan.spanid == 5 && icmp" 2>/dev/null | wc -l)
    e3=$(tshark -r "$WORK/col1.pcap" -Y "erspan.version == 2 && erspan.spanid == 6 && icmp" 2>/dev/null | wc -l)
    vx=$(tshark -r "$WORK/col1.pcap" -d udp.port==4789,vxlan -Y "vxlan.vni == 4242 && icmp" 2>/dev/null | wc -l)
    echo "  $e2 / $e3 / $vx (10 expected each: 5 requests, 5 replies of 1514 bytes, cut to fit 1500)"
    # Every inner frame is a frame vm1 sent or received (cut to fit the tunnel's 1500 bytes).
    python3 - "$WORK/col1.pcap" "$WORK/vm1.pcap" <<'PY' || return 1
import struct, sys
def frames(path):
    d = open(path, 'rb').read(); off = 24; out = []
    while off + 16 <= len(d):
        _, _, cap, _ = struct.unpack_from('<IIII', d, off); out.append(d[off + 16:off + 16 + cap]); off += 16 + cap
    return out
ref = frames(sys.argv[2])
inner = {'erspan2': [], 'erspan3': [], 'vxlan': []}
for f in frames(sys.argv[1]):
    if len(f) < 50 or f[12:14] != b'\x08\x00': continue
    if f[23] == 47:
        proto = f[36:38]
        if proto == b'\x88\xbe': inner['erspan2'].append(f[50:])
        elif proto == b'\x22\xeb': inner['erspan3'].append(f[54:])
    elif f[23] == 17 and f[36:38] == b'\x12\xb5':
        inner['vxlan'].append(f[50:])
bad = 0
for kind, fs in inner.items():
    match = sum(1 for x in fs if any(r[:len(x)] == x for r in ref))
    print(f"  {kind}: {len(fs)} inner frames, {match} equal to a frame seen on vm1's interface")
    bad |= len(fs) != 10 or match != len(fs)
sys.exit(bad)
PY
    [ "$e2" = 10 ] && [ "$e3" = 10 ] && [ "$vx" = 10 ]
}
CHECK_TAIL_OK=16 check "remote tools: ERSPAN II, III and VXLAN decode in tshark; inner frames equal the originals" remote_tools

# --- a load-balanced tool group ---------------------------------------------------------
group_balance() {
    ivctl mirror add lb --tap vm1:rx --tap vm2:rx --filter "tcp port 5201" \
        --tool '{"group": [{"port": "col2"}, {"port": "col3"}]}' >/dev/null || return 1
    in_vm_capture col2 "$WORK/col2.out" tcpdump -i eth0 -nn -U -w "$WORK/col2.pcap" || return 1
    local c2=$CAPTURE_PID
    in_vm_capture col3 "$WORK/col3.out" tcpdump -i eth0 -nn -U -w "$WORK/col3.pcap" || return 1
    local c3=$CAPTURE_PID
    in_vm vm2 iperf3 -s -1 -D -p 5201 >/dev/null 2>&1; sleep 0.5
    in_vm vm1 iperf3 -c 10.0.1.12 -p 5201 -t 1 -P 16 -b 1M >/dev/null || return 1
    sleep 1; kill -INT "$c2" "$c3"; wait "$c2" "$c3" 2>/dev/null
    ivctl show mirrors | grep -A5 "^mirror lb"
    for c in col2 col3; do
        tshark -r "$WORK/$c.pcap" -T fields -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport 2>/dev/null |
            awk -v c=$c '{ a=$1":"$2; b=$3":"$4; k=(a<b)?a" "b:b" "a; print k, c }' >>"$WORK/lb.txt"
    done
    python3 - "$WORK/lb.txt" <<'PY'
import collections, sys
at = collections.defaultdict(collections.Counter)
for line in open(sys.argv[1]):
    a, b, c = line.split(); at[(a, b)][c] += 1
split = [k for k, v in at.items() if len(v) > 1]
per = collections.Counter(next(iter(v)) for v in at.values() if len(v) == 1)
print(f"{len(at)} TCP connections (both directions): {dict(per)} each at one tool; split over two: {len(split)}")
sys.exit(1 if split or len(at) < 17 or len(per) < 2 else 0)
PY
}
check "tool group: each TCP connection (both directions) at exactly one of col2/col3, both used" group_balance

# --- dedup ------------------------------------------------------------------------------
dedup() {
    ivctl mirror add dd --tap vm1 --tap vm2 --filter icmp --pcapng "$WORK/dd.pcapng" >/dev/null || return 1
    ivctl mirror add nodd --no-dedup --tap vm1 --tap vm2 --filter icmp --pcapng "$WORK/nodd.pcapng" >/dev/null || return 1
    in_vm vm1 ping -c 5 -i 0.2 -W 1 10.0.1.12 >/dev/null || return 1
    sleep 0.5
    local dd nodd dups
    dd=$(tshark -r "$WORK/dd.pcapng" 2>/dev/null | wc -l); nodd=$(tshark -r "$WORK/nodd.pcapng" 2>/dev/null | wc -l)
    dups=$(mirror_json dd | python3 -c 'import json,sys; print(json.load(sys.stdin)["packets"]["duplicates"])')
    echo "10 ICMP packets between vm1 and vm2, both tapped: $dd copies with dedup ($dups duplicates counted), $nodd without"
    ivctl mirror del dd >/dev/null; ivctl mirror del nodd >/dev/null
    [ "$dd" = 10 ] && [ "$dups" = 10 ] && [ "$nodd" = 20 ]
}
check "dedup: a packet seen at two taps of one mirror is delivered once (twice with --no-dedup)" dedup

# --- a flow tap ---------------------------------------------------------------------------
flow_tap() {
    ivctl mirror add ft --flows '{"from": ["vm1"], "to": ["vm2"], "protocol": "icmp"}' --pcapng "$WORK/ft.pcapng" >/dev/null || return 1
    in_vm vm1 ping -c 3 -i 0.2 -W 1 10.0.1.12 >/dev/null || return 1   # selected: requests and replies
    in_vm vm2 ping -c 3 -i 0.2 -W 1 10.0.1.11 >/dev/null || return 1   # flows vm2 starts: not selected
    sleep 0.5
    ivctl show mirrors | grep -A1 "^mirror ft"
    tshark -r "$WORK/ft.pcapng" -T fields -e ip.src -e icmp.type 2>/dev/null | sort | uniq -c | tee "$WORK/ft.txt"
    ivctl mirror del ft >/dev/null
    [ "$(awk '$2=="10.0.1.11" && $3==8 {print $1}' "$WORK/ft.txt")" = 3 ] && [ "$(awk '$2=="10.0.1.12" && $3==0 {print $1}' "$WORK/ft.txt")" = 3 ] &&
        [ "$(grep -c . "$WORK/ft.txt")" = 2 ]
}
CHECK_TAIL_OK=6 check "flow tap (from vm1 to vm2, icmp): vm1's pings and their replies, not vm2's pings" flow_tap

# --- live capture -----------------------------------------------------------------------
live_capture() {
    (sleep 1.5; in_vm vm1 ping -c 5 -i 0.2 -W 1 10.0.1.12 >/dev/null) &
    local pinger=$!
    timeout 20 "$BUILD/ivctl" --socket "$SOCK" capture vm1 icmp -c 6 2>"$WORK/cap.err" |
        tshark -r - -T fields -e ip.src -e ip.dst -e icmp.type 2>/dev/null >"$WORK/cap.txt"
    wait $pinger
    cat "$WORK/cap.txt" "$WORK/cap.err"
    [ "$(grep -c . "$WORK/cap.txt")" = 6 ] && ! ivctl show mirrors | grep -q "live capture"
}
CHECK_TAIL_OK=8 check "ivctl capture vm1 icmp -c 6 | tshark -r -: 6 packets, then the capture is gone" live_capture
reader_leaves() {
    in_vm vm2 iperf3 -s -1 -D -p 5202 >/dev/null 2>&1; sleep 0.5
    in_vm vm1 iperf3 -c 10.0.1.12 -p 5202 -t 3 -b 20M >/dev/null &
    local ip=$!
    sleep 0.5
    timeout 20 "$BUILD/ivctl" --socket "$SOCK" capture vm2 2>"$WORK/cap2.err" | head -c 20000 >/dev/null
    local rc=${PIPESTATUS[0]}
    wait $ip
    cat "$WORK/cap2.err"
    echo "ivctl exit status $rc after head closed the pipe"
    [ "$rc" = 0 ] && ! ivctl show mirrors | grep -q "live capture"
}
check "capture with traffic: the reader (head -c) leaves, ivctl ends, the capture is removed" reader_leaves
idle_reader_leaves() {
    # No packet matches: the keep-alives carry the news that the reader left.
    timeout 20 "$BUILD/ivctl" --socket "$SOCK" capture vm2 "udp port 9" 2>/dev/null | (sleep 1; exit 0) &
    local pipe=$!
    sleep 0.5
    ivctl show mirrors | grep "live capture" || return 1
    wait $pipe
    local i
    for i in $(seq 1 50); do ivctl show mirrors | grep -q "live capture" || { echo "removed $((i * 100)) ms after the reader left"; return 0; }; sleep 0.1; done
    return 1
}
check "capture without traffic: the reader leaves, the capture is removed within seconds" idle_reader_leaves

# --- a slow tool ------------------------------------------------------------------------
throughput() {  # PORT -> Mbit/s of a 3 s TCP stream vm1 -> vm2
    in_vm vm2 iperf3 -s -1 -D -p "$1" >/dev/null 2>&1; sleep 0.5
    in_vm vm1 iperf3 -c 10.0.1.12 -p "$1" -t 3 -J | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))'
}
stalled_run() {  # PORT: throughput while a capture on vm2 has a reader that does not read
    timeout 30 "$BUILD/ivctl" --socket "$SOCK" capture vm2 2>/dev/null | (sleep 6; cat >/dev/null) &
    local pipe=$! mbps
    sleep 0.5
    mbps=$(throughput "$1")
    # The capture's counters, all taken while its reader was stalled (one line of JSON per run).
    ivctl --json show mirrors | python3 -c 'import json,sys; m=[x for x in json.load(sys.stdin)["mirrors"] if x["live_capture"]]; print(json.dumps({**m[0]["packets"], "tool": m[0]["tools"][0]}) if m else "{}")' >>"$WORK/stalled_counts"
    wait $pipe
    echo "$mbps"
}
slow_tool() {
    # Alternated, three of each. These 2-core machines vary by up to 45% run to run (CI
    # once measured 1972 and 1123 Mbit/s for the same run without a capture), so "within
    # noise" means: the best run with the stalled reader reaches the slowest run without
    # it (less 10%). A datapath that waited for the tool would stall iperf3 outright.
    local b1 s1 b2 s2 b3 s3
    b1=$(throughput 5301) && s1=$(stalled_run 5302) && b2=$(throughput 5303) && s2=$(stalled_run 5304) &&
        b3=$(throughput 5305) && s3=$(stalled_run 5306) || return 1
    echo "iperf3 vm1 -> vm2 (Mbit/s): without a capture $b1, $b2, $b3; with a stalled capture reader on vm2 $s1, $s2, $s3"
    python3 -c "import sys; b=min($b1,$b2,$b3); s=max($s1,$s2,$s3); sys.exit(0 if s >= 0.9*b else 1)" || return 1
    # What the datapath did for the stalled tool, from its own counters, which the
    # machine's load does not blur. Each run: copies it could not deliver are counted (not
    # delivered, broker behind, or not made at all); it stopped copying
    # (skipped_tools_full > 0); the copies it made are bounded, whatever the traffic: those
    # the stalled reader's buffers took (the capture's 4 MiB, the socket's and the pipe's:
    # at most 16 MiB delivered) plus at most a ring of copies in flight when the broker
    # said the tool was full (each datapath thread's ring of 4096 and a few broker bursts
    # not delivered; a datapath that copies every packet for a tool that takes none has
    # all but the first few thousand of them not delivered); and every eligible packet is
    # accounted for: copied, skipped or dropped (no filter, no sampling), every copy made
    # delivered or not delivered.
    local pmds
    pmds=$(ivctl --json show pmd | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["pmds"]))') || return 1
    python3 - "$WORK/stalled_counts" "$pmds" <<'PY'
import json, sys
ok = True
rings = int(sys.argv[2])  # one ring of 4096 copies to the broker per datapath thread
for line in open(sys.argv[1]):
    p = json.loads(line)
    if not p:
        print("the capture was gone before its counters were read"); ok = False; continue
    t = p["tool"]
    lost = t["errors"] + p["dropped_broker_behind"] + p["dropped_no_buffer"] + p["skipped_tools_full"]
    made = p["copied"]; elig = p["eligible"]
    print(f"  stalled run: eligible {elig}, copies made {made} ({100 * made / max(elig, 1):.1f}%), not made: tools full "
          f"{p['skipped_tools_full']}, broker behind {p['dropped_broker_behind']}, no buffer {p['dropped_no_buffer']}; "
          f"broker received {p['received_by_broker']}, delivered {t['delivered']}, not delivered {t['errors']}")
    ok &= lost > 0 and p["skipped_tools_full"] > 0 and elig > 1000
    ok &= made - t["delivered"] <= 4096 * rings + 256 and t["bytes"] <= 16 << 20
    # Every eligible packet accounted for. The counters are read while the capture still
    # taps (eligible first, the rest after it, per thread): the outcomes may run a few
    # packets ahead of eligible, never behind it.
    acc = made + p["skipped_tools_full"] + p["dropped_broker_behind"] + p["dropped_no_buffer"]
    ok &= elig <= acc <= elig + 256
    ok &= p["received_by_broker"] <= made and t["delivered"] + t["errors"] == p["received_by_broker"]
sys.exit(0 if ok else 1)
PY
}
CHECK_TAIL_OK=5 check "a stalled tool: switching throughput within noise, no copies made for it (counted), every packet accounted for" slow_tool

resumed_reader() {
    # A reader that stalls for 3 s, then reads for 5 s, while vm1 sends to vm2 from before
    # the stall ends to after it resumed. The capture backs up (copies skipped), and once
    # the reader reads, the broker's next round (at most 1 ms) lets the taps copy again:
    # records stamped after the reader resumed reach it.
    in_vm vm2 iperf3 -s -1 -D -p 5307 >/dev/null 2>&1; sleep 0.5
    timeout 30 "$BUILD/ivctl" --socket "$SOCK" capture vm2 2>/dev/null | python3 -c '
import sys, time
time.sleep(3)
with open(sys.argv[2], "w") as f: print(time.time(), file=f)
end = time.time() + 5
with open(sys.argv[1], "wb") as out:
    while time.time() < end:
        d = sys.stdin.buffer.read1(65536)
        if not d: break
        out.write(d)
' "$WORK/resumed.pcap" "$WORK/resumed.t" &
    local pipe=$!
    sleep 0.5
    in_vm vm1 iperf3 -c 10.0.1.12 -p 5307 -t 5 -b 300M >/dev/null || return 1
    ivctl --json show mirrors | python3 -c 'import json,sys; m=[x for x in json.load(sys.stdin)["mirrors"] if x["live_capture"]]; print(json.dumps(m[0]["packets"]) if m else "{}")' >"$WORK/resumed_counts"
    wait $pipe
    python3 - "$WORK/resumed.pcap" "$WORK/resumed.t" "$WORK/resumed_counts" <<'PY'
import json, struct, sys
d = open(sys.argv[1], "rb").read(); resumed = float(open(sys.argv[2]).read())
p = json.load(open(sys.argv[3]))
off, before, after = 24, 0, 0
while off + 16 <= len(d):
    s, ns, cap, _ = struct.unpack_from("<IIII", d, off); off += 16 + cap
    if s + ns / 1e9 > resumed + 0.1: after += 1
    else: before += 1
print(f"reader resumed after 3 s: {before} records taken before it resumed (buffered), {after} taken more than 0.1 s after; "
      f"copies skipped while it was stalled: {p.get('skipped_tools_full')}")
sys.exit(0 if p.get("skipped_tools_full", 0) > 0 and after >= 100 else 1)
PY
}
check "a capture reader that resumes after a stall receives copies again" resumed_reader

metrics_ok() {
    curl -sf "http://$METRICS/metrics" >"$WORK/m.txt" || return 1
    grep -E '^ivswitch_mirror_delivered_total\{mirror="remote",tool="erspan3 192.168.99.1 session 6 via port col1"\} [1-9]' "$WORK/m.txt" &&
    grep -E '^ivswitch_mirror_delivered_total\{mirror="lb",tool="group of 2 / port col[23]"\} [1-9]' "$WORK/m.txt" | head -2
}
check "/metrics: deliveries per remote tool and per group member" metrics_ok
summary broker
