#!/usr/bin/env bash
# Policy + flow cache end to end, with namespaces as VMs (af_packet ports):
#   vm1 (web, group apps) -> vm3 (db, group dbs): TCP 5432 allowed, TCP 22 rejected
#   (RST: the connection is refused at once), anything else dropped (default drop);
#   the reverse direction of an allowed connection needs no rule of its own; a new
#   connection from vm3 to vm1 is dropped; a reload that removes the rules cuts the
#   established 5432 stream (on_change: reevaluate) and keeps the 5433 one (persist);
#   ivctl show flows / show policy / trace / /metrics show all of it; trace --live follows
#   real pings and TCP connections through the switch and shows the real verdict and port.
# usage: policy_test.sh BUILD_DIR
set -u
. "$(dirname "$0")/../../scripts/lib/netns_test.sh" policy ivp "${1:-}"
SOCK="$WORK/ctl.sock"
write_config() {  # RULES-YAML
    cat >"$WORK/switch.yaml" <<YAML
switch: {instance: $P, control_socket: $SOCK, metrics_address: "127.0.0.1:$((20000 + $$ % 20000))"}
ports:
  - {name: vm1, type: af_packet, interface: $P-vm1, network: web}
  - {name: vm3, type: af_packet, interface: $P-vm3, network: db}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
  - {name: db, vlan: 20, subnet: 10.0.2.0/24, gateway: 10.0.2.1}
vms:
  - {name: vm1, port: vm1, mac: "02:00:00:00:01:01", ip: 10.0.1.11, labels: [tier=app]}
  - {name: vm3, port: vm3, mac: "02:00:00:00:02:03", ip: 10.0.2.13}
policy:
  default: drop
  groups:
    - {name: apps, labels: [tier=app]}
    - {name: dbs, vms: [vm3]}
  rules:
$1
YAML
}
RULES='    - {name: ping, protocol: icmp, action: allow}
    - {name: pg, from: apps, to: dbs, protocol: tcp, ports: [5432], action: allow}
    - {name: pg-replica, from: apps, to: dbs, protocol: tcp, ports: [5433], action: allow, on_change: persist}
    - {name: ssh, to: dbs, protocol: tcp, ports: [22], action: reject}'
write_config "$RULES"
netns_vm vm1 02:00:00:00:01:01 10.0.1.11/24 10.0.1.1
netns_vm vm3 02:00:00:00:02:03 10.0.2.13/24 10.0.2.1
start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log" || exit 1
ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }
STREAM="python3 $HERE/tcp_stream.py"
sleep 0.5

check "ping vm1 -> vm3 allowed by rule ping" in_vm vm1 ping -c 2 -i 0.2 -W 2 10.0.2.13
allowed_5432() {
    in_vm vm3 timeout 10 $STREAM server 5432 2 "$WORK/s5432.txt" & local s=$!
    sleep 0.4; in_vm vm1 $STREAM client 10.0.2.13 5432 2; wait $s
    echo "bytes per second at vm3: $(tr '\n' ' ' <"$WORK/s5432.txt")"; awk '{t+=$1} END{exit !(t>0)}' "$WORK/s5432.txt"
}
check "TCP vm1 -> vm3:5432 allowed (rule pg)" allowed_5432
rejected_22() {
    local t0=$(date +%s%N)
    if in_vm vm1 python3 -c 'import socket; socket.create_connection(("10.0.2.13", 22), timeout=3)' 2>"$WORK/err"; then echo "connected?"; return 1; fi
    local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    echo "$(tail -1 "$WORK/err") after ${ms} ms"; grep -q "refused" "$WORK/err" && [ "$ms" -lt 2000 ]
}
check "TCP vm1 -> vm3:22 rejected: connection refused at once (RST)" rejected_22
dropped_80() {
    if in_vm vm1 python3 -c 'import socket; socket.create_connection(("10.0.2.13", 80), timeout=1.5)' 2>"$WORK/err"; then return 1; fi
    tail -1 "$WORK/err"; grep -q "timed out" "$WORK/err"
}
check "TCP vm1 -> vm3:80 dropped by default (times out)" dropped_80
reverse_denied() {
    in_vm vm1 timeout 4 $STREAM server 5432 1 "$WORK/rev.txt" & local s=$!
    sleep 0.3
    if in_vm vm3 python3 -c 'import socket; socket.create_connection(("10.0.1.11", 5432), timeout=1.5)' 2>"$WORK/err"; then kill $s; return 1; fi
    kill $s 2>/dev/null; wait $s 2>/dev/null; tail -1 "$WORK/err"; grep -q "timed out" "$WORK/err"
}
check "a new connection vm3 -> vm1:5432 is dropped (no rule; only replies flow back)" reverse_denied

flows_ok() {
    ivctl show flows | tee "$WORK/flows.txt"
    grep -E "tcp .*10\.0\.1\.11:[0-9]+ +10\.0\.2\.13:5432 .*allowed +pg " "$WORK/flows.txt" >/dev/null &&
    grep -E "10\.0\.2\.13:22 .*rejected +ssh" "$WORK/flows.txt" >/dev/null &&
    ivctl --json show flows | python3 -c 'import json,sys; f=[x for x in json.load(sys.stdin)["flows"] if x["dst"].endswith(":5432") and x["state"]=="allowed"]; sys.exit(0 if f and f[0]["packets"]["reverse"] > 0 else 1)'
}
check "show flows: 5432 allowed by pg with reverse-direction packets; 22 rejected by ssh" flows_ok
trace_ok() {
    ivctl trace port=vm1 src=10.0.1.11 dst=10.0.2.13 proto=tcp dport=22 | tee "$WORK/trace.txt"
    grep -q "rule ssh" "$WORK/trace.txt" && grep -q "TCP RST" "$WORK/trace.txt" && grep -q "^result: sent on 1 port" "$WORK/trace.txt"
}
check "ivctl trace: a packet to vm3:22 meets rule ssh and is answered with a RST" trace_ok

# Live trace: the datapath thread polling vm1 traces the next packets as it forwards them.
live_ping() {
    ivctl trace --live vm1 icmp -c 2 --seconds 10 >"$WORK/live.txt" & local t=$!
    sleep 0.5
    in_vm vm1 ping -c 3 -i 0.2 -W 2 10.0.2.13 >/dev/null
    wait $t || return 1
    cat "$WORK/live.txt"
    grep -q "^live trace on port vm1 (filter 'icmp'): 2 of 2 packet(s)" "$WORK/live.txt" &&
    [ "$(grep -c "icmp 10.0.1.11 -> 10.0.2.13 type 8" "$WORK/live.txt")" = 2 ] &&
    [ "$(grep -c "^result: sent on 1 port(s): vm3 (flow allowed)" "$WORK/live.txt")" = 2 ] &&
    grep -q "flow cache hit: allowed by rule ping" "$WORK/live.txt"
}
check "trace --live: 2 real pings vm1 -> vm3 traced as forwarded: rule ping, out on vm3" live_ping
live_tcp() {  # a new connection each: allowed (through the policy thread), rejected, denied
    local port want
    for port in 5432 22 80; do
        "$BUILD/ivctl" --socket "$SOCK" --json trace --live vm1 "tcp dst port $port" -c 1 --seconds 10 >"$WORK/live-$port.json" & local t=$!
        sleep 0.5
        in_vm vm3 timeout 3 $STREAM server 5432 1 /dev/null >/dev/null 2>&1 & local s=$!
        sleep 0.3
        in_vm vm1 python3 -c "import socket,sys; socket.create_connection(('10.0.2.13', $port), timeout=1).close()" 2>/dev/null
        wait $t || return 1
        kill $s 2>/dev/null; wait $s 2>/dev/null
    done
    python3 - "$WORK" <<'PY'
import json, sys
ok = True
for port, verdict, result, rule in [(5432, "allowed", "sent on 1 port(s): vm3", "pg"), (22, "rejected", "sent on 1 port(s): vm1", "ssh"),
                                    (80, "denied", "dropped: policy.denied", "(default)")]:
    v = json.load(open(f"{sys.argv[1]}/live-{port}.json"))
    p = v["packets"][0] if v["packets"] else {}
    steps = {(s["stage"], s["event"]): s for s in p.get("steps", [])}
    back = steps.get(("policy", "reinjected"), {}).get("fields", {})
    print(f"tcp {port}: {p.get('summary')} -> {p.get('result')} (verdict {p.get('verdict')}, rule {back.get('rule')}, epoch {back.get('epoch')})")
    ok &= (v["traced"] == 1 and ("policy", "upcall") in steps and back.get("rule") == rule and p["verdict"] == verdict
           and p["result"] == result and "[S]" in p["summary"])
sys.exit(0 if ok else 1)
PY
}
check "trace --live (JSON): real TCP SYNs to 5432 / 22 / 80 traced through the policy thread: allowed to vm3, RST to vm1, denied" live_tcp
live_timeout() {
    local t0=$(date +%s%N)
    ivctl trace --live vm1 "udp port 9" -c 1 --seconds 1 | tee "$WORK/live-to.txt"
    local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    grep -q "0 of 1 packet(s) in .* (timed out)" "$WORK/live-to.txt" && [ "$ms" -lt 4000 ]
}
check "trace --live: nothing matching within --seconds ends with '(timed out)'" live_timeout

# Reload while two streams run: 5432 (reevaluate) must stop, 5433 (persist) must go on.
reload_cuts_and_persists() {
    in_vm vm3 timeout 15 $STREAM server 5432 6 "$WORK/r5432.txt" & local s1=$!
    in_vm vm3 timeout 15 $STREAM server 5433 6 "$WORK/r5433.txt" & local s2=$!
    sleep 0.4
    in_vm vm1 $STREAM client 10.0.2.13 5432 6 & local c1=$!
    in_vm vm1 $STREAM client 10.0.2.13 5433 6 & local c2=$!
    sleep 2
    write_config '    - {name: ping, protocol: icmp, action: allow}
    - {name: dns, protocol: udp, ports: [53], action: allow}
    - {name: ntp, protocol: udp, ports: [123], action: allow}'
    ivctl policy reload || return 1
    wait $s1 $s2; kill $c1 $c2 2>/dev/null; wait $c1 $c2 2>/dev/null
    echo "5432 (reevaluate) bytes/s: $(tr '\n' ' ' <"$WORK/r5432.txt")"
    echo "5433 (persist)    bytes/s: $(tr '\n' ' ' <"$WORK/r5433.txt")"
    # seconds 0-1 before the reload carry data for both; seconds 4-5 only for 5433
    awk 'NR<=2{b+=$1} NR>=5{a+=$1} END{exit !(b>0 && a==0)}' "$WORK/r5432.txt" &&
    awk 'NR<=2{b+=$1} NR>=5{a+=$1} END{exit !(b>0 && a>0)}' "$WORK/r5433.txt"
}
check "reload: the reevaluate stream is cut, the persist stream keeps going" reload_cuts_and_persists
# The persisted flow keeps epoch 1's rule index (2, pg-replica), which epoch 2 gives to
# ntp: show flows must say the rule is an older policy's, never name ntp.
persisted_rule_shown() {
    ivctl show flows | tee "$WORK/flows.txt" | grep ':5433 ' || return 1
    ivctl --json show flows | python3 -c '
import json, sys
f = [f for f in json.load(sys.stdin)["flows"] if f["dst"].endswith(":5433")]
print([(x["rule"], x.get("rule_of_older_policy"), x["epoch"], x["persisted"]) for x in f])
sys.exit(not (f and all(x["rule"] == "#2" and x["rule_of_older_policy"] and x["epoch"] == 2 and x["persisted"] for x in f)))' &&
    grep ':5433 ' "$WORK/flows.txt" | grep -q "#2 (older policy's)" && ! grep ':5433 ' "$WORK/flows.txt" | grep -q ntp
}
check "show flows: the persisted flow's rule is shown as epoch 1's #2, an older policy's (not ntp), human and --json" persisted_rule_shown
policy_view() { ivctl show policy | tee "$WORK/pol.txt"; grep -q "^epoch 2 " "$WORK/pol.txt"; }
check "show policy: epoch 2 with its convergence time" policy_view
bad_reload() {
    write_config '    - {name: x, protocol: tcp, ports: [22], action: maybe}'
    if ivctl policy reload 2>"$WORK/err"; then return 1; fi
    cat "$WORK/err"; grep -q "switch.yaml:[0-9]*: " "$WORK/err" && ivctl show policy | grep -q "^epoch 2 "
}
check "an invalid reload is refused with FILE:LINE errors and changes nothing" bad_reload
metrics_ok() {
    curl -sf "http://127.0.0.1:$((20000 + $$ % 20000))/metrics" >"$WORK/m.txt" || return 1
    grep -E '^ivswitch_policy_epoch 2$' "$WORK/m.txt" && grep -E '^ivswitch_port_drops_total\{port="vm1",reason="policy.denied"\} [1-9]' "$WORK/m.txt" &&
    grep -E '^ivswitch_flow_entries [0-9]+' "$WORK/m.txt" &&
    grep -E '^ivswitch_events_total\{event="trace.live.packets"\} 5$' "$WORK/m.txt" &&
    grep -E '^ivswitch_events_total\{event="trace.live.records_lost"\} 0$' "$WORK/m.txt"
}
check "/metrics: epoch, policy drops, flow entries, live-traced packets (5) and lost records (0)" metrics_ok
# The autovalidator (on under every namespace suite, unless IVS_AUTOVALIDATOR=0): its
# counters in /metrics and show policy, and it has checked this suite's cache hits.
autovalidator_views() {
    grep -E '^ivswitch_autovalidator_total\{kind="(checked|mismatch|sampled|ring_full|stale)"\} [0-9]+$' "$WORK/m.txt" | sort &&
    grep -qE '^ivswitch_autovalidator_total\{kind="checked"\} [1-9]' "$WORK/m.txt" &&
    [ "$(grep -c '^ivswitch_autovalidator_total' "$WORK/m.txt")" = 5 ] &&
    ivctl show policy | grep '^autovalidator (test mode): checked=[1-9]'
}
[ "${IVS_AUTOVALIDATOR:-1}" = 0 ] || check "autovalidator: counters in /metrics and show policy" autovalidator_views
summary policy
