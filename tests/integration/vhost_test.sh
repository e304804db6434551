#!/usr/bin/env bash
# vhost-user test: dpdk-testpmd with two virtio-user ports plays two VMs. It replays a
# pcap of N frames (VM A -> VM B) into port A and counts what arrives on port B, while
# ivswitchd switches between its two vhost-user ports. Run twice: switch as vhost-user
# server (it creates the sockets) and as client (testpmd creates them, like QEMU with
# OVS dpdkvhostuserclient). No hugepages needed (both sides use --no-huge, memfd).
#
# Checks, exactly: frames the generator put on A = frames the switch received on its A
# port = frames the switch sent on its B port = frames the generator received on B, and
# that number is > 0; both ports are driven by librte_vhost (`show ports --json` driver,
# not DPDK's net_vhost ethdev), each counted one link up. A third run kills the generator
# under load and starts a new one (run_reconnect).
#
# usage: vhost_test.sh BUILD_DIR
set -u
BUILD=$(cd "${1:?usage: vhost_test.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
command -v dpdk-testpmd >/dev/null || { echo "vhost: dpdk-testpmd missing (apt-get install dpdk)"; echo "vhost: 0 passed, 1 failed"; exit 1; }
WORK=$(mktemp -d /tmp/ivs-vhost.XXXXXX)
GEN_PID=""; SW_PID=""
cleanup() {
    local p
    for p in $GEN_PID $SW_PID; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.5
    for p in $GEN_PID $SW_PID; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$WORK" "/var/run/dpdk/ivsvhgen$$" "/var/run/dpdk/ivsvhgen$$b"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
PASS=0; FAIL=0
# 500 UDP frames VM A -> VM B, distinct source ports (frames.py: the packet tests' builder).
PYTHONPATH="$HERE/../packet" python3 -c '
import sys; from frames import udp_packet, write_pcap
write_pcap(sys.argv[1], [udp_packet("02:00:00:00:00:02", "02:00:00:00:00:01", "10.0.0.1", "10.0.0.2", sport=1024 + i) for i in range(500)])
' "$WORK/flows.pcap" || exit 1

run_mode() {  # server|client
    local mode=$1 gen_server="" sock_a="$WORK/a-$1.sock" sock_b="$WORK/b-$1.sock" ctl="$WORK/ctl-$1.sock"
    [ "$mode" = client ] && gen_server=",server=1"
    cat >"$WORK/sw-$mode.yaml" <<YAML
switch: {instance: vh$$$mode, control_socket: $ctl, metrics_address: "", hugepages: off}
ports:
  - {name: vma, type: vhost-user, path: $sock_a, mode: $mode, network: n}
  - {name: vmb, type: vhost-user, path: $sock_b, mode: $mode, network: n}
networks:
  - {name: n, vlan: 100}
vms:
  - {name: a, port: vma, mac: "02:00:00:00:00:01"}
  - {name: b, port: vmb, mac: "02:00:00:00:00:02"}
YAML
    mkfifo "$WORK/cmd-$mode"
    start_gen() {
        dpdk-testpmd --lcores=0@0,1@0 --no-huge -m 256 --no-pci --file-prefix="ivsvhgen$$" \
            --vdev "net_pcap0,rx_pcap=$WORK/flows.pcap" \
            --vdev "net_virtio_user0,path=$sock_a,queues=1,queue_size=1024,mac=02:00:00:00:00:01$gen_server" \
            --vdev "net_virtio_user1,path=$sock_b,queues=1,queue_size=1024,mac=02:00:00:00:00:02$gen_server" \
            --vdev "net_null0,no-rx=1" -- -i --forward-mode=io --nb-cores=1 --no-flush-rx --total-num-mbufs=8192 \
            <"$WORK/cmd-$mode" >"$WORK/gen-$mode.log" 2>&1 &
        GEN_PID=$!
    }
    start_sw() {
        "$BUILD/ivswitchd" --config "$WORK/sw-$mode.yaml" >"$WORK/sw-$mode.log" 2>&1 &
        SW_PID=$!
    }
    exec 7<>"$WORK/cmd-$mode"   # keep the fifo open: testpmd reads its commands from it
    if [ "$mode" = server ]; then start_sw; sleep 1.5; start_gen; else start_gen; sleep 1; start_sw; fi
    local i up=""
    for i in $(seq 1 100); do
        up=$("$BUILD/ivctl" --socket "$ctl" --json show ports 2>/dev/null |
             python3 -c 'import json,sys; print(all(p["link"]=="up" for p in json.load(sys.stdin)["ports"]))' 2>/dev/null)
        [ "$up" = True ] && break
        sleep 0.1
    done
    echo start >&7; sleep 2; echo stop >&7; sleep 1
    "$BUILD/ivctl" --socket "$ctl" --json show ports >"$WORK/ports-$mode.json"
    "$BUILD/ivctl" --socket "$ctl" show ports
    echo quit >&7; exec 7>&-
    wait "$GEN_PID" 2>/dev/null; GEN_PID=""
    kill -TERM "$SW_PID"; wait "$SW_PID"; local sw_rc=$?; SW_PID=""
    python3 - "$WORK/gen-$mode.log" "$WORK/ports-$mode.json" "$sw_rc" <<'PY'
import json, re, sys
log = open(sys.argv[1]).read()
def stat(port, field):
    blocks = re.findall(r"Forward statistics for port %d\s+-+\s+(.*?)-{20}" % port, log, re.S)
    m = re.search(field + r":\s+(\d+)", blocks[-1]) if blocks else None
    return int(m.group(1)) if m else -1
ports = {p["name"]: p for p in json.load(open(sys.argv[2]))["ports"]}
gen_tx, gen_rx = stat(1, "TX-packets"), stat(2, "RX-packets")
sw_rx, sw_tx = ports["vma"]["rx_packets"], ports["vmb"]["tx_packets"]
# The ports are driven through librte_vhost, not DPDK's net_vhost ethdev.
drivers = {n: p.get("driver") for n, p in ports.items()}
links = {n: (p["link_ups"], p["link_downs"]) for n, p in ports.items()}
print(f"generator sent {gen_tx} on A; switch received {sw_rx} on vma, sent {sw_tx} on vmb; generator received {gen_rx} on B; "
      f"drivers {drivers}; link ups/downs {links}; switch exit {sys.argv[3]}")
ok = gen_tx > 0 and gen_tx == sw_rx == sw_tx == gen_rx and sys.argv[3] == "0"
ok = ok and all(d == "librte_vhost" for d in drivers.values()) and all(l == (1, 0) for l in links.values())
sys.exit(0 if ok else 1)
PY
}
# A guest that dies under load, then comes back (switch in client mode, as with QEMU):
# the generator streams without end (infinite_rx) and is killed (SIGKILL) mid-stream. The
# switch must survive the device going away while its datapath thread is polling it (the
# vhost library unmaps the guest's memory after destroy_device returns), count one link
# down per port, and reconnect to a new generator on the same sockets: one more up per
# port, and that generator's frames counted exactly, end to end. Two datapath threads, one
# per port: vmb's one tx queue is shared under the tx lock, and destroy_device waits for
# both threads.
run_reconnect() {
    local sock_a="$WORK/a-re.sock" sock_b="$WORK/b-re.sock" ctl="$WORK/ctl-re.sock" cmd="$WORK/cmd-re"
    cat >"$WORK/sw-re.yaml" <<YAML
switch: {instance: vh$$re, control_socket: $ctl, metrics_address: "", hugepages: off, cores: [0, 1]}
ports:
  - {name: vma, type: vhost-user, path: $sock_a, mode: client, network: n}
  - {name: vmb, type: vhost-user, path: $sock_b, mode: client, network: n}
networks:
  - {name: n, vlan: 100}
vms:
  - {name: a, port: vma, mac: "02:00:00:00:00:01"}
  - {name: b, port: vmb, mac: "02:00:00:00:00:02"}
YAML
    gen() {  # LOG PREFIX PCAP_ARGS
        rm -f "$sock_a" "$sock_b"
        dpdk-testpmd --lcores=0@0,1@0 --no-huge -m 256 --no-pci --file-prefix="$2" \
            --vdev "net_pcap0,rx_pcap=$WORK/flows.pcap$3" \
            --vdev "net_virtio_user0,path=$sock_a,queues=1,queue_size=1024,mac=02:00:00:00:00:01,server=1" \
            --vdev "net_virtio_user1,path=$sock_b,queues=1,queue_size=1024,mac=02:00:00:00:00:02,server=1" \
            --vdev "net_null0,no-rx=1" -- -i --forward-mode=io --nb-cores=1 --no-flush-rx --total-num-mbufs=8192 \
            <"$cmd" >"$1" 2>&1 &
        GEN_PID=$!
    }
    links() {  # up|down: wait up to 10 s until both ports are
        local i
        for i in $(seq 1 100); do
            "$BUILD/ivctl" --socket "$ctl" --json show ports 2>/dev/null |
                python3 -c 'import json,sys; sys.exit(0 if all(p["link"]==sys.argv[1] for p in json.load(sys.stdin)["ports"]) else 1)' "$1" \
                2>/dev/null && return 0
            sleep 0.1
        done
        echo "links not $1 after 10 s"; return 1
    }
    mkfifo "$cmd"; exec 7<>"$cmd"
    gen "$WORK/gen-re1.log" "ivsvhgen$$" ",infinite_rx=1"
    sleep 1
    "$BUILD/ivswitchd" --config "$WORK/sw-re.yaml" >"$WORK/sw-re.log" 2>&1 &
    SW_PID=$!
    links up || return 1
    echo start >&7; sleep 2
    kill -KILL "$GEN_PID"; wait "$GEN_PID" 2>/dev/null; GEN_PID=""
    links down || return 1
    "$BUILD/ivctl" --socket "$ctl" --json show ports >"$WORK/ports-re1.json" || { echo "the switch does not answer"; return 1; }
    exec 7>&-; rm -f "$cmd"; mkfifo "$cmd"; exec 7<>"$cmd"
    gen "$WORK/gen-re2.log" "ivsvhgen$$b" ""
    links up || return 1
    echo start >&7; sleep 2; echo stop >&7; sleep 1
    "$BUILD/ivctl" --socket "$ctl" --json show ports >"$WORK/ports-re2.json"
    "$BUILD/ivctl" --socket "$ctl" show ports
    echo quit >&7; exec 7>&-
    wait "$GEN_PID" 2>/dev/null; GEN_PID=""
    kill -TERM "$SW_PID"; wait "$SW_PID"; local sw_rc=$?; SW_PID=""
    python3 - "$WORK/gen-re2.log" "$WORK/ports-re1.json" "$WORK/ports-re2.json" "$sw_rc" <<'PY'
import json, re, sys
log = open(sys.argv[1]).read()
def stat(port, field):
    blocks = re.findall(r"Forward statistics for port %d\s+-+\s+(.*?)-{20}" % port, log, re.S)
    m = re.search(field + r":\s+(\d+)", blocks[-1]) if blocks else None
    return int(m.group(1)) if m else -1
p1, p2 = ({p["name"]: p for p in json.load(open(f))["ports"]} for f in sys.argv[2:4])
killed = p1["vma"]["rx_packets"]
gen_tx, gen_rx = stat(1, "TX-packets"), stat(2, "RX-packets")
sw_rx = p2["vma"]["rx_packets"] - p1["vma"]["rx_packets"]
sw_tx = p2["vmb"]["tx_packets"] - p1["vmb"]["tx_packets"]
links = {n: (p["link_ups"], p["link_downs"]) for n, p in p2.items()}
print(f"{killed} frames received before the generator was killed; the second sent {gen_tx} on A; switch received {sw_rx}, "
      f"sent {sw_tx}; the second received {gen_rx} on B; link ups/downs {links}; switch exit {sys.argv[4]}")
ok = killed > 0 and gen_tx > 0 and gen_tx == sw_rx == sw_tx == gen_rx and sys.argv[4] == "0"
sys.exit(0 if ok and all(l == (2, 1) for l in links.values()) else 1)
PY
}
for mode in server client reconnect; do
    if [ "$mode" = reconnect ]; then
        if run_reconnect >"$WORK/result-re.txt" 2>&1; then
            PASS=$((PASS + 1)); echo "ok   vhost-user, a generator killed under load, then a new one: $(tail -1 "$WORK/result-re.txt")"
        else
            FAIL=$((FAIL + 1)); echo "FAIL vhost-user, a generator killed under load, then a new one"; sed 's/^/     /' "$WORK/result-re.txt"
            tail -n 5 "$WORK/sw-re.log" "$WORK"/gen-re*.log | sed 's/^/     /'
        fi
        continue
    fi
    if run_mode "$mode" >"$WORK/result-$mode.txt" 2>&1; then
        PASS=$((PASS + 1)); echo "ok   vhost-user, switch in $mode mode: $(tail -1 "$WORK/result-$mode.txt")"
    else
        FAIL=$((FAIL + 1)); echo "FAIL vhost-user, switch in $mode mode"; sed 's/^/     /' "$WORK/result-$mode.txt"
        tail -n 5 "$WORK/sw-$mode.log" "$WORK/gen-$mode.log" | sed 's/^/     /'
    fi
done
echo "vhost: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
