#!/usr/bin/env bash
# The ivswitch demo: builds a small data centre on this machine and shows the switch at
# work. Installs what it needs, builds, runs, prints every check and what the switch
# counted, and removes everything it created (also on Ctrl-C).
#
# Policy (demo/topology.yaml): default drop; ping and iperf3 allowed; frontends (vm1) may
# reach databases (vm3) on TCP 5432; TCP 22 to databases is rejected.
#
#   vm1 10.0.1.11 --+                      +-- vm3 10.0.2.13
#                   |-- web (VLAN 10) --+  |
#   vm2 10.0.1.12 --+   gw 10.0.1.1     ivswitchd --- db (VLAN 20), gw 10.0.2.1
#   vm7 10.0.1.17 --+ (joins and leaves by reload, step 4b)
#                                          +-- vm4 10.0.2.14 (af_xdp port)
#   vm5 10.0.3.15 -- apps (VLAN 30) --+                 +-- data (VLAN 40) -- vm6 10.0.4.16
#                                     +-- fw (router + nftables, the gateway of both):
#                                         chain fw inspects TCP vm5 -> vm6, then the switch shortcuts it
# QoS: frontends (vm1) must mark AF21 (rewritten), databases (vm3) CS2 (audited); vm4's
# port is shaped to 20 Mbit/s with AF21 first; vm4 is metered to 5 Mbit/s.
# Mirrors: a mirror added at runtime takes the frontends -> databases SQL flows to a pcapng
# and, by ERSPAN III, to the collector namespace (col, 192.168.99.1, VLAN 99); a live
# capture (ivctl capture | tshark -r -).
# Channels: vm1 and vm3 each run a nested ivswitchd and ivagent; host daemons (ivctl
# channel) talk to them through the switch, each VM bound to its metadata id and VLAN.
#
# With --vms, one more step boots two real QEMU guests (Debian kernel, under TCG here) on
# vhost-user ports and shows ping, iperf3, a policy-refused connection, a guest restart
# and a switch restart (tests/vm/vm_test.sh; about a minute more), then the same guest
# started by libvirt (a private libvirtd: virsh define/start/destroy, the port down and up;
# tests/vm/libvirt_test.sh).
#
# usage: demo.sh [--vms]     (as root)
set -u
cd "$(dirname "$0")/.."
VMS=0
for a in "$@"; do case $a in --vms) VMS=1 ;; *) sed -n '2,30p' "$0"; exit 2 ;; esac; done
ROOT=$(pwd)
[ "$(id -u)" = 0 ] || { echo "demo: run as root (network namespaces)"; exit 2; }
./scripts/install-deps.sh || exit 1
echo "== building"
./scripts/build.sh release >/dev/null || exit 1
BIN=$ROOT/build/release
NETNS_PREFIX=ivd
. scripts/lib/netns.sh
WORK=$(mktemp -d /tmp/ivs-demo.XXXXXX)
trap '[ -n "${NFCAPD_PID:-}" ] && kill "$NFCAPD_PID" 2>/dev/null; netns_cleanup; rm -rf "$WORK"' EXIT
trap 'echo; echo "demo: interrupted, cleaning up"; exit 130' INT TERM

OK=0; BAD=0
step() { echo; echo "== $*"; }
check() {  # DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@" >"$WORK/out" 2>&1; then OK=$((OK + 1)); printf '  [ok]   %s\n' "$what"; sed 's/^/         /' "$WORK/out" | tail -"${CHECK_TAIL:-3}"
    else BAD=$((BAD + 1)); printf '  [FAIL] %s\n' "$what"; sed 's/^/         /' "$WORK/out" | tail -8; fi
}

step "1. a bad configuration is refused, every error with its line, nothing started"
echo "  \$ ivswitchd --config demo/bad.yaml"
"$BIN/ivswitchd" --config demo/bad.yaml 2>&1 | sed 's/^/  /'

step "2. topology: 6 namespaces as VMs, a firewall namespace and a collector, veth pairs, ivswitchd on af_packet/af_xdp ports"
sed "s/@P@/$NETNS_PREFIX/g" demo/topology.yaml >"$WORK/switch.yaml"
netns_vm vm1 02:00:00:00:01:01 10.0.1.11/24 10.0.1.1
netns_vm vm2 02:00:00:00:01:02 10.0.1.12/24 10.0.1.1
netns_vm vm3 02:00:00:00:02:03 10.0.2.13/24 10.0.2.1
netns_vm vm4 02:00:00:00:02:04 10.0.2.14/24 10.0.2.1
netns_vm vm5 02:00:00:00:03:05 10.0.3.15/24 10.0.3.1
netns_vm vm6 02:00:00:00:04:06 10.0.4.16/24 10.0.4.1
netns_vm col 02:00:00:00:09:01 192.168.99.1/24
netns_vm vm7 02:00:00:00:01:07 10.0.1.17/24 10.0.1.1   # on port vm7, configured by a reload in step 4b
netns_firewall fwa 02:fe:00:00:00:01 10.0.3.1/24 fwb 02:fe:00:00:00:02 10.0.4.1/24 || exit 1
SOCK=/run/ivswitch/$NETNS_PREFIX.sock
start_switch "$BIN/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log" || exit 1
ivctl() { "$BIN/ivctl" --socket "$SOCK" "$@"; }
sed 's/^/  log: /' "$WORK/ivswitchd.log"
sleep 1

step "3. forwarding: switched inside a network, routed across networks by the switch"
check "vm1 -> vm2 ping (switched in web)"        in_vm vm1 ping -c 3 -i 0.2 -W 2 10.0.1.12
check "vm1 -> 10.0.1.1 ping (the switch answers as gateway)" in_vm vm1 ping -c 3 -i 0.2 -W 2 10.0.1.1
check "vm1 -> vm3 ping (routed web -> db)"       in_vm vm1 ping -c 3 -i 0.2 -W 2 10.0.2.13
check "vm1 -> vm3 ping -s 3000 (fragments: reassembled by the kernel, fragmented again)" in_vm vm1 ping -c 3 -i 0.2 -W 2 -s 3000 10.0.2.13
check "vm2 -> vm4 ping (routed, both learned, vm4 on af_xdp)" in_vm vm2 ping -c 3 -i 0.2 -W 2 10.0.2.14
in_vm vm2 ip addr add 203.0.113.1/32 dev lo   # vm2 as the upstream router of 203.0.113.0/24 (demo/topology.yaml routes)
check "vm1 -> 203.0.113.1 ping (a static route: 203.0.113.0/24 via vm2 10.0.1.12, next hop resolved by ARP)" \
    in_vm vm1 ping -c 3 -i 0.2 -W 2 203.0.113.1
# ECMP failover: 198.51.100.1 is on vm2 and on vm4, next hops of one ECMP route. One ping
# (one flow) runs while the router carrying it hangs (nftables drops all it receives):
# the switch's ARP probes go unanswered, the next hop is down after 3 s, the flow moves.
for r in vm2 vm4; do in_vm "$r" ip addr add 198.51.100.1/32 dev lo; done
ecmp_failover() {
    in_vm vm1 ping -c 40 -i 0.25 -W 1 198.51.100.1 >"$WORK/failover-ping.txt" 2>&1 &
    local ping=$! carrier
    sleep 1.5
    carrier=$(ivctl --json show routes | python3 -c '
import json, sys
hops = [h for h in json.load(sys.stdin)["static_routes"] if h["prefix"] == "198.51.100.0/24"]
print({"10.0.1.12": "vm2", "10.0.2.14": "vm4"}[max(hops, key=lambda h: h["packets"])["via"]])')
    in_vm "$carrier" nft add table netdev hang
    in_vm "$carrier" nft add chain netdev hang in "{ type filter hook ingress device eth0 priority 0; policy drop; }"
    wait "$ping"
    in_vm "$carrier" nft delete table netdev hang
    echo "the flow was on $carrier, which hung:"; tail -2 "$WORK/failover-ping.txt"
    ivctl show routes | grep -E "VIA|198.51.100"
    # Most echoes answered (those sent in the ~4 s before the move are lost), the last ones too.
    python3 - "$WORK/failover-ping.txt" <<'PY'
import re, sys
seqs = {int(m.group(1)) for m in re.finditer(r"icmp_seq=(\d+)", open(sys.argv[1]).read())}
sys.exit(0 if len(seqs) >= 20 and {38, 39, 40} & seqs else 1)
PY
}
CHECK_TAIL=6 check "ECMP failover: vm1's ping to 198.51.100.1 (via vm2 or vm4) moves off the router that hangs within ~4 s" ecmp_failover
v6_on() {  # NAME ADDR/LEN GATEWAY6: IPv6 on in a VM (netns_vm turns it off)
    in_vm "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.eth0.disable_ipv6=0
    in_vm "$1" ip -6 addr add "$2" dev eth0 nodad; in_vm "$1" ip -6 route add default via "$3" dev eth0
}
v6_on vm1 2001:db8:1::11/64 2001:db8:1::1; v6_on vm3 2001:db8:2::13/64 2001:db8:2::1
check "vm1 -> vm3 ping -6 (IPv6 routed web -> db through gateway6 2001:db8:1::1)" in_vm vm1 ping -6 -c 3 -i 0.2 -W 2 2001:db8:2::13
iperf() {  # CLIENT SERVER IP
    in_vm "$2" iperf3 -s -1 -D -p 5201 >/dev/null 2>&1; sleep 0.5
    in_vm "$1" iperf3 -c "$3" -p 5201 -t 3 -J >"$WORK/iperf.json" || return 1
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.2f Gbit/s received, %d retransmits" % (r["end"]["sum_received"]["bits_per_second"]/1e9, r["end"]["sum_sent"].get("retransmits", 0)))' "$WORK/iperf.json"
}
check "iperf3 TCP vm1 -> vm2, 3 s (switched)"     iperf vm1 vm2 10.0.1.12
check "iperf3 TCP vm1 -> vm3, 3 s (routed)"       iperf vm1 vm3 10.0.2.13

step "4. policy: one verdict per flow, cached; the reply direction needs no rule"
mkdir -p "$WORK/nf"; nfcapd -b 127.0.0.1 -p 4739 -w "$WORK/nf" -t 3600 >"$WORK/nfcapd.log" 2>&1 & NFCAPD_PID=$!
echo "  \$ ivctl flow-export add 127.0.0.1:4739    (flow records over IPFIX to nfcapd, with the verdict and rule: docs/flow-export.md)"
ivctl flow-export add 127.0.0.1:4739 | sed 's/^/  /'
STREAM="python3 $ROOT/tests/integration/tcp_stream.py"
sql_allowed() {
    in_vm vm3 timeout 6 $STREAM server 5432 1 "$WORK/sql.txt" & local s=$!
    sleep 0.3; in_vm vm1 $STREAM client 10.0.2.13 5432 1; wait $s
    echo "rule sql: vm3 received $(awk '{t+=$1} END{print t}' "$WORK/sql.txt") bytes from vm1 in 1 s"; awk '{t+=$1} END{exit !(t>0)}' "$WORK/sql.txt"
}
check "vm1 (frontends) -> vm3:5432 (databases) allowed by rule sql" sql_allowed
ssh_rejected() {
    ! in_vm vm1 python3 -c 'import socket; socket.create_connection(("10.0.2.13", 22), timeout=3)' 2>"$WORK/err" && tail -1 "$WORK/err" && grep -q refused "$WORK/err"
}
check "vm1 -> vm3:22 rejected by rule no-ssh-to-db (the switch answers with a RST)" ssh_rejected
db_to_frontend_dropped() {
    ! in_vm vm3 python3 -c 'import socket; socket.create_connection(("10.0.1.11", 5432), timeout=1)' 2>"$WORK/err" && tail -1 "$WORK/err" && grep -q "timed out" "$WORK/err"
}
check "vm3 -> vm1:5432 (a new connection from the database side) dropped by default" db_to_frontend_dropped
sql6_allowed() {  # the same groups by the VMs' IPv6 addresses (docs/config.md, "IPv6 in rules")
    in_vm vm3 timeout 6 python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::", 5432)); s.listen(); c, _ = s.accept(); print(len(c.recv(100)), "bytes over IPv6")' & local s=$!
    sleep 1; in_vm vm1 python3 -c 'import socket; socket.create_connection(("2001:db8:2::13", 5432), timeout=3).sendall(b"x" * 10)'; wait $s
}
check "vm1 -> [2001:db8:2::13]:5432 (IPv6, routed) allowed by rule sql: groups match the VMs' IPv6 addresses too" sql6_allowed
spoofed_source() {
    in_vm vm1 ip addr add 10.0.1.99/24 dev eth0
    ! in_vm vm1 ping -c 3 -i 0.2 -W 1 -I 10.0.1.99 10.0.1.1 >/dev/null; local rc=$?
    in_vm vm1 ip addr del 10.0.1.99/24 dev eth0
    return $rc
}
check "port security: vm1 sending from an address it was not given (10.0.1.99) is dropped" spoofed_source
echo "  \$ ivctl show port-security"; ivctl show port-security | sed 's/^/  /'
echo "  \$ ivctl show flows"; ivctl show flows | sed 's/^/  /'
echo; echo "  \$ ivctl trace port=vm1 src=10.0.1.11 dst=10.0.2.13 proto=tcp dport=22"
ivctl trace port=vm1 src=10.0.1.11 dst=10.0.2.13 proto=tcp dport=22 | sed 's/^/  /'
echo; echo "  \$ ivctl trace port=vm1 src=2001:db8:1::11 dst=2001:db8:2::13 proto=tcp dport=22     (IPv6: the same rule by vm3's IPv6 address)"
ivctl trace port=vm1 src=2001:db8:1::11 dst=2001:db8:2::13 proto=tcp dport=22 | sed 's/^/  /' | grep -E "policy|result"
echo; echo "  \$ ivctl trace --live vm1 'tcp dst port 5432' -c 1     (while vm1 really connects to vm3:5432)"
ivctl trace --live vm1 'tcp dst port 5432' -c 1 --seconds 5 >"$WORK/live.txt" & sleep 0.5
in_vm vm1 python3 -c 'import socket; socket.create_connection(("10.0.2.13", 5432), timeout=1)' 2>/dev/null; wait $!; sed 's/^/  /' "$WORK/live.txt"
echo; echo "  \$ ivctl policy reload      (the file is validated again; every flow is revalidated under a new epoch)"
ivctl policy reload | sed 's/^/  /'
echo; echo "  \$ ivctl show policy"; ivctl show policy | sed 's/^/  /'

step "4b. a VM joins and leaves the running switch (ivctl policy reload; vm1 -> vm2 keeps pinging)"
in_vm vm1 ping -i 0.05 -c 100 -W 1 10.0.1.12 >"$WORK/untouched.txt" 2>&1 & UNTOUCHED=$!
vm7_refused() { ! in_vm vm7 ping -c 2 -i 0.2 -W 1 10.0.1.11 >/dev/null; }
check "vm7 before it is configured: its port (port_security: true, no VM) drops it" vm7_refused
sed -i '/name: collector, port: col/a\  - {name: vm7, port: vm7, mac: "02:00:00:00:01:07", ip: 10.0.1.17}' "$WORK/switch.yaml"
echo "  \$ ivctl policy reload      (vms: + vm7 on port vm7)"; ivctl policy reload | sed 's/^/  /'
check "vm7 joined: it pings vm1, its MAC is static on port vm7" in_vm vm7 ping -c 3 -i 0.2 -W 2 10.0.1.11
ivctl show fdb | grep -E "02:00:00:00:01:07|MAC table" | sed 's/^/  /'
sed -i '/name: vm7, port: vm7/d' "$WORK/switch.yaml"
echo "  \$ ivctl policy reload      (vms: - vm7)"; ivctl policy reload | sed 's/^/  /'
check "vm7 left: it can no longer send (portsec.mac_not_allowed)" vm7_refused
wait $UNTOUCHED; echo "  untouched vm1 -> vm2 meanwhile: $(grep -E 'packets transmitted' "$WORK/untouched.txt")"

step "5. inspect, then shortcut: the first packet through the firewall, the rest routed by the switch"
echo "  (chain fw: the firewall namespace routes between apps and data and is their gateway;"
echo "   its own nftables counters show what went through it)"
inspected_iperf() {
    local n0; n0=$(netns_firewall_count fwa iperf)
    iperf vm5 vm6 10.0.4.16 || return 1
    echo "the firewall saw $(( $(netns_firewall_count fwa iperf) - n0 )) packet(s) of it: the SYN of each iperf3 connection"
    [ $(( $(netns_firewall_count fwa iperf) - n0 )) -le 3 ]
}
check "iperf3 vm5 -> vm6, 3 s: inspected by fw, then shortcut" inspected_iperf
refused_by_fw() {
    ! in_vm vm5 python3 -c 'import socket; socket.create_connection(("10.0.4.16", 22), timeout=2)' 2>"$WORK/err" &&
        echo "$(tail -1 "$WORK/err"); the firewall dropped $(netns_firewall_count fwa ssh) SYN(s)" &&
        [ "$(netns_firewall_count fwa ssh)" -ge 1 ]
}
check "vm5 -> vm6:22: the firewall drops it; never delivered, denied after the verify timeout" refused_by_fw
echo "  \$ ivctl show chains"; ivctl show chains | sed 's/^/  /'
echo; echo "  \$ ivctl show flows    (chain flows: state, packets to the device / shortcut)"
ivctl show flows | sed 's/^/  /' | grep -E "PROTO|10\.0\.3\."

step "6. QoS guard: DSCP checked against the assignment, rewritten or audited; queues by class; a meter"
echo "  (frontends must mark AF21, enforced; databases CS2, audited; vm4's port is shaped to"
echo "   20 Mbit/s with AF21 served first; vm4 itself is held to 5 Mbit/s by a meter)"
qos_enforced() {
    in_vm_capture vm3 "$WORK/dscp.txt" tshark -i eth0 -a duration:3 -f "icmp and src host 10.0.1.11" \
        -o ip.check_checksum:TRUE -T fields -e ip.dsfield.dscp -e ip.dsfield.ecn -e ip.checksum.status || return 1
    in_vm vm1 ping -c 5 -i 0.2 -W 1 -Q 0x21 10.0.2.13 >/dev/null; wait $CAPTURE_PID
    echo "vm1 sent DSCP CS1 (ECN 1); tshark at vm3 saw DSCP/ECN/checksum-ok: $(awk '{printf "%s/%s/%s ", $1, $2, $3}' "$WORK/dscp.txt")"
    [ "$(grep -c . "$WORK/dscp.txt")" -ge 3 ] && awk '$1!=18 || $2!=1 || $3!=1 {bad=1} END{exit bad}' "$WORK/dscp.txt"
}
check "vm1 pings marked CS1 arrive at vm3 as AF21 (enforce), ECN kept, checksum good" qos_enforced
qos_audited() {
    ivctl --json show qos | python3 -c '
import json, sys
q = json.load(sys.stdin)
v = {x["vm"]: x for x in q["vms"]}["vm3"]
r = [x for x in q["recent_mismatches"] if x["sender"] == "vm3"]
n, bad, rw = v["packets"], v["mismatched"], v["rewritten"]
eg = "e.g. %s on %s -> %s" % (r[0]["observed"], r[0]["src"], r[0]["dst"]) if r else "no sample"
print(f"vm3 sent {n} packets, {bad} not CS2 (audited, {rw} rewritten); {eg}")
sys.exit(0 if v["mismatched"] > 0 and v["rewritten"] == 0 and r else 1)'
}
check "vm3's replies (not CS2) are counted and sampled, not changed (audit)" qos_audited
qos_contention() {
    in_vm vm4 iperf3 -s -1 -D -p 5201 >/dev/null 2>&1; sleep 0.5
    in_vm vm2 iperf3 -c 10.0.2.14 -p 5201 -u -b 60M -l 1200 -t 4 -S 0x20 -J >"$WORK/bulk.json" 2>&1 & local b=$!
    sleep 1; in_vm vm1 ping -c 10 -i 0.2 -W 1 10.0.2.14 >"$WORK/ping_af21.txt" 2>&1 & local p1=$!
    in_vm vm2 ping -c 10 -i 0.2 -W 1 -Q 0x20 10.0.2.14 >"$WORK/ping_cs1.txt" 2>&1; wait $p1 $b
    python3 - "$WORK" <<'PY'
import json, re, sys
w = sys.argv[1]
e = json.load(open(f"{w}/bulk.json"))["end"]["sum"]
def rtt(f):
    t = open(f"{w}/{f}").read(); m = re.search(r"= [\d.]+/([\d.]+)/", t); l = re.search(r"([\d.]+)% packet loss", t)
    return (float(m.group(1)) if m else float("inf")), float(l.group(1))
(ra, la), (rc, lc) = rtt("ping_af21.txt"), rtt("ping_cs1.txt")
got = e["bits_per_second"] * (100 - e["lost_percent"]) / 100 / 1e6
print(f"bulk CS1 from vm2: {got:.1f} of 60 Mbit/s through; pings to vm4: AF21 (interactive) {ra:.2f} ms avg, {la:.0f}% lost; CS1 (bulk) {rc:.2f} ms avg, {lc:.0f}% lost")
sys.exit(0 if got < 25 and la <= 10 and ra < rc else 1)
PY
}
check "vm4's port at 20 Mbit/s under a 60 Mbit/s bulk flood: AF21 pings stay fast, bulk is queued and dropped" qos_contention
qos_metered() {
    in_vm vm3 iperf3 -s -1 -D -p 5201 >/dev/null 2>&1; sleep 0.5
    in_vm vm4 iperf3 -c 10.0.2.13 -p 5201 -u -b 20M -l 1200 -t 3 -J >"$WORK/meter.json" 2>&1 || return 1
    python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]["sum"]
got = e["bits_per_second"] * (100 - e["lost_percent"]) / 100 / 1e6
print(f"vm4 offered 20 Mbit/s to vm3, {got:.2f} Mbit/s got through the meter (cir=pir=5 Mbit/s)")
sys.exit(0 if 3.5 < got < 6.5 else 1)' "$WORK/meter.json"
}
check "vm4 is held to 5 Mbit/s by its meter" qos_metered
echo "  \$ ivctl show qos"; ivctl show qos | sed 's/^/  /'
echo; echo "  \$ ivctl trace port=vm1 src=10.0.1.11 dst=10.0.2.14 proto=udp dport=5201 dscp=CS1"
ivctl trace port=vm1 src=10.0.1.11 dst=10.0.2.14 proto=udp dport=5201 dscp=CS1 | sed 's/^/  /' | grep -E "qos|policy|result"

step "7. vTAP + packet broker: flows chosen by a policy match, ERSPAN III to a collector, a live capture"
echo "  \$ ivctl mirror add sql --flows '{\"from\": [\"frontends\"], \"to\": [\"databases\"], \"protocol\": \"tcp\", \"ports\": [5432]}' \\"
echo "        --pcapng sql.pcapng --tool '{\"erspan\": {\"version\": 3, \"session\": 10, \"remote_ip\": \"192.168.99.1\", ...}}'"
ivctl mirror add sql --flows '{"from": ["frontends"], "to": ["databases"], "protocol": "tcp", "ports": [5432]}' --pcapng "$WORK/sql.pcapng" \
    --tool '{"erspan": {"version": 3, "session": 10, "remote_ip": "192.168.99.1", "local_ip": "192.168.99.254", "port": "col"}}' | sed 's/^/  /'
echo "  \$ ivctl mirror add sqlport --tap vm3 --filter 'tcp port 5432' --pcapng sqlport.pcapng   (flow-constant: judged once per flow)"
ivctl mirror add sqlport --tap vm3 --filter 'tcp port 5432' --pcapng "$WORK/sqlport.pcapng" | sed 's/^/  /'
mirror_sql() {
    in_vm_capture col "$WORK/col.out" tcpdump -i eth0 -nn -U -w "$WORK/col.pcap" || return 1
    local cap=$CAPTURE_PID
    in_vm vm3 timeout 8 python3 -c 'import socket; s=socket.socket(); s.setsockopt(1, 2, 1); s.bind(("", 5432)); s.listen()
c, _ = s.accept()
for d in iter(lambda: c.recv(100), b""): c.sendall(d)' & local srv=$!
    sleep 0.3
    in_vm vm1 python3 -c 'import socket, time; c = socket.create_connection(("10.0.2.13", 5432))
for i in range(10): c.sendall(b"select %d;" % i); c.recv(100); time.sleep(0.05)
c.close()' || return 1
    wait $srv; sleep 1; kill -INT $cap; wait $cap 2>/dev/null
    local both mine erspan
    both=$(tshark -r "$WORK/sql.pcapng" -T fields -e ip.src 2>/dev/null | sort | uniq -c | tr '\n' ' ')
    mine=$(tshark -r "$WORK/sql.pcapng" 2>/dev/null | wc -l)
    erspan=$(tshark -r "$WORK/col.pcap" -Y "erspan.version == 2 && erspan.spanid == 10 && tcp.port == 5432" 2>/dev/null | wc -l)
    echo "sql.pcapng: $mine frames ($both- both directions); collector: $erspan ERSPAN III frames (session 10) holding them"
    [ "$mine" -ge 20 ] && [ "$erspan" = "$mine" ] && [ "$(tshark -r "$WORK/sql.pcapng" -T fields -e ip.src 2>/dev/null | sort -u | wc -l)" = 2 ]
}
check "vm1 -> vm3:5432 (frontends to databases): both directions in the pcapng and at the collector by ERSPAN III" mirror_sql
echo "  \$ ivctl capture vm2 icmp -c 4 | tshark -r -      (while vm2 pings vm1)"
live_capture() {
    (sleep 1.5; in_vm vm2 ping -c 3 -i 0.3 -W 1 10.0.1.11 >/dev/null) & local pinger=$!
    timeout 15 "$BIN/ivctl" --socket "$SOCK" capture vm2 icmp -c 4 2>"$WORK/cap.err" | tshark -r - 2>/dev/null >"$WORK/cap.txt"
    wait $pinger
    sed 's/^ */  /' "$WORK/cap.txt"; cat "$WORK/cap.err"
    [ "$(grep -c . "$WORK/cap.txt")" = 4 ]
}
CHECK_TAIL=6 check "a live capture streamed to tshark: 4 packets, then the capture is removed" live_capture
echo "  \$ ivctl capture vm2 | (sleep 5; cat >/dev/null)     (a reader that does not read, while iperf3 runs vm1 -> vm2)"
stalled_capture() {
    timeout 20 "$BIN/ivctl" --socket "$SOCK" capture vm2 2>/dev/null | (sleep 5; cat >/dev/null) & local pipe=$!
    sleep 0.5
    in_vm vm2 iperf3 -s -1 -D -p 5201 >/dev/null 2>&1; sleep 0.5
    in_vm vm1 iperf3 -c 10.0.1.12 -p 5201 -t 2 >/dev/null || return 1
    ivctl show mirrors | grep -A1 "live capture" | tail -1 | sed 's/^ */  /'
    local skipped
    skipped=$(ivctl --json show mirrors | python3 -c 'import json,sys; m=[x for x in json.load(sys.stdin)["mirrors"] if x["live_capture"]]; print(m[0]["packets"]["skipped_tools_full"] if m else 0)')
    wait $pipe
    echo "copies not made while the reader did not read (its buffer full): $skipped"
    [ "$skipped" -gt 0 ]
}
CHECK_TAIL=3 check "a stalled capture reader costs the switch no copies: skipped and counted" stalled_capture
echo "  \$ ivctl show mirrors"; ivctl show mirrors | sed 's/^/  /'
echo "  \$ ivctl mirror del sql"; ivctl mirror del sql | sed 's/^/  /'
echo "  \$ ivctl mirror del sqlport"; ivctl mirror del sqlport | sed 's/^/  /'

step "8. host-VM channel: host daemons talk to the agents in vm1 and vm3 through the switch"
echo "  in vm1 and vm3: a nested ivswitchd (channels.role guest) on eth0, ivagent behind it on agent0"
netns_channel_agent vm1 1001 3001 02:00:00:00:a1:01 169.254.77.11 "$BIN" "$WORK" || exit 1
netns_channel_agent vm3 1003 3003 02:00:00:00:a1:03 169.254.77.13 "$BIN" "$WORK" || exit 1
sleep 1
channel_round_trip() {
    in_vm_capture vm3 "$WORK/vm3ch.out" tcpdump -i eth0 -nn -U -w "$WORK/vm3ch.pcap" vlan || return 1
    local cap=$CAPTURE_PID
    echo "\$ ivctl channel send vm1 ping; ivctl channel send vm3 uptime"
    ivctl channel send vm1 ping && ivctl channel send vm3 uptime || return 1
    sleep 1; kill -INT $cap; wait $cap 2>/dev/null
    local seen
    seen=$(tshark -r "$WORK/vm3ch.pcap" -T fields -e vlan.id -e ip.src -e ip.dst 2>/dev/null | sort -u)
    echo "tshark at vm3's NIC: VLAN $seen" | tr '\t' ' '
    [ "$seen" = "$(printf '3003\t169.254.77.1\t169.254.77.13')" ]
}
CHECK_TAIL=6 check "a round trip host -> agent -> host to each VM (vm3's message in on VLAN 3003, nothing else tagged)" channel_round_trip
agent_to_host() {
    timeout 10 "$BIN/ivctl" --socket "$SOCK" channel listen vm1 --count 1 >"$WORK/listen.out" 2>&1 &
    local l=$!
    sleep 0.5
    echo "\$ (in vm1) ivagent send --ack 'backup done'   while   \$ ivctl channel listen vm1"
    in_vm vm1 "$BIN/ivagent" send --ip 169.254.77.11 --id 1001 --ack "backup done" || return 1
    wait $l; cat "$WORK/listen.out"
    grep -q "backup done" "$WORK/listen.out"
}
CHECK_TAIL=4 check "the agent in vm1 tells the host daemon, acked" agent_to_host
spoof() {
    echo "vm2 (root in its VM) sends a message on its port claiming vm1's id 1001 on vm1's VLAN:"
    in_vm vm2 python3 tests/integration/channel_frame.py eth0 --count 3 --vlan 3001 --src-mac 02:00:00:00:01:02 \
        --dst-mac 02:49:56:ff:ff:fe --src-ip 10.0.1.12 --dst-ip 169.254.77.1 --id 1001 || return 1
    sleep 0.3
    local n
    n=$(ivctl --json show ports | python3 -c "import json,sys; print([p for p in json.load(sys.stdin)['ports'] if p['name']=='vm2'][0]['drops']['channel.ingress.wrong_port'])")
    echo "dropped at vm2's port: channel.ingress.wrong_port $n"
    [ "$n" -ge 3 ]
}
check "a VM cannot reach the host daemon through another VM's channel: dropped and counted" spoof
echo "  \$ ivctl show channels"; ivctl show channels | sed 's/^/  /'

step "9. what the switch saw (ivctl)"
for v in ports fdb routes pmd stats ethertypes; do echo "  \$ ivctl show $v"; ivctl show "$v" | sed 's/^/  /'; echo; done
echo "  \$ ivctl top --once --interval 1 --flows 5   # one frame of the live view (ivctl top: keys p f d t s q)"
ivctl top --once --interval 1 --flows 5 | sed 's/^/  /'; echo
echo "  \$ curl -s http://127.0.0.1:9464/metrics | grep rx_packets"
curl -s http://127.0.0.1:9464/metrics | grep '^ivswitch_port_rx_packets_total' | sed 's/^/  /'

echo; echo "  \$ ivctl flow-export show"; ivctl flow-export show | sed 's/^/  /'
flow_records() {
    sleep 6; kill "$NFCAPD_PID"; wait "$NFCAPD_PID" 2>/dev/null; NFCAPD_PID=""
    local f; f=$(ls "$WORK"/nf/nfcapd.2* 2>/dev/null | head -1); [ -n "$f" ] || return 1
    echo "\$ nfdump -r nfcapd.* -c 8"; nfdump -r "$f" -c 8 | head -9
    [ "$(nfdump -r "$f" -q | grep -c .)" -gt 0 ]
}
CHECK_TAIL=10 check "nfcapd received the flow records; nfdump decodes them" flow_records

step "10. an idle switch sleeps"
sleep 1
idle=$(cpu_percent "$IVSWITCHD_PID" 5)
idle_ok() { echo "ivswitchd used ${idle}% of one core over 5 s with no traffic"; awk -v x="$idle" 'BEGIN{exit !(x < 5)}'; }
check "idle CPU under 5% of a core" idle_ok

step "11. a restart keeps its flows (switch.flow_restore): ivswitchd stopped and started again under a ping"
restart_keeps_flows() {
    in_vm vm1 ping -D -n -i 0.05 -w 12 10.0.2.13 >"$WORK/restart-ping.txt" 2>&1 & local ping=$!
    sleep 2
    stop_switch || return 1
    start_switch "$BIN/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd-restarted.log" || return 1
    wait $ping
    grep -h "flows saved\|flows restored" "$WORK/ivswitchd.log" "$WORK/ivswitchd-restarted.log" | cut -d' ' -f3-
    echo "ping vm1 -> vm3 every 50 ms: longest silence $(python3 tests/integration/ping_gap.py "$WORK/restart-ping.txt" 0.05 | cut -d' ' -f1) s"
    local n; n=$(curl -s http://127.0.0.1:9464/metrics | awk '$1=="ivswitch_flow_restored_total"{print $2}')
    echo "ivswitch_flow_restored_total ${n:-none}"; [ "${n:-0}" -gt 0 ]
}
CHECK_TAIL=6 check "the new ivswitchd restored the flows the old one saved, before forwarding" restart_keeps_flows

step "12. clean shutdown (SIGTERM)"
clean_stop() { stop_switch && [ ! -e "$SOCK" ] && echo "exit status 0, control socket removed"; }
check "ivswitchd stops cleanly" clean_stop

if [ $VMS = 1 ]; then
    step "13. real VMs: two QEMU guests on vhost-user (ivswitchd reconnects as vhost-user client)"
    bash tests/vm/vm_test.sh "$BIN" 2>&1 | tee "$WORK/vms.out" | sed 's/^/  /'; rc=${PIPESTATUS[0]}
    if grep -q '^vm: SKIPPED' "$WORK/vms.out"; then echo "  [skip] guests on vhost-user: this machine cannot boot them (above)"
    elif [ $rc = 0 ]; then OK=$((OK + 1)); echo "  [ok]   guests on vhost-user"
    else BAD=$((BAD + 1)); echo "  [FAIL] guests on vhost-user"; fi
    step "14. a libvirt guest: virsh define/start on a vhost-user port, virsh destroy/start (port down/up)"
    bash tests/vm/libvirt_test.sh "$BIN" 2>&1 | tee "$WORK/libvirt.out" | sed 's/^/  /'; rc=${PIPESTATUS[0]}
    if grep -q '^libvirt: SKIPPED' "$WORK/libvirt.out"; then echo "  [skip] libvirt guest: $(sed -n 's/^libvirt: SKIPPED: //p' "$WORK/libvirt.out")"
    elif [ $rc = 0 ]; then OK=$((OK + 1)); echo "  [ok]   libvirt guest on vhost-user"
    else BAD=$((BAD + 1)); echo "  [FAIL] libvirt guest on vhost-user"; fi
fi

echo
echo "demo: $OK checks passed, $BAD failed (namespaces, veths and files are removed on exit)"
[ "$BAD" = 0 ]
