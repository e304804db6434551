#!/usr/bin/env bash
# Host-VM channel in network namespaces (docs/channels.md). Three namespaces stand in for
# VMs on the host switch's lan; vm1 and vm2 each run a nested ivswitchd (role guest) on
# their NIC and ivagent behind it; vm3 has no channel. Checks:
#   a round trip host -> agent -> host for vm1 and vm2 at once, with each channel's VLAN
#     on the wire (tshark at the VMs' ports) and no other;
#   an agent's message reaches a listening host daemon (acked); acknowledged mode both ways;
#   with no host daemon listening, an acked message from the agent fails (no ack), counted;
#   a gone agent: acked sends to it fail after the retries, counted;
#   isolation, each as an attack that is dropped and counted on the attacker's port:
#     another channel's VLAN on a port that the mapping does not bind; another VM's
#     metadata id; another VM's agent address; ordinary traffic to the channel address;
#     another VM posing as the host end to an agent; a flood over the channel's rate;
#   policy applies: a rule on the network channel-vm2 cuts vm2's channel, vm1's stays;
#   ivctl show channels and /metrics tell the same counts.
# usage: channel_test.sh BUILD_DIR
set -u
. "$(dirname "$0")/../../scripts/lib/netns_test.sh" channel ivc "${1:-}"
SOCK="$WORK/ctl.sock"
CHSOCK="$WORK/channel.sock"
METRICS="127.0.0.1:$((20000 + $$ % 20000))"
CHMAC=02:49:56:ff:ff:fe
write_config() {  # [EXTRA_POLICY_RULE]
    cat >"$WORK/switch.yaml" <<YAML
switch: {instance: $P, control_socket: $SOCK, metrics_address: "$METRICS"}
ports:
  - {name: vm1, type: af_packet, interface: $P-vm1, network: lan}
  - {name: vm2, type: af_packet, interface: $P-vm2, network: lan}
  - {name: vm3, type: af_packet, interface: $P-vm3, network: lan}
networks:
  - {name: lan, vlan: 10, subnet: 10.0.1.0/24}
vms:
  - {name: vm1, port: vm1, mac: "02:00:00:00:01:01", ip: 10.0.1.11}
  - {name: vm2, port: vm2, mac: "02:00:00:00:01:02", ip: 10.0.1.12}
  - {name: vm3, port: vm3, mac: "02:00:00:00:01:03", ip: 10.0.1.13}
policy:
  default: allow
  rules: [${1:-}]
channels:
  socket: $CHSOCK
  rate_pps: 20
  burst: 10
  ack_timeout_ms: 150
  retries: 4
  map:
    - {vm: vm1, id: 101, vlan: 3001, agent_mac: "02:00:00:00:a1:01", agent_ip: 169.254.77.11}
    - {vm: vm2, id: 102, vlan: 3002, agent_mac: "02:00:00:00:a1:02", agent_ip: 169.254.77.12}
YAML
}
write_config
netns_vm vm1 02:00:00:00:01:01 10.0.1.11/24
netns_vm vm2 02:00:00:00:01:02 10.0.1.12/24
netns_vm vm3 02:00:00:00:01:03 10.0.1.13/24
start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log" || exit 1
ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }

netns_channel_agent vm1 101 3001 02:00:00:00:a1:01 169.254.77.11 "$BUILD" "$WORK" --ack-timeout-ms 150 || exit 1
netns_channel_agent vm2 102 3002 02:00:00:00:a1:02 169.254.77.12 "$BUILD" "$WORK" --ack-timeout-ms 150 || exit 1
sleep 1

chan() { ivctl --json show channels | python3 -c "import json,sys; v=json.load(sys.stdin); c=[c for c in v['channels'] if c['vm']=='$1'][0]; print($2)"; }
port_drop() { ivctl --json show ports | python3 -c "import json,sys; p=[p for p in json.load(sys.stdin)['ports'] if p['name']=='$1'][0]; print(p['drops'].get('$2', 0))"; }

# --- round trip, two VMs at once, VLANs on the wire ----------------------------------------
# Each direction is captured where it is received: af_packet ports send with
# qdisc_bypass, which the sender's own taps do not see. In the VM: what the host switch
# sent it; on the host side of its veth: what the VM (its nested switch) sent.
capture_both() {  # VM: CAPTURE_PIDS += two tcpdumps writing $WORK/VM-in.pcap and VM-out.pcap
    in_vm_capture "$1" "$WORK/$1-in.out" tcpdump -i eth0 -nn -U -w "$WORK/$1-in.pcap" vlan || return 1
    CAPTURE_PIDS+=("$CAPTURE_PID")
    tcpdump -i "$P-$1" -nn -U -w "$WORK/$1-out.pcap" vlan >"$WORK/$1-out.out" 2>&1 &
    CAPTURE_PIDS+=("$!")
    local i; for i in $(seq 1 50); do grep -q "listening on" "$WORK/$1-out.out" && return 0; sleep 0.1; done
    return 1
}
round_trip() {
    CAPTURE_PIDS=()
    capture_both vm1 && capture_both vm2 || return 1
    ivctl channel send vm1 ping >"$WORK/rt1" 2>&1 &
    local s1=$!
    ivctl channel send vm2 ping >"$WORK/rt2" 2>&1 &
    local s2=$!
    local rc=0
    wait $s1 || rc=1
    wait $s2 || rc=1
    sleep 1; kill -INT "${CAPTURE_PIDS[@]}"; wait "${CAPTURE_PIDS[@]}" 2>/dev/null
    cat "$WORK/rt1" "$WORK/rt2"
    grep -q "answer from vm1 (id 101) seq [0-9]*: pong from vm1" "$WORK/rt1" || rc=1
    grep -q "answer from vm2 (id 102) seq [0-9]*: pong from vm2" "$WORK/rt2" || rc=1
    echo "tshark on each VM's link (count, VLAN, src -> dst, UDP dst port, channel id):"
    local vm id vlan aip dir
    for vm in vm1 vm2; do
        for dir in in out; do
            tshark -r "$WORK/$vm-$dir.pcap" -T fields -e vlan.id -e ip.src -e ip.dst -e udp.dstport -e data.data 2>/dev/null |
                python3 -c "import sys
for l in sys.stdin:
    v, s, d, p, data = l.split()
    print('  $vm $dir: VLAN', v, s, '->', d, 'udp', p, 'id', int(data[16:24], 16))"
        done
    done
    # Into vm1 exactly one VLAN 3001 frame from the channel address to its agent, carrying
    # id 101; out of vm1 one the other way; likewise 3002/102 for vm2; no other VLAN.
    for vm in vm1 vm2; do
        if [ $vm = vm1 ]; then id=101 vlan=3001 aip=169.254.77.11; else id=102 vlan=3002 aip=169.254.77.12; fi
        [ "$(tshark -r "$WORK/$vm-in.pcap" -Y "vlan.id == $vlan && ip.src == 169.254.77.1 && ip.dst == $aip && udp.dstport == 7077 && data.data[8:4] == $(printf '%08x' $id | sed 's/../&:/g;s/:$//')" 2>/dev/null | wc -l)" = 1 ] || rc=1
        [ "$(tshark -r "$WORK/$vm-out.pcap" -Y "vlan.id == $vlan && ip.src == $aip && ip.dst == 169.254.77.1 && udp.dstport == 7077 && data.data[8:4] == $(printf '%08x' $id | sed 's/../&:/g;s/:$//')" 2>/dev/null | wc -l)" = 1 ] || rc=1
        [ "$(tshark -r "$WORK/$vm-in.pcap" -Y "vlan.id != $vlan" 2>/dev/null | wc -l)" = 0 ] || rc=1
        [ "$(tshark -r "$WORK/$vm-out.pcap" -Y "vlan.id != $vlan" 2>/dev/null | wc -l)" = 0 ] || rc=1
    done
    return $rc
}
CHECK_TAIL_OK=8 check "round trip host -> agent -> host for vm1 and vm2 at once, each on its own VLAN" round_trip

acked_both_ways() {
    ivctl channel send vm1 --ack 'echo acked hello' || return 1
    timeout 10 "$BUILD/ivctl" --socket "$SOCK" channel listen vm1 --count 1 >"$WORK/listen.out" 2>&1 &
    local l=$!
    sleep 0.5
    in_vm vm1 "$BUILD/ivagent" send --ip 169.254.77.11 --id 101 --ack-timeout-ms 150 --ack "backup of vm1 done" || return 1
    wait $l || return 1
    cat "$WORK/listen.out"
    grep -q "vm1 (id 101) seq [0-9]*: backup of vm1 done" "$WORK/listen.out"
}
check "acknowledged mode both ways; an agent's message reaches the listening host daemon" acked_both_ways

no_host_daemon() {
    local before after
    before=$(chan vm1 "c['from_vm']['no_listener']")
    if in_vm vm1 "$BUILD/ivagent" send --ip 169.254.77.11 --id 101 --ack-timeout-ms 100 --retries 2 --ack "anyone there?"; then
        echo "acked with no host daemon listening"; return 1
    fi
    after=$(chan vm1 "c['from_vm']['no_listener']")
    echo "no_listener: $before -> $after (3 tries, none acked)"
    [ "$after" -ge $((before + 3)) ]
}
check "no host daemon listening: the agent's acked message fails, counted (no_listener)" no_host_daemon

agent_gone() {
    local pid
    pid=$(eval echo "\$AGENT_PID_vm2")
    kill -TERM "$pid"; wait "$pid" 2>/dev/null
    local f0 r0
    f0=$(chan vm2 "c['to_vm']['failed']"); r0=$(chan vm2 "c['to_vm']['retries']")
    if ivctl channel send vm2 --ack --timeout 5 ping; then echo "acked by a stopped agent"; return 1; fi
    echo "failed: $f0 -> $(chan vm2 "c['to_vm']['failed']"), retries: $r0 -> $(chan vm2 "c['to_vm']['retries']")"
    [ "$(chan vm2 "c['to_vm']['failed']")" = $((f0 + 1)) ] && [ "$(chan vm2 "c['to_vm']['retries']")" = $((r0 + 4)) ] || return 1
    # the other VM's channel is not stalled by it
    ivctl channel send vm1 ping
}
check "a gone agent: acked sends fail after 4 retries (counted); the other channel goes on" agent_gone

# --- isolation: attacks, each dropped and counted on the attacker's port ------------------
attack() {  # DESCRIPTION PORT REASON VM ARGS...: sends from VM's eth0, expects REASON +5 on PORT
    local what=$1 port=$2 reason=$3 vm=$4 before after rx0 rx1; shift 4
    before=$(port_drop "$port" "$reason")
    rx0=$(ivctl --json show channels | python3 -c "import json,sys; print(sum(c['from_vm']['received'] for c in json.load(sys.stdin)['channels']))")
    in_vm "$vm" python3 "$HERE/channel_frame.py" eth0 --count 5 "$@" || return 1
    sleep 0.5
    after=$(port_drop "$port" "$reason")
    rx1=$(ivctl --json show channels | python3 -c "import json,sys; print(sum(c['from_vm']['received'] for c in json.load(sys.stdin)['channels']))")
    echo "$what: $reason on port $port $before -> $after; messages the host end received $rx0 -> $rx1"
    [ "$after" -ge $((before + 5)) ] && [ "$rx1" = "$rx0" ]
}
check "vm3 sends on vm1's channel VLAN: dropped (channel.ingress.wrong_port)" \
    attack "vm3 on VLAN 3001" vm3 channel.ingress.wrong_port vm3 --vlan 3001 --src-mac 02:00:00:00:01:03 --dst-mac $CHMAC \
    --src-ip 169.254.77.13 --dst-ip 169.254.77.1 --id 101
check "vm2 claims vm1's metadata id on its own channel: dropped (channel.ingress.wrong_id)" \
    attack "vm2 with id 101" vm2 channel.ingress.wrong_id vm2 --vlan 3002 --src-mac 02:00:00:00:a1:02 --dst-mac $CHMAC \
    --src-ip 169.254.77.12 --dst-ip 169.254.77.1 --id 101
check "vm2 claims vm1's agent address on its own channel: dropped (channel.ingress.spoofed_address)" \
    attack "vm2 as 169.254.77.11" vm2 channel.ingress.spoofed_address vm2 --vlan 3002 --src-mac 02:00:00:00:a1:01 --dst-mac $CHMAC \
    --src-ip 169.254.77.11 --dst-ip 169.254.77.1 --id 102
check "ordinary (untagged) traffic to the channel address: dropped (channel.address_reserved)" \
    attack "vm3 untagged to 169.254.77.1" vm3 channel.address_reserved vm3 --vlan 0 --src-mac 02:00:00:00:01:03 --dst-mac $CHMAC \
    --src-ip 10.0.1.13 --dst-ip 169.254.77.1 --id 101
check "vm3 poses as the host end to vm1's agent over the lan: dropped (channel.address_reserved)" \
    attack "vm3 as 169.254.77.1 to vm1's eth0" vm3 channel.address_reserved vm3 --vlan 0 --src-mac 02:00:00:00:01:03 \
    --dst-mac 02:00:00:00:01:01 --src-ip 169.254.77.1 --sport 7077 --dst-ip 169.254.77.11 --id 101

rate_limit() {
    local before after rx0 rx1
    before=$(port_drop vm1 channel.ingress.rate_limited)
    rx0=$(chan vm1 "c['from_vm']['received']")
    # 200 well-formed messages at once from vm1's NIC (bypassing its nested switch): the
    # switch admits the burst (10) and the rate (20/s), drops the rest.
    in_vm vm1 python3 "$HERE/channel_frame.py" eth0 --count 200 --vlan 3001 --src-mac 02:00:00:00:a1:01 --dst-mac $CHMAC \
        --src-ip 169.254.77.11 --dst-ip 169.254.77.1 --id 101 --text flood || return 1
    sleep 0.5
    after=$(port_drop vm1 channel.ingress.rate_limited)
    rx1=$(chan vm1 "c['from_vm']['received']")
    echo "200 sent: channel.ingress.rate_limited $before -> $after; received by the host end $rx0 -> $rx1"
    [ $((after - before)) -ge 150 ] && [ $((rx1 - rx0)) -le 50 ] && [ $((rx1 - rx0 + after - before)) -ge 195 ]
}
check "a flood over the channel's rate (20/s, burst 10): the excess dropped (channel.ingress.rate_limited)" rate_limit

policy_applies() {
    write_config '{name: no-channel-vm1, network: channel-vm1, action: drop}'
    ivctl policy reload || return 1
    local d0
    d0=$(port_drop channel policy.denied)
    if ivctl channel send vm1 ping --timeout 2; then echo "answered despite the policy"; return 1; fi
    echo "policy.denied on port channel: $d0 -> $(port_drop channel policy.denied)"
    [ "$(port_drop channel policy.denied)" -gt "$d0" ] || return 1
    write_config
    ivctl policy reload || return 1
    ivctl channel send vm1 ping
}
check "policy applies: a rule on network channel-vm1 cuts vm1's channel; removed, it works again" policy_applies

views() {
    ivctl show channels
    curl -sf "http://$METRICS/metrics" >"$WORK/m.txt" || return 1
    grep -E '^ivswitch_channel_to_vm_total\{vm="vm1",what="sent"\} [1-9]' "$WORK/m.txt" &&
    grep -E '^ivswitch_channel_from_vm_total\{vm="vm1",what="delivered"\} [1-9]' "$WORK/m.txt" &&
    grep -E '^ivswitch_port_drops_total\{port="vm2",reason="channel.ingress.wrong_id"\} [1-9]' "$WORK/m.txt"
}
CHECK_TAIL_OK=30 check "ivctl show channels and /metrics" views
summary channel
