#!/usr/bin/env bash
# Port security in namespaces: VMs that spoof addresses, MACs, ARP, a router or a DHCP
# server, and the flow-poisoning attack of issue 14, against real Linux stacks; tcpdump
# and the victims' own neighbour and route tables judge what got through.
#
#   vm1, vm2, vm3  configured VMs on network web (10.0.1.0/24): port security on
#   vm4            not configured (a learned host): port security off, as documented
#
# usage: portsec_test.sh BUILD_DIR
set -u
. "$(dirname "$0")/../../scripts/lib/netns_test.sh" portsec ivp "${1:-}"

SOCK="$WORK/ctl.sock"
METRICS=127.0.0.1:$((20000 + $$ % 20000))
cat >"$WORK/switch.yaml" <<YAML
switch: {instance: $P, control_socket: $SOCK, metrics_address: $METRICS}
ports:
  - {name: vm1, type: af_packet, interface: $P-vm1, network: web}
  - {name: vm2, type: af_packet, interface: $P-vm2, network: web}
  - {name: vm3, type: af_packet, interface: $P-vm3, network: web}
  - {name: vm4, type: af_packet, interface: $P-vm4, network: web}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
vms:
  - {name: vm1, port: vm1, mac: "02:00:00:00:01:01", ip: 10.0.1.11}
  - {name: vm2, port: vm2, mac: "02:00:00:00:01:02", ip: 10.0.1.12}
  - {name: vm3, port: vm3, mac: "02:00:00:00:01:03", ip: 10.0.1.13}
policy:
  default: drop
  rules:
    - {name: ping, protocol: icmp, action: allow}
    - {name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: allow}
YAML
netns_vm vm1 02:00:00:00:01:01 10.0.1.11/24 10.0.1.1
netns_vm vm2 02:00:00:00:01:02 10.0.1.12/24 10.0.1.1
netns_vm vm3 02:00:00:00:01:03 10.0.1.13/24 10.0.1.1
netns_vm vm4 02:00:00:00:01:04 10.0.1.14/24 10.0.1.1
start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log" || exit 1
ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }
# drops PORT REASON: the port's drop counter for one reason.
drops() { ivctl --json show ports | python3 -c "import json,sys; p=[x for x in json.load(sys.stdin)['ports'] if x['name']=='$1'][0]; print(p['drops'].get('$2', 0))"; }
for i in $(seq 1 50); do ivctl show ports | grep -q " down " || break; sleep 0.2; done

check "vm1 -> vm2: a VM's own address passes"   in_vm vm1 ping -c 3 -i 0.2 -W 2 10.0.1.12

second_address() {
    in_vm vm1 ip addr add 10.0.1.99/24 dev eth0
    in_vm_capture vm2 "$WORK/cap99.txt" tcpdump -l -n -i eth0 host 10.0.1.99 || return 1
    if in_vm vm1 ping -c 5 -i 0.2 -W 1 -I 10.0.1.99 10.0.1.12; then return 1; fi
    sleep 0.5; kill "$CAPTURE_PID"; wait "$CAPTURE_PID" 2>/dev/null
    in_vm vm1 ip addr del 10.0.1.99/24 dev eth0
    local d; d=$(( $(drops vm1 portsec.ip_not_allowed) + $(drops vm1 portsec.arp_spoofed) ))
    echo "     tcpdump in vm2 saw $(grep -c . "$WORK/cap99.txt") packets of 10.0.1.99; vm1's port dropped $d"
    [ "$(grep -c . "$WORK/cap99.txt")" = 0 ] && [ "$d" -ge 5 ]
}
check "vm1 sending from an address it was not given (10.0.1.99): nothing reaches vm2, drops counted" second_address

other_mac() {
    in_vm vm1 ip link set eth0 address 02:00:00:00:01:77
    local ok=1; in_vm vm1 ping -c 3 -i 0.2 -W 1 10.0.1.12 && ok=0
    in_vm vm1 ip link set eth0 address 02:00:00:00:01:01
    local d; d=$(drops vm1 portsec.mac_not_allowed); echo "     portsec.mac_not_allowed on vm1: $d"
    [ $ok = 1 ] && [ "$d" -ge 1 ]
}
check "vm1 with another MAC cannot send (portsec.mac_not_allowed)" other_mac

arp_spoof_eth0() {
    in_vm vm3 ping -c 1 -W 2 10.0.1.12 >/dev/null || return 1
    sleep 1.2  # past Linux's ARP locktime (1 s): a reply now would replace vm3's entry
    in_vm vm1 python3 "$HERE/spoof.py" arp eth0 02:00:00:00:01:01 10.0.1.12 10.0.1.13 || return 1
    sleep 0.3
    local n; n=$(in_vm vm3 ip neigh show 10.0.1.12); echo "     vm3's neighbour entry for vm2: $n"
    echo "$n" | grep -q "02:00:00:00:01:02" && [ "$(drops vm1 portsec.arp_spoofed)" -ge 3 ]
}
check "ARP spoofing: vm1 claims vm2's address; vm3 keeps vm2's MAC (portsec.arp_spoofed)" arp_spoof_eth0

poison() {
    # vm2 answers, as if it were vm3's database, the connection vm1 is about to open from
    # port 40000. Without port security this created a denied flow for vm1's 5-tuple.
    in_vm vm2 python3 "$HERE/spoof.py" synack eth0 02:00:00:00:01:02 02:00:00:00:01:01 10.0.1.13 5432 10.0.1.11 40000 || return 1
    in_vm vm3 python3 -c '
import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5432)); s.listen(1); s.settimeout(8); c, a = s.accept(); print("     vm3 accepted", a)' & local srv=$!
    sleep 0.5
    in_vm vm1 python3 -c '
import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 40000)); s.settimeout(4); s.connect(("10.0.1.13", 5432)); print("     vm1 connected from port 40000")' || { kill $srv; return 1; }
    wait $srv && [ "$(drops vm2 portsec.ip_not_allowed)" -ge 3 ]
}
check "flow poisoning: a spoofed SYN-ACK from vm2 as vm3 cannot block vm1's connection" poison

ra_guard() {
    in_vm vm3 sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.eth0.disable_ipv6=0 net.ipv6.conf.eth0.accept_ra=1
    sleep 1
    # vm3's IPv6 is up (its link-local address), so an RA that got through would be taken.
    in_vm vm3 ip -6 addr show dev eth0 scope link | grep -q "fe80::ff:fe00:103" || { echo "     IPv6 did not come up in vm3"; return 1; }
    in_vm vm2 python3 "$HERE/spoof.py" ra eth0 02:00:00:00:01:02 || return 1
    sleep 1
    local r; r=$(in_vm vm3 ip -6 route show default); echo "     vm3's IPv6 default route: ${r:-none}"
    [ -z "$r" ] && [ "$(drops vm2 portsec.ra_guard)" -ge 3 ]
}
check "RA guard: vm2's router advertisements never reach vm3 (no default route there)" ra_guard

dhcp_guard() {
    in_vm_capture vm3 "$WORK/dhcp.txt" tcpdump -l -n -i eth0 udp port 68 || return 1
    in_vm vm2 python3 "$HERE/spoof.py" dhcp eth0 02:00:00:00:01:02 10.0.1.12 || return 1
    sleep 0.5; kill "$CAPTURE_PID"; wait "$CAPTURE_PID" 2>/dev/null
    echo "     tcpdump in vm3 saw $(grep -c . "$WORK/dhcp.txt") DHCP server messages"
    [ "$(grep -c . "$WORK/dhcp.txt")" = 0 ] && [ "$(drops vm2 portsec.dhcp_guard)" -ge 3 ]
}
check "DHCP guard: vm2 answering as a DHCP server reaches no one" dhcp_guard

learned_host() {
    in_vm vm4 ip addr add 10.0.1.98/24 dev eth0
    in_vm vm4 ping -c 3 -i 0.2 -W 2 -I 10.0.1.98 10.0.1.12; local rc=$?
    in_vm vm4 ip addr del 10.0.1.98/24 dev eth0
    return $rc
}
check "a port without a configured VM (vm4) is not held to addresses (the stated default)" learned_host

views() {
    ivctl show port-security | tee "$WORK/ps.txt"
    grep -qE "^vm1 +on +vm1 +web +02:00:00:00:01:01 +10\.0\.1\.11 \+ fe80::ff:fe00:101" "$WORK/ps.txt" &&
    grep -qE "^vm4 +off" "$WORK/ps.txt" &&
    ivctl --json show port-security | python3 -c '
import json, sys
p = {x["port"]: x for x in json.load(sys.stdin)["ports"]}
sys.exit(0 if p["vm1"]["enabled"] and not p["vm4"]["enabled"] and p["vm2"]["drops"]["portsec.ra_guard"] >= 3 else 1)' &&
    curl -sf "http://$METRICS/metrics" >"$WORK/m.txt" &&
    grep -qE '^ivswitch_port_security_enabled\{port="vm1"\} 1$' "$WORK/m.txt" &&
    grep -qE '^ivswitch_port_security_enabled\{port="vm4"\} 0$' "$WORK/m.txt" &&
    grep -qE '^ivswitch_port_drops_total\{port="vm2",reason="portsec.dhcp_guard"\} [1-9]' "$WORK/m.txt"
}
check "ivctl show port-security (table and --json) and /metrics" views
summary portsec
