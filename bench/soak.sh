#!/usr/bin/env bash
# Soak: the switch under mixed traffic for a long time while it is reconfigured, and what
# must not drift. Not a CI test (it takes long); run by hand, as root:
#
#   bench/soak.sh [BUILD_DIR] [SECONDS]       (defaults: build/release, 3600)
#
# SOAK_HUGEPAGES=off|on|auto (default auto) sets switch.hugepages: off is the case where
# DPDK's memory is ordinary 4 KB pages, counted in RSS and faulted in on first write.
#
# Four namespaces as VMs on af_packet ports (port security on), a policy with allow, drop
# and reject rules and a default drop. For SECONDS, all at once:
#   - TCP streams (iperf3, 4 parallel), restarted every 30 s (new flows);
#   - a flood of new UDP flows for 5 s every 20 s (tests/integration/udp_flood.py);
#   - pings of 3000 bytes (IPv4 fragments) and pings from a spoofed address;
#   - malformed and random frames from one VM (raw socket, 200 per second);
#   - every 10 s a policy reload, every 15 s a mirror added or removed, every 25 s a live
#     capture for 3 s, every 60 s one VM's link taken down and up.
# Every 10 s it samples the daemon's RSS (and by kind: anonymous, file, shared; DPDK's
# hugepages apart), mbufs in use, flow entries, DPDK's heap, and the minor page faults of
# the datapath threads and of the others (soak.csv); at the end, where RSS grew, by
# mapping (rss_growth.txt, bench/soak/smaps_growth.py).
# At the end traffic stops, flows age out (short timeouts), and it checks:
#   - the daemon is alive and answers;
#   - RSS over the second half of the run grew by less than 2% (no leak; the switch
#     touches what the datapath writes before it starts, docs/operations.md);
#   - the datapath threads took fewer than 64 page faults from the first sample to the
#     end (a fault on a datapath thread is a kernel allocation on the datapath);
#   - mbufs in use are back to what they were before the traffic (no mbuf leak);
#   - flow entries are back to 0 (no entry leak);
#   - every drop the run produced has a named reason (listed). A per-frame balance
#     (rx = forwarded + dropped + consumed) is not computed here: the switch floods and
#     answers (one rx, several or other tx), so its counters do not add up that way;
#     the packet-level tests account for every frame of their inputs.
# Prints a summary and writes it to bench/results/soak-DATE/summary.txt.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build/release}; SECONDS_TOTAL=${2:-3600}
. "$ROOT/scripts/lib/netns_test.sh" soak ivk "$BUILD"
OUT="$ROOT/bench/results/soak-$(date +%Y%m%d-%H%M)"; mkdir -p "$OUT"
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD)  # the tree when the run starts (the build should match it)
SOCK="$WORK/ctl.sock"
cat >"$WORK/switch.yaml" <<YAML
switch: {instance: $P, control_socket: $SOCK, metrics_address: "", hugepages: ${SOAK_HUGEPAGES:-auto}}
flows: {udp_seconds: 5, icmp_seconds: 5, other_seconds: 5, tcp_handshake_seconds: 5, tcp_closing_seconds: 5, tcp_established_seconds: 30}
ports:
  - {name: vm1, type: af_packet, interface: $P-vm1, network: web}
  - {name: vm2, type: af_packet, interface: $P-vm2, network: web}
  - {name: vm3, type: af_packet, interface: $P-vm3, network: db}
  - {name: vm4, type: af_packet, interface: $P-vm4, network: db}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
  - {name: db, vlan: 20, subnet: 10.0.2.0/24, gateway: 10.0.2.1}
vms:
  - {name: vm1, port: vm1, mac: "02:00:00:00:01:01", ip: 10.0.1.11}
  - {name: vm2, port: vm2, mac: "02:00:00:00:01:02", ip: 10.0.1.12}
  - {name: vm3, port: vm3, mac: "02:00:00:00:02:03", ip: 10.0.2.13}
  - {name: vm4, port: vm4, mac: "02:00:00:00:02:04", ip: 10.0.2.14}
policy:
  default: drop
  rules:
    - {name: ping, protocol: icmp, action: allow}
    - {name: iperf, to: vm3, protocol: tcp, ports: [5201], action: allow}
    - {name: flood, to: vm4, protocol: udp, action: allow}
    - {name: ssh, protocol: tcp, ports: [22], action: reject}
YAML
"$BUILD/ivswitchd" --check --config "$WORK/switch.yaml" || exit 1
netns_vm vm1 02:00:00:00:01:01 10.0.1.11/24 10.0.1.1
netns_vm vm2 02:00:00:00:01:02 10.0.1.12/24 10.0.1.1
netns_vm vm3 02:00:00:00:02:03 10.0.2.13/24 10.0.2.1
netns_vm vm4 02:00:00:00:02:04 10.0.2.14/24 10.0.2.1
start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log" || exit 1
ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$IVSWITCHD_PID/status"; }
stat_of() { ivctl --json show stats | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"; }
flow_total() { ivctl --json show flows --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
sleep 2
cp "/proc/$IVSWITCHD_PID/smaps" "$WORK/smaps-start"
MBUF0=$(stat_of 's["mbufs"]["in_use"]')
echo "soak: $SECONDS_TOTAL s, results in $OUT; mbufs in use before traffic: $MBUF0"

END=$((SECONDS + SECONDS_TOTAL))
in_vm vm3 iperf3 -s -D -I "$WORK/iperf3.pid" >/dev/null 2>&1; sleep 0.5; netns_daemon "$(cat "$WORK/iperf3.pid")"
in_vm vm3 ip addr add 10.0.2.99/24 dev eth0 2>/dev/null  # pings from it are spoofed (port security)
loop() { while [ $SECONDS -lt $END ]; do "$@"; done; }
iperf_round() { in_vm vm1 timeout 35 iperf3 -c 10.0.2.13 -P 4 -t 30 >/dev/null 2>&1; }
flood_round() { in_vm vm2 timeout 6 python3 "$ROOT/tests/integration/udp_flood.py" 10.0.2.14 5 >/dev/null 2>&1; sleep 15; }
frag_round() { in_vm vm2 ping -q -c 10 -i 0.1 -s 3000 10.0.2.13 >/dev/null 2>&1; in_vm vm3 ping -q -c 3 -I 10.0.2.99 10.0.1.11 >/dev/null 2>&1; sleep 1; }
garbage_round() {
    in_vm vm4 python3 - <<'PY' 2>/dev/null
import os, random, socket, struct, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(("eth0", 0))
src = bytes.fromhex("020000000204")
for i in range(1000):
    kind = random.randrange(4)
    if kind == 0: f = os.urandom(random.randrange(1, 120))                                   # noise
    elif kind == 1: f = b"\xff" * 6 + src + b"\x08\x00" + os.urandom(random.randrange(0, 60))  # bad IPv4
    elif kind == 2: f = b"\xff" * 6 + src + b"\x86\xdd" + bytes([0x60]) + os.urandom(random.randrange(0, 80))  # bad IPv6
    else: f = b"\xff" * 6 + src + b"\x81\x00" + os.urandom(random.randrange(0, 40))         # bad VLAN
    try: s.send(f if len(f) >= 14 else f + b"\0" * (14 - len(f)))
    except OSError: pass
    time.sleep(0.005)
PY
}
control_round() {
    local t=$((SECONDS % 60))
    ivctl policy reload >/dev/null 2>&1
    if [ $((t % 30)) -lt 10 ]; then ivctl mirror add soak --tap vm1 --filter 'tcp port 5201' --pcapng "$WORK/soak.pcapng" >/dev/null 2>&1
    else ivctl mirror del soak >/dev/null 2>&1; fi
    timeout 3 "$BUILD/ivctl" --socket "$SOCK" capture vm3 icmp -c 50 >/dev/null 2>&1
    if [ "$t" -lt 10 ]; then ip link set "$P-vm2" down; sleep 1; ip link set "$P-vm2" up; fi
    sleep 5
}
# RSS by kind (anonymous, file, shared: DPDK's memory without hugepages is a memfd, so
# shared; hugepages are not in RSS at all but in HugetlbPages), and minor page faults
# since start of the datapath threads (DPDK names them rte-worker-N; lcore-worker-N in other versions) and of all others.
mem_kb() { awk '/^(RssAnon|RssFile|RssShmem|HugetlbPages):/{printf "%s%s", s, $2; s=","}' "/proc/$IVSWITCHD_PID/status"; }
faults() {  # datapath,other (field 10 of /proc/PID/task/TID/stat, after the name in parentheses)
    local dp=0 other=0 nd=0 t f n
    for t in /proc/"$IVSWITCHD_PID"/task/*; do
        n=$(cat "$t/comm" 2>/dev/null) || continue
        f=$(sed 's/.*) //' "$t/stat" 2>/dev/null | cut -d' ' -f8) || continue
        case $n in rte-worker-*|lcore-worker-*) dp=$((dp + ${f:-0})); nd=$((nd + 1)) ;; *) other=$((other + ${f:-0})) ;; esac
    done
    [ $nd -gt 0 ] || dp=none  # no thread by those names: the check below must not pass on nothing
    echo "$dp,$other"
}
heap_kb() {  # DPDK heap (rte_malloc_get_socket_stats, socket 0): allocated,free
    stat_of '",".join(str(s["memory"]["dpdk_heap"][k] // 1024) for k in ("allocated_bytes", "free_bytes")) if "memory" in s else "?,?"'
}
sample() {
    echo "t_s,rss_kb,mbufs_in_use,flow_entries,rx_packets,drops_total,rss_anon_kb,rss_file_kb,rss_shmem_kb,hugetlb_kb,dp_minflt,other_minflt,heap_alloc_kb,heap_free_kb" >"$OUT/soak.csv"
    while [ $SECONDS -lt $END ]; do
        echo "$((SECONDS_TOTAL - (END - SECONDS))),$(rss_kb),$(stat_of 's["mbufs"]["in_use"]'),$(flow_total),$(stat_of 's["rx_packets"]'),$(stat_of 's["drops_total"]'),$(mem_kb),$(faults),$(heap_kb)" >>"$OUT/soak.csv"
        sleep 10
    done
}
loop iperf_round & P1=$!; loop flood_round & P2=$!; loop frag_round & P3=$!; loop garbage_round & P4=$!
loop control_round & P5=$!; sample & P6=$!
wait $P1 $P2 $P3 $P4 $P5 $P6
ip link set "$P-vm2" up
echo "soak: traffic stopped; waiting 45 s for flows to age out"
sleep 45

cp "/proc/$IVSWITCHD_PID/smaps" "$WORK/smaps-end" 2>/dev/null
python3 "$ROOT/bench/soak/smaps_growth.py" "$WORK/smaps-start" "$WORK/smaps-end" >"$OUT/rss_growth.txt" 2>&1
alive=no; kill -0 "$IVSWITCHD_PID" 2>/dev/null && ivctl show stats >/dev/null && alive=yes
MBUF1=$(stat_of 's["mbufs"]["in_use"]')
FLOWS1=$(flow_total)
RSS_A=$(awk -F, -v h=$((SECONDS_TOTAL / 2)) 'NR>1 && $1>=h {print $2; exit}' "$OUT/soak.csv"); RSS_B=$(tail -1 "$OUT/soak.csv" | cut -d, -f2)
ivctl show stats >"$OUT/stats.txt"; ivctl show ports >"$OUT/ports.txt"; cp "$WORK/switch.yaml" "$OUT/"; grep -m1 "DPDK:" "$WORK/ivswitchd.log" >"$OUT/dpdk.txt"
{
    echo "soak of $SECONDS_TOTAL s, ended $(date -u +%F' '%H:%M) UTC, tree $COMMIT at the start"
    echo "daemon alive and answering: $alive"
    echo "RSS at $((SECONDS_TOTAL / 2)) s (half-time): ${RSS_A:-?} kB, at the end: ${RSS_B:-?} kB (at the start: $(awk -F, 'NR==2{print $2}' "$OUT/soak.csv") kB)"
    echo "mbufs in use: $MBUF0 before, $MBUF1 after (idle)"
    echo "flow entries after aging: $FLOWS1"
    echo "DPDK memory: $(sed 's/.*DPDK: //' "$OUT/dpdk.txt")"
    awk -F, -v h=$((SECONDS_TOTAL / 2)) 'NR==2{a=$0} NR>1 && $1>=h && !m{m=$0} END{b=$0
        split(a,x,","); split(m,y,","); split(b,z,",")
        printf "RSS by kind, start / half-time / end (kB): anon %s / %s / %s, file %s / %s / %s, shared %s / %s / %s; hugepages %s kB\n", x[7],y[7],z[7], x[8],y[8],z[8], x[9],y[9],z[9], z[10]
        printf "page faults (minor), first sample / end: datapath threads %s / %s (+%d), other threads %s / %s (+%d)\n", x[11],z[11],z[11]-x[11], x[12],z[12],z[12]-x[12]
        printf "DPDK heap allocated (kB), first sample / end: %s / %s\n", x[13], z[13]}' "$OUT/soak.csv"
    echo "packets received: $(stat_of 's["rx_packets"]'), sent: $(stat_of 's["tx_packets"]'), dropped: $(stat_of 's["drops_total"]')"
    echo "drops by reason: $(stat_of '" ".join(f"{k}={v}" for k,v in s["drops"].items())')"
} | tee "$OUT/summary.txt"
ok=1
[ "$alive" = yes ] || ok=0
[ "$MBUF1" -le "$((MBUF0 + 64))" ] || ok=0
[ "$FLOWS1" = 0 ] || ok=0
[ -n "${RSS_A:-}" ] && [ -n "${RSS_B:-}" ] && [ "$RSS_B" -le $((RSS_A + RSS_A / 50)) ] || ok=0
DPF=$(awk -F, 'NR==2{a=$11} END{if (a ~ /^[0-9]+$/ && $11 ~ /^[0-9]+$/) print $11-a}' "$OUT/soak.csv")
[ -n "$DPF" ] && [ "$DPF" -lt 64 ] || { ok=0; [ -n "$DPF" ] || echo "no datapath thread found to count page faults of (thread names rte-worker-*, lcore-worker-*)"; }
stop_switch; echo "daemon exit status: $?" | tee -a "$OUT/summary.txt"
[ $ok = 1 ] && echo "soak: PASS" || { echo "soak: FAIL"; exit 1; }
