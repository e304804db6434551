#!/usr/bin/env bash
# The ethertypes job (docs/ethertypes.md) on real traffic: namespaces as VMs on af_packet
# ports, a ping, an arping, an IPv6 ping, raw LLDP frames and a tagged ping on a trunk;
# each step's counts (the difference of `ivctl --json show ethertypes` before and after)
# judged against what was sent, the samples' MACs against the senders', and /metrics
# against the JSON and through promtool. Needs root. Cleans up everything it starts.
#
#   vm1, vm2  network web (VLAN 10), access ports
#   vm5       trunk port (web), its address on eth0.10
#
# usage: ethertypes_test.sh BUILD_DIR
set -u
. "$(dirname "$0")/../../scripts/lib/netns_test.sh" ethertypes ivet "${1:-}"
for t in arping promtool curl; do
    command -v $t >/dev/null || { echo "ethertypes: $t not installed (scripts/install-deps.sh)"; echo "ethertypes: 0 passed, 1 failed"; exit 1; }
done

SOCK="$WORK/ctl.sock"
METRICS=127.0.0.1:$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/switch.yaml" <<YAML
switch: {instance: $P, control_socket: $SOCK, metrics_address: "$METRICS", hugepages: "off"}
ports:
  - {name: vm1, type: af_packet, interface: $P-vm1, network: web}
  - {name: vm2, type: af_packet, interface: $P-vm2, network: web}
  - {name: vm5, type: af_packet, interface: $P-vm5, trunk: [web]}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
vms:
  - {name: vm1, port: vm1, mac: "02:00:00:00:01:01", ip: 10.0.1.11, allowed_addresses: ["fd00:10::11"]}
  - {name: vm2, port: vm2, mac: "02:00:00:00:01:02", ip: 10.0.1.12, allowed_addresses: ["fd00:10::12"]}
ethertypes: {sample_every: 2, max_entries: 64}
YAML
netns_vm vm1 02:00:00:00:01:01 10.0.1.11/24 10.0.1.1
netns_vm vm2 02:00:00:00:01:02 10.0.1.12/24 10.0.1.1
netns_vm vm5 02:00:00:00:01:05 10.0.1.15/24 10.0.1.1 10; VLAN_RC=$?
# IPv6 (off in netns_vm's namespaces): on eth0 of vm1 and vm2, no DAD, no router solicitations.
for vm in vm1 vm2; do
    in_vm $vm sysctl -qw net.ipv6.conf.eth0.router_solicitations=0 net.ipv6.conf.eth0.disable_ipv6=0
done
in_vm vm1 ip -6 addr add fd00:10::11/64 dev eth0 nodad
in_vm vm2 ip -6 addr add fd00:10::12/64 dev eth0 nodad
start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log" || exit 1
ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }
for i in $(seq 1 50); do
    [ "$(ivctl --json show ports | python3 -c 'import json,sys; print(all(p["link"]=="up" for p in json.load(sys.stdin)["ports"]))')" = True ] && break
    sleep 0.2
done
sleep 1  # let the namespaces' own start-up frames (MLD reports) pass before the first snapshot

snap() { ivctl --json show ethertypes >"$WORK/$1.json"; }
# delta BEFORE AFTER PORT VLAN ETHERTYPE FIELD: the entry's growth between two snapshots.
delta() {
    python3 - "$WORK/$1.json" "$WORK/$2.json" "$3" "$4" "$5" "$6" <<'PY'
import json, sys
a, b, port, vlan, et, field = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), *sys.argv[3:]
def get(v):
    return next((e[field] for e in v["entries"] if (e["port"], e["vlan"], e["ethertype"]) == (port, vlan, et)), 0)
print(get(b) - get(a))
PY
}
# expect WHAT GOT LOW HIGH
expect() { echo "$1: $2 (expected $3..$4)"; [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; }

snap s0
in_vm vm1 ping -c 5 -i 0.2 -W 2 10.0.1.12 >/dev/null; PING_RC=$?
sleep 0.3; snap s1
check "ping vm1 -> vm2 passes (the job changes and drops nothing)" test $PING_RC = 0
check "IPv4 on vm1: the 5 echo requests, 98 bytes each" \
    eval 'expect frames "$(delta s0 s1 vm1 untagged 0x0800 frames)" 5 5 && expect bytes "$(delta s0 s1 vm1 untagged 0x0800 bytes)" 490 490'
check "IPv4 on vm2: the 5 echo replies" expect frames "$(delta s0 s1 vm2 untagged 0x0800 frames)" 5 5

in_vm vm1 arping -c 4 -w 5 -I eth0 10.0.1.12 >/dev/null; ARPING_RC=$?
sleep 0.3; snap s2
check "arping vm1 -> vm2 answered" test $ARPING_RC = 0
# arping's 4 requests; the kernel may add one of its own (a neighbour probe).
check "ARP on vm1: arping's 4 requests (42 bytes)" \
    eval 'expect frames "$(delta s1 s2 vm1 untagged 0x0806 frames)" 4 5 && expect bytes "$(delta s1 s2 vm1 untagged 0x0806 bytes)" 168 210'
check "ARP on vm2: the 4 replies" expect frames "$(delta s1 s2 vm2 untagged 0x0806 frames)" 4 5

in_vm vm1 ping -6 -c 5 -i 0.2 -W 2 fd00:10::12 >/dev/null; PING6_RC=$?
sleep 0.3; snap s3
ping6_ok() { [ $PING6_RC = 0 ] || { ivctl --json show stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["drops"])'; false; }; }
check "IPv6 ping vm1 -> vm2 passes" ping6_ok
# 5 echo requests of 118 bytes, plus neighbour discovery and MLD reports (a few).
check "IPv6 on vm1: the 5 echo requests and a little neighbour discovery" \
    eval 'expect frames "$(delta s2 s3 vm1 untagged 0x86dd frames)" 5 9 && expect bytes "$(delta s2 s3 vm1 untagged 0x86dd bytes)" 590 1100'

# Three LLDP frames (link-local: the switch drops them), sent raw from vm1.
in_vm vm1 python3 -c '
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(("eth0", 0))
f = bytes.fromhex("0180c200000e" "020000000101" "88cc") + bytes(46)
for _ in range(3): s.send(f)'
sleep 0.3; snap s4
check "LLDP on vm1: the 3 raw frames, 60 bytes each, counted though the switch drops them" \
    eval 'expect frames "$(delta s3 s4 vm1 untagged 0x88cc frames)" 3 3 && expect bytes "$(delta s3 s4 vm1 untagged 0x88cc bytes)" 180 180'
lldp_sample() {
    python3 - "$WORK/s4.json" <<'PY'
import json, sys
e = next(e for e in json.load(open(sys.argv[1]))["entries"] if (e["port"], e["vlan"], e["ethertype"]) == ("vm1", "untagged", "0x88cc"))
s = e["last_sample"]; print(e["name"], e["samples"], s)
sys.exit(0 if e["name"] == "LLDP" and e["samples"] == 2 and s["src"] == "02:00:00:00:01:01" and s["dst"] == "01:80:c2:00:00:0e"
         and s["frame_len"] == 60 and s["head"].startswith("0180c200000e02000000010188cc") else 1)
PY
}
check "LLDP sample: 2 of 3 with 1 in 2, MACs and first bytes of the frame sent" lldp_sample

if [ "$VLAN_RC" = 2 ]; then
    echo "skip tagged frames: this kernel cannot create VLAN devices (no 8021q module)"
else
    in_vm vm5 ping -c 5 -i 0.2 -W 2 10.0.1.12 >/dev/null; PING5_RC=$?
    sleep 0.3; snap s5
    check "tagged ping vm5 (eth0.10) -> vm2 passes" test $PING5_RC = 0
    check "IPv4 on trunk vm5 in VLAN 10: 5 requests of 102 bytes (tag included, as received)" \
        eval 'expect frames "$(delta s4 s5 vm5 10 0x0800 frames)" 5 5 && expect bytes "$(delta s4 s5 vm5 10 0x0800 bytes)" 510 510'
    check "nothing untagged IPv4 counted on the trunk" expect frames "$(delta s4 s5 vm5 untagged 0x0800 frames)" 0 0
fi

show_ok() { ivctl show ethertypes | tee "$WORK/show.txt"; grep -q "vm1 .*untagged .*0x88cc .*LLDP .*3 " "$WORK/show.txt"; }
check "ivctl show ethertypes: the table" show_ok
metrics_ok() {
    snap s6
    curl -sf "http://$METRICS/metrics" >"$WORK/metrics.txt" || return 1
    local want; want=$(python3 -c 'import json,sys; print(next(e["frames"] for e in json.load(open(sys.argv[1]))["entries"] if (e["port"],e["vlan"],e["ethertype"])==("vm1","untagged","0x0800")))' "$WORK/s6.json")
    grep '^ivswitch_ethertype_frames_total{port="vm1",vlan="untagged",ethertype="0x0800"}' "$WORK/metrics.txt"
    grep -q "^ivswitch_ethertype_frames_total{port=\"vm1\",vlan=\"untagged\",ethertype=\"0x0800\"} $want\$" "$WORK/metrics.txt" &&
    grep -q '^ivswitch_ethertype_overflow_frames_total{port="vm1"} 0$' "$WORK/metrics.txt"
}
check "/metrics: ivswitch_ethertype_frames_total as in the JSON" metrics_ok
lint() { local out; out=$(promtool check metrics <"$WORK/metrics.txt" 2>&1); local rc=$?; echo "promtool: rc=$rc ${out:-no problems}"; [ $rc = 0 ] && [ -z "$out" ]; }
check "promtool check metrics: no problem" lint

clean_stop() { stop_switch || { echo "exit status $?"; cat "$WORK/ivswitchd.log"; return 1; }; }
check "SIGTERM: clean exit" clean_stop
summary ethertypes
