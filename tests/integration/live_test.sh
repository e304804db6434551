#!/usr/bin/env bash
# VMs that join, move and leave a running switch by reload (issue 19, first step), while
# two untouched VMs keep a ping (every 50 ms) and an iperf3 stream running: their loss
# is measured and must be nil.
#
#   vm1, vm2   configured from the start, pinging each other throughout
#   vm3        a namespace on port vm3 (port security on, no VM configured yet): refused
#              until a reload adds it, then moved to port vm4 (its second interface),
#              then removed: it can no longer send with its static MAC
#
# usage: live_test.sh BUILD_DIR
set -u
. "$(dirname "$0")/../../scripts/lib/netns_test.sh" live ivl "${1:-}"

SOCK="$WORK/ctl.sock"
METRICS=127.0.0.1:$((20000 + $$ % 20000))
VM1='  - {name: vm1, port: vm1, mac: "02:00:00:00:01:01", ip: 10.0.1.11}'
VM2='  - {name: vm2, port: vm2, mac: "02:00:00:00:01:02", ip: 10.0.1.12}'
# write_config VMS [VM4_MTU]: the file with these VM lines (and port vm4's mtu).
write_config() {
    cat >"$WORK/switch.yaml" <<YAML
switch: {instance: $P, control_socket: $SOCK, metrics_address: $METRICS}
ports:
  - {name: vm1, type: af_packet, interface: $P-vm1, network: web}
  - {name: vm2, type: af_packet, interface: $P-vm2, network: web}
  - {name: vm3, type: af_packet, interface: $P-vm3, network: web, port_security: true}
  - {name: vm4, type: af_packet, interface: $P-mv, network: web, port_security: true, mtu: ${2:-1500}}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
vms:
$1
policy:
  default: allow
YAML
}
write_config "$VM1
$VM2"
netns_vm vm1 02:00:00:00:01:01 10.0.1.11/24 10.0.1.1
netns_vm vm2 02:00:00:00:01:02 10.0.1.12/24 10.0.1.1
netns_vm vm3 02:00:00:00:01:03 10.0.1.13/24 10.0.1.1
# vm3's second interface (switch side $P-mv, port vm4): where it moves to, down until then.
netns_leg vm3 mv 02:00:00:00:01:03 10.0.1.13/24
in_vm vm3 ip link set mv down
start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log" || exit 1
ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }
drops() { ivctl --json show ports | python3 -c "import json,sys; p=[x for x in json.load(sys.stdin)['ports'] if x['name']=='$1'][0]; print(p['drops'].get('$2', 0))"; }
# fdb_port MAC: the port of MAC's entry and its type ("vm3 static"), or nothing.
fdb_port() { ivctl --json show fdb | python3 -c "import json,sys; [print(e['port'], e['type']) for e in json.load(sys.stdin)['entries'] if e['mac']=='$1']"; }
epoch() { ivctl --json show policy | python3 -c "import json,sys; print(json.load(sys.stdin)['epoch'])"; }
# reload: ivctl policy reload, its answer kept in $WORK/reload.txt (human) and checked.
reload() {
    ivctl policy reload | tee "$WORK/reload.txt" || return 1
    grep -qE "^epoch [0-9]+ in force after [0-9.]+ ms \([0-9]+ rules, [0-9]+ VMs\)" "$WORK/reload.txt"
}
for i in $(seq 1 50); do ivctl show ports | grep -q " down " || break; sleep 0.2; done

check "vm1 -> vm2 before any change" in_vm vm1 ping -c 3 -i 0.2 -W 2 10.0.1.12

# The untouched VMs' traffic, throughout the changes below: a ping every 50 ms and an
# iperf3 TCP stream, vm1 -> vm2.
in_vm vm2 iperf3 -s -1 -p 5201 >"$WORK/iperf-s.txt" 2>&1 & IPERF_S=$!
sleep 0.5
in_vm vm1 ping -i 0.05 -c 600 -W 1 10.0.1.12 >"$WORK/ping.txt" 2>&1 & PING=$!
in_vm vm1 iperf3 -c 10.0.1.12 -p 5201 -t 28 -i 1 -b 200M >"$WORK/iperf.txt" 2>&1 & IPERF=$!
sleep 1

not_yet() {
    local d0; d0=$(drops vm3 portsec.mac_not_allowed)
    if in_vm vm3 ping -c 3 -i 0.2 -W 1 10.0.1.11 >/dev/null; then return 1; fi
    local d; d=$(drops vm3 portsec.mac_not_allowed); echo "     portsec.mac_not_allowed on port vm3: $d0 -> $d"
    [ "$d" -gt "$d0" ] && [ -z "$(fdb_port 02:00:00:00:01:03 | grep static)" ]
}
check "vm3 before it is configured: port vm3 (port security on, no VM) drops its frames" not_yet

VM3='  - {name: vm3, port: vm3, mac: "02:00:00:00:01:03", ip: 10.0.1.13}'
joins() {
    write_config "$VM1
$VM2
$VM3"
    reload || return 1
    # (the refused pings above left vm3's kernel a FAILED neighbour entry for vm1, which
    # it may answer 'unreachable' from for a while without asking again)
    in_vm vm3 ip neigh flush all
    in_vm vm3 ping -c 3 -i 0.2 -W 2 10.0.1.11 || return 1
    local f; f=$(fdb_port 02:00:00:00:01:03); echo "     vm3's MAC: $f"
    [ "$f" = "vm3 static" ] && ivctl show fdb | grep -E "10\.0\.1\.13 +02:00:00:00:01:03 +static" &&
        ivctl show port-security | grep -E "^vm3 +on +vm3 +web +02:00:00:00:01:03"
}
check "vm3 added by reload: the answer gives the epoch and the time, vm3 pings vm1, its static MAC and IP are in" joins

moves() {
    # The guest moves to its other interface (port vm4): refused there until the reload
    # says so (its static MAC is vm3's port's).
    in_vm vm3 ip link set eth0 down
    in_vm vm3 ip link set mv up
    in_vm vm3 ip neigh flush all
    if in_vm vm3 ping -c 2 -i 0.2 -W 1 10.0.1.11 >/dev/null; then echo "     vm3 passed on port vm4 before the move"; return 1; fi
    write_config "$VM1
$VM2
${VM3/port: vm3/port: vm4}"
    reload || return 1
    in_vm vm3 ping -c 3 -i 0.2 -W 2 10.0.1.11 || return 1
    in_vm vm1 ping -c 2 -i 0.2 -W 2 10.0.1.13 || return 1
    local f; f=$(fdb_port 02:00:00:00:01:03); echo "     vm3's MAC after the move: $f"
    [ "$f" = "vm4 static" ] && ivctl show port-security | grep -E "^vm4 +on +vm3 +web +02:00:00:00:01:03"
}
check "vm3 moved from port vm3 to port vm4 by reload: its static MAC and IP go with it" moves

bad_reload() {
    local e0; e0=$(epoch)
    write_config "$VM1
$VM2
${VM3/port: vm3/port: vm4}
  - {name: vm5, port: vm3, mac: \"02:00:00:00:01:05\", ip: 10.0.1.15}" 9000
    if ivctl policy reload 2>"$WORK/err"; then return 1; fi
    cat "$WORK/err"
    grep -q "port 'vm4' differs" "$WORK/err" && grep -q "nothing changed" "$WORK/err" &&
        [ "$(epoch)" = "$e0" ] && [ -z "$(fdb_port 02:00:00:00:01:05)" ] &&
        ! ivctl show port-security | grep -q vm5
}
check "a reload adding vm5 and changing port vm4's mtu is refused whole: vm5 not installed, epoch unchanged" bad_reload

leaves() {
    write_config "$VM1
$VM2" 1500
    # vm3 keeps sending through the reload (every 2 ms): frames the old port-security
    # checks still admitted while its static entries were being erased must not leave a
    # learned entry for its MAC behind (checked below with the other entries). The window
    # is short (from the entries' erase to port security's next checks published): with
    # the re-erase of Datapath::reload_policy disabled, 2 runs of this suite here did not
    # hit it, so this check catches the race only sometimes.
    in_vm vm3 ping -i 0.002 -W 1 10.0.1.11 >/dev/null 2>&1 & local busy=$!
    sleep 0.3
    reload || { kill $busy; return 1; }
    sleep 0.3; kill $busy; wait $busy 2>/dev/null
    sleep 0.2  # (the control thread applies queued learn events every 5 ms)
    local d0; d0=$(drops vm4 portsec.mac_not_allowed)
    if in_vm vm3 ping -c 3 -i 0.2 -W 1 10.0.1.11 >/dev/null; then return 1; fi
    local d; d=$(drops vm4 portsec.mac_not_allowed); echo "     portsec.mac_not_allowed on port vm4: $d0 -> $d"
    [ "$d" -gt "$d0" ] && [ -z "$(fdb_port 02:00:00:00:01:03)" ] && ! ivctl show fdb | grep -q "10\.0\.1\.13 .*static"
}
check "vm3 removed by reload: it can no longer send with its static MAC (port security), its entries are gone" leaves

untouched() {
    wait $PING; wait $IPERF; wait $IPERF_S 2>/dev/null
    tail -3 "$WORK/ping.txt"; grep -E "sender|receiver" "$WORK/iperf.txt"
    local sent recv
    sent=$(sed -nE 's/^([0-9]+) packets transmitted.*/\1/p' "$WORK/ping.txt")
    recv=$(sed -nE 's/.* ([0-9]+) received.*/\1/p' "$WORK/ping.txt")
    echo "     untouched vm1 -> vm2 ping: $recv of $sent answered ($((sent - recv)) lost) across $(grep -c 'in force' "$WORK/ivswitchd.log") reloads"
    # iperf3: every second carried data (no stall while VMs came and went).
    local zero; zero=$(awk '/sec .* bits\/sec/ && !/sender|receiver/ && $7+0 == 0 {n++} END{print n+0}' "$WORK/iperf.txt")
    echo "     iperf3 seconds without data: $zero"
    [ "$sent" = 600 ] && [ "$recv" = 600 ] && [ "$zero" = 0 ] && grep -q receiver "$WORK/iperf.txt"
}
check "the untouched VMs lost nothing: 600/600 pings (every 50 ms) and an iperf3 stream that never stalled" untouched

views() {
    grep -E "reload from .*: epoch [0-9]+ in force after [0-9.]+ ms" "$WORK/ivswitchd.log" | tail -3 &&
    ivctl --json policy reload | python3 -c '
import json, sys
v = json.load(sys.stdin); print("     --json:", v)
sys.exit(0 if v["applied"] and v["in_force_ms"] > 0 and v["vms"] == 2 and v["epoch"] >= 5 else 1)' &&
    curl -sf "http://$METRICS/metrics" >"$WORK/m.txt" &&
    grep -qE '^ivswitch_port_drops_total\{port="vm4",reason="portsec.mac_not_allowed"\} [1-9]' "$WORK/m.txt" &&
    grep -E '^ivswitch_reload_in_force_seconds ' "$WORK/m.txt" && grep -qE '^ivswitch_reload_in_force_seconds [0-9.e-]*[1-9]' "$WORK/m.txt" &&
    ivctl show policy | grep -E "^epoch [0-9]+ .*in force after [0-9.]+ ms"
}
check "the log, --json, show policy and /metrics give the reloads' epoch and time; /metrics counts the removed VM's drops" views
summary live
