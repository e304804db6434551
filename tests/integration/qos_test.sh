#!/usr/bin/env bash
# QoS guard end to end, with namespaces as VMs (af_packet ports), tshark as the judge:
#   vm1 must send EF (enforce): its pings marked CS1 (ping -Q) and an iperf3 stream marked
#   AF11 (-S) arrive at vm3 as EF, ECN bits unchanged, every IPv4 header checksum good;
#   vm2 must send AF21 (audit): its CS1 pings arrive unchanged, mismatches are counted
#   and listed by `ivctl show qos` (observed vs assigned);
#   vm3's port is shaped to 20 Mbit/s with a strict class for EF: a 5 Mbit/s EF stream
#   from vm1 keeps its rate and a short RTT while vm2 floods the bulk class (tail drops
#   counted per class);
#   vm4 is held to 5 Mbit/s by a meter (red and yellow dropped, counted);
#   a reload changes vm1's assignment for its established flow; /metrics and trace agree.
# The ports are split over two datapath threads (where there are two CPUs).
# usage: qos_test.sh BUILD_DIR
set -u
. "$(dirname "$0")/../../scripts/lib/netns_test.sh" qos ivq "${1:-}"
SOCK="$WORK/ctl.sock"
METRICS="127.0.0.1:$((20000 + $$ % 20000))"
write_config() {  # VM1_DSCP
    cat >"$WORK/switch.yaml" <<YAML
switch: {instance: $P, control_socket: $SOCK, metrics_address: "$METRICS", cores: [$CORES]}
ports:
  - {name: vm1, type: af_packet, interface: $P-vm1, network: lan, core: $CORE_A}
  - {name: vm2, type: af_packet, interface: $P-vm2, network: lan, core: $CORE_B}
  - {name: vm3, type: af_packet, interface: $P-vm3, network: lan, core: $CORE_A}
  - {name: vm4, type: af_packet, interface: $P-vm4, network: lan, core: $CORE_B}
networks:
  - {name: lan, vlan: 10, subnet: 10.0.1.0/24}
vms:
  - {name: vm1, port: vm1, mac: "02:00:00:00:01:01", ip: 10.0.1.11}
  - {name: vm2, port: vm2, mac: "02:00:00:00:01:02", ip: 10.0.1.12}
  - {name: vm3, port: vm3, mac: "02:00:00:00:01:03", ip: 10.0.1.13}
  - {name: vm4, port: vm4, mac: "02:00:00:00:01:04", ip: 10.0.1.14}
qos:
  assign:
    - {name: vm1-voice, from: vm1, dscp: $1}
    - {name: vm2-bulk, from: vm2, dscp: AF21, mode: audit}
    - {name: vm4-capped, from: vm4, dscp: CS1, meter: cap5}
  classes:
    - {name: voice, dscp: [EF, AF41], priority: 0}
    - {name: bulk, dscp: [AF21, CS1, AF11], weight: 1}
  meters:
    - {name: cap5, cir_kbit: 5000, pir_kbit: 5000, cbs_bytes: 16384, pbs_bytes: 16384, yellow: drop, red: drop}
  egress:
    - {port: vm3, rate_kbit: 20000, queue_packets: 64}
YAML
}
# Two datapath threads where the machine has two CPUs: vm1 and vm3 on one, vm2 and vm4 on
# the other, so that traffic crosses threads into vm3's scheduler (same QoS semantics).
CPUS=$(nproc); CORE_A=$((CPUS - 1)); CORE_B=$((CPUS > 1 ? CPUS - 2 : CPUS - 1))
CORES=$([ "$CORE_A" = "$CORE_B" ] && echo "$CORE_A" || echo "$CORE_B, $CORE_A")
write_config EF
for i in 1 2 3 4; do netns_vm vm$i 02:00:00:00:01:0$i 10.0.1.1$i/24; done
start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log" || exit 1
ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }
sleep 0.5
threads() { ivctl show pmd | tee "$WORK/pmd.txt"; [ "$CORE_A" = "$CORE_B" ] || [ "$(grep -cE '^ *[0-9]+ ' "$WORK/pmd.txt")" -ge 2 ]; }
check "datapath threads on CPUs $CORES (vm1, vm3 on $CORE_A; vm2, vm4 on $CORE_B)" threads

# capture FILE FILTER SECONDS: tshark in vm3's namespace, IPv4 checksums validated.
capture() {
    in_vm_capture vm3 "$1" tshark -i eth0 -a duration:"$3" -f "$2" -o ip.check_checksum:TRUE \
        -T fields -e ip.src -e ip.dsfield.dscp -e ip.dsfield.ecn -e ip.checksum.status
}
# vm1 pings with TOS 0x21 (CS1, ECN ECT(1)); vm3 must see EF (46), ECN 1, checksum good (1).
enforce_ping() {
    capture "$WORK/ping.txt" "icmp[icmptype] = icmp-echo" 4
    in_vm vm1 ping -c 6 -i 0.2 -W 1 -Q 0x21 10.0.1.13 >/dev/null
    wait $CAPTURE_PID
    cat "$WORK/ping.txt"
    [ "$(grep -c . "$WORK/ping.txt")" -ge 4 ] && awk '$2!=46 || $3!=1 || $4!=1 {bad=1} END{exit bad}' "$WORK/ping.txt"
}
check "enforce: vm1's pings marked CS1 (ping -Q 0x21) arrive as EF, ECN kept, checksum good" enforce_ping
enforce_iperf() {
    in_vm vm3 iperf3 -s -1 -D -p 5201 >/dev/null 2>&1; sleep 0.5
    capture "$WORK/tcp.txt" "tcp dst port 5201 and src host 10.0.1.11" 4
    in_vm vm1 iperf3 -c 10.0.1.13 -p 5201 -t 2 -S 0x28 -J >"$WORK/iperf.json" || return 1
    wait $CAPTURE_PID
    echo "$(grep -c . "$WORK/tcp.txt") TCP segments captured; DSCP values: $(cut -f2 "$WORK/tcp.txt" | sort | uniq -c | tr '\n' ' ')"
    [ "$(grep -c . "$WORK/tcp.txt")" -ge 20 ] && awk '$2!=46 || $4!=1 {bad=1} END{exit bad}' "$WORK/tcp.txt"
}
check "enforce: an iperf3 stream marked AF11 (-S 0x28) arrives as EF, every checksum good" enforce_iperf
audit_ping() {
    capture "$WORK/audit.txt" "icmp[icmptype] = icmp-echo and src host 10.0.1.12" 4
    in_vm vm2 ping -c 6 -i 0.2 -W 1 -Q 0x20 10.0.1.13 >/dev/null
    wait $CAPTURE_PID
    cat "$WORK/audit.txt"
    [ "$(grep -c . "$WORK/audit.txt")" -ge 4 ] && awk '$2!=8 || $4!=1 {bad=1} END{exit bad}' "$WORK/audit.txt"
}
check "audit: vm2's CS1 pings (AF21 assigned) arrive unchanged" audit_ping
show_qos() {
    ivctl show qos | tee "$WORK/qos.txt"
    ivctl --json show qos >"$WORK/qos.json"
    python3 - "$WORK/qos.json" <<'PY'
import json, sys
q = json.load(open(sys.argv[1]))
vm = {v["vm"]: v for v in q["vms"]}
assert vm["vm1"]["mismatched"] >= 5 and vm["vm1"]["rewritten"] >= 5, vm["vm1"]
assert vm["vm2"]["mismatched"] >= 5 and vm["vm2"]["rewritten"] == 0, vm["vm2"]
assert vm["vm2"]["seen"].get("CS1", 0) >= 5, vm["vm2"]
rows = [r for r in q["recent_mismatches"] if r["sender"] == "vm2"]
assert rows and rows[0]["observed"] == "CS1" and rows[0]["assigned"] == "AF21" and rows[0]["mode"] == "audit", rows
rows = [r for r in q["recent_mismatches"] if r["sender"] == "vm1" and r["proto"] == "tcp" and r["observed"] == "AF11"]
assert rows and rows[0]["assigned"] == "EF" and rows[0]["action"] == "rewritten" and rows[0]["mismatched_packets"] > 100, rows
PY
}
check "show qos: per-VM counts (seen by DSCP, mismatched, rewritten) and recent mismatching flows" show_qos

# Contention at vm3's port (shaped to 20 Mbit/s): vm2 floods 60 Mbit/s of AF21 (bulk);
# vm1 sends 5 Mbit/s of EF (voice, strict priority) and pings with EF, vm2 pings in bulk.
voice_drops() { ivctl --json show qos | python3 -c 'import json,sys; print([q["dropped"] for e in json.load(sys.stdin)["egress"] for q in e["queues"] if q["class"] == "voice"][0])'; }
contention() {
    voice_drops >"$WORK/voice_drops_before"
    in_vm vm3 iperf3 -s -1 -D -p 5202 >/dev/null 2>&1
    in_vm vm3 iperf3 -s -1 -D -p 5203 >/dev/null 2>&1; sleep 0.5
    in_vm vm2 iperf3 -c 10.0.1.13 -p 5202 -u -b 60M -l 1200 -t 6 -S 0x48 -J >"$WORK/bulk.json" 2>&1 & local b=$!
    sleep 1
    in_vm vm1 iperf3 -c 10.0.1.13 -p 5203 -u -b 5M -l 1200 -t 4 -J >"$WORK/voice.json" 2>&1 & local v=$!
    in_vm vm1 ping -c 15 -i 0.2 -W 1 10.0.1.13 >"$WORK/ping_voice.txt" 2>&1 & local p1=$!
    in_vm vm2 ping -c 15 -i 0.2 -W 1 -Q 0x48 10.0.1.13 >"$WORK/ping_bulk.txt" 2>&1 & local p2=$!
    wait $b $v $p1 $p2
    python3 - "$WORK" <<'PY'
import json, re, sys
w = sys.argv[1]
def udp(name):
    e = json.load(open(f"{w}/{name}.json"))["end"]["sum"]
    return e["bits_per_second"] / 1e6, e["lost_percent"]
def rtt(name):
    m = re.search(r"= [\d.]+/([\d.]+)/", open(f"{w}/{name}").read())
    loss = re.search(r"([\d.]+)% packet loss", open(f"{w}/{name}").read())
    return (float(m.group(1)) if m else float("inf")), float(loss.group(1)) if loss else 100.0
vb, vl = udp("voice"); bb, bl = udp("bulk")
(rv, lv), (rb, lb) = rtt("ping_voice.txt"), rtt("ping_bulk.txt")
print(f"voice (EF, strict): {vb * (100 - vl) / 100:.2f} of {vb:.2f} Mbit/s received at vm3 ({vl:.1f}% lost); ping avg {rv:.2f} ms, {lv:.0f}% lost")
print(f"bulk (AF21, weighted): {bb * (100 - bl) / 100:.2f} of {bb:.2f} Mbit/s received ({bl:.1f}% lost); ping avg {rb:.2f} ms, {lb:.0f}% lost")
ok = vl < 5 and bl > 40 and lv <= 10 and rv < rb
sys.exit(0 if ok else 1)
PY
    [ $? = 0 ] || return 1
    local before after; before=$(cat "$WORK/voice_drops_before"); after=$(voice_drops)
    echo "voice class tail drops at vm3 during the contention: $((after - before))"
    [ "$after" = "$before" ]
}
check "contention at vm3 (20 Mbit/s): the EF class keeps its rate and short RTT, the bulk class is dropped" contention
queue_drops() {
    ivctl --json show qos | python3 -c '
import json, sys
q = json.load(sys.stdin)
e = [x for x in q["egress"] if x["port"] == "vm3"][0]
c = {x["class"]: x for x in e["queues"]}
print("vm3 queues (queued, dropped):", {k: (v["queued_total"], v["dropped"]) for k, v in c.items()})
sys.exit(0 if c["bulk"]["dropped"] > 100 else 1)' &&
    ivctl show ports | grep -E "vm3: .*qos.queue.full=[1-9]"
}
check "tail drops counted per class and as qos.queue.full on vm3" queue_drops

metered() {
    in_vm vm1 iperf3 -s -1 -D -p 5204 >/dev/null 2>&1; sleep 0.5
    in_vm vm4 iperf3 -c 10.0.1.11 -p 5204 -u -b 20M -l 1200 -t 3 -J >"$WORK/meter.json" 2>&1 || return 1
    python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]["sum"]
r = e["bits_per_second"] / 1e6
lost = e["lost_percent"]
print(f"vm4 offered 20 Mbit/s, vm1 received {r * (100 - lost) / 100:.2f} Mbit/s ({lost:.0f}% lost); meter cir=pir=5 Mbit/s")
r = r * (100 - lost) / 100
sys.exit(0 if 3.5 < r < 6.5 else 1)' "$WORK/meter.json" &&
    ivctl --json show qos | python3 -c '
import json, sys
m = json.load(sys.stdin)["meters"][0]
print("meter cap5:", m["packets"], "dropped", m["dropped"])
sys.exit(0 if m["dropped"] > 1000 and m["packets"]["green"] > 1000 else 1)'
}
check "meter: vm4 offering 20 Mbit/s is held to 5 Mbit/s; drops counted" metered

trace_ok() {
    ivctl trace port=vm1 src=10.0.1.11 dst=10.0.1.13 proto=udp dport=9 dscp=CS1 ecn=2 | tee "$WORK/trace.txt"
    grep -q "qos .*DSCP seen CS1, assigned EF by 'vm1-voice' (enforce): rewritten to EF" "$WORK/trace.txt" &&
    grep -q "class voice: queued by class" "$WORK/trace.txt"
}
check "trace: DSCP seen/assigned/written and the class queue" trace_ok
metrics_ok() {
    curl -sf "http://$METRICS/metrics" >"$WORK/m.txt" || return 1
    grep -E '^ivswitch_qos_vm_mismatched_total\{vm="vm2"\} [1-9]' "$WORK/m.txt" &&
    grep -E '^ivswitch_qos_vm_packets_total\{vm="vm1",dscp="AF11"\} [1-9]' "$WORK/m.txt" &&
    grep -E '^ivswitch_qos_queue_dropped_total\{port="vm3",class="bulk"\} [1-9]' "$WORK/m.txt" &&
    grep -E '^ivswitch_qos_meter_dropped_total\{meter="cap5"\} [1-9]' "$WORK/m.txt"
}
check "/metrics: per-VM DSCP counts, mismatches, queue and meter drops" metrics_ok

reload_reassigns() {
    write_config AF41
    ivctl policy reload || return 1
    capture "$WORK/reload.txt" "icmp[icmptype] = icmp-echo and src host 10.0.1.11" 3
    in_vm vm1 ping -c 5 -i 0.2 -W 1 -Q 0x20 10.0.1.13 >/dev/null
    wait $CAPTURE_PID
    cat "$WORK/reload.txt"
    [ "$(grep -c . "$WORK/reload.txt")" -ge 3 ] && awk '$2!=34 || $4!=1 {bad=1} END{exit bad}' "$WORK/reload.txt"
}
check "reload: vm1's assignment changed to AF41 takes effect (flows revalidated)" reload_reassigns
restart_only() {
    sed -i 's/rate_kbit: 20000/rate_kbit: 30000/' "$WORK/switch.yaml"
    if ivctl policy reload 2>"$WORK/err"; then return 1; fi
    cat "$WORK/err"; grep -q "qos.egress differs" "$WORK/err"
}
check "reload refuses a change of qos.egress (restart needed), nothing changed" restart_only
summary qos
