# shellcheck shell=bash
# Switch under test: ivswitchd, connected as vhost-user client to SOCK_A (port vha) and
# SOCK_B (port vhb), one datapath thread, every thread pinned to SW_CPU.
# Modes:
#   l2      one network; both generator MACs are configured VMs (static MAC table), so the
#           frames MAC_A -> MAC_B are switched A -> B (compare: ovs-dpdk:normal)
#   routed  two networks; frames to the gateway MAC of network a for 10.1.0.1 (a VM on port
#           B) are routed: MACs rewritten, TTL-1, checksum updated (compare: ovs-dpdk:routed)
#   policy1k  l2 plus a policy of 1000 rules, default drop: 999 that never match the
#           generator's flows, then one that allows them (compare: ovs-dpdk:acl1k, the same
#           as OpenFlow rules, stateless; and ovs-dpdk:ct, stateful)
#   qos     l2 plus the QoS guard: VM a must mark EF (mode enforce); the generator's frames
#           carry DSCP 0, so every packet is rewritten (DSCP, IPv4 checksum) and counted
#           (compare: ovs-dpdk:dscp, mod_nw_tos on every packet)
#   mirror1pct  l2 plus a mirror at port vha whose filter selects 1% of the 10,000-flow
#           pcap's flows (UDP source ports 1024-1123), copies to a discard port (no OVS
#           equivalent: OVS mirrors select by port and VLAN, not by content)
#   MODE-poll  any mode above with idle_sleep_max_us 0 (busy-poll when idle, like OVS's
#           PMD; by default an idle datapath thread naps up to 500 us, which shows in
#           latency at low packet rates, not in throughput)
#   flowsetup l2 plus a policy of one allow rule for the generator's UDP flows, default
#           drop, upcall rate limit off: every new 5-tuple is set up by the policy thread
#           (compare: ovs-dpdk:flowsetup; used by flowsetup.sh)
# The busy TSC cycles per packet of the datapath thread over the measured window go to
# $RUN_DIR/cycles.txt (from `ivctl --json show pmd` before and after).

: "${IVSWITCH_BUILD:=$BENCH_SRC/../../build/release}"
SUT_EXE_MATCH=ivswitchd
IVS_DIR="$BENCH_DIR/ivswitch"

ivs_ctl() { "$IVSWITCH_BUILD/ivctl" --socket "$IVS_DIR/ctl.sock" "$@"; }

sut_start() {
    local mode=${1:-l2} huge=on nap=""
    [ "$MEM_MODE" = nohuge ] && huge=off
    # MODE-poll: the same, busy-polling when idle (idle_sleep_max_us 0), as OVS's PMD does
    case "$mode" in *-poll) mode=${mode%-poll}; nap=", idle_sleep_max_us: 0" ;; esac
    mkdir -p "$IVS_DIR"
    {
        echo "switch: {instance: ivsbench_sw, cores: [$SW_CPU], control_socket: $IVS_DIR/ctl.sock, metrics_address: '', hugepages: $huge$nap}"
        echo "ports:"
        case "$mode" in
            l2|policy1k|flowsetup|qos|mirror1pct)
                echo "  - {name: vha, type: vhost-user, path: $SOCK_A, mode: client, network: n}"
                echo "  - {name: vhb, type: vhost-user, path: $SOCK_B, mode: client, network: n}"
                [ "$mode" = mirror1pct ] && echo "  - {name: tool, type: discard, network: tools}"
                echo "networks: [{name: n, vlan: 100}$([ "$mode" = mirror1pct ] && echo ", {name: tools, vlan: 999}")]"
                echo "vms:"
                echo "  - {name: a, port: vha, mac: '$MAC_A'}"
                echo "  - {name: b, port: vhb, mac: '$MAC_B'}"
                if [ "$mode" = policy1k ]; then
                    echo "flows: {table_size: 262144, upcall_rate: 1000000}"
                    echo "policy:"
                    echo "  default: drop"
                    echo "  rules:"
                    local i
                    for i in $(seq 0 998); do
                        echo "    - {name: r$i, from: 172.16.$((i / 256)).$((i % 256))/32, to: 172.17.$((i / 256)).$((i % 256))/32, protocol: tcp, ports: [$((1 + i))], action: drop}"
                    done
                    echo "    - {name: allow-generator, from: 10.0.0.0/8, protocol: udp, action: allow}"
                fi
                if [ "$mode" = qos ]; then
                    echo "qos: {assign: [{name: a-ef, from: a, dscp: EF, mode: enforce}]}"
                fi
                if [ "$mode" = mirror1pct ]; then
                    echo "mirrors: [{name: one-percent, taps: [vha], filter: 'udp src portrange 1024-1123', tools: [{port: tool}]}]"
                fi
                if [ "$mode" = flowsetup ]; then
                    echo "flows: {table_size: 2097152, upcall_rate: 10000000}"
                    echo "policy: {default: drop, rules: [{name: allow-generator, from: 10.0.0.0/8, protocol: udp, action: allow}]}"
                fi ;;
            routed)
                echo "  - {name: vha, type: vhost-user, path: $SOCK_A, mode: client, network: a}"
                echo "  - {name: vhb, type: vhost-user, path: $SOCK_B, mode: client, network: b}"
                echo "networks:"
                echo "  - {name: a, vlan: 10, subnet: 10.0.0.0/16, gateway: 10.0.255.254, gateway_mac: '$GW_MAC_A'}"
                echo "  - {name: b, vlan: 20, subnet: 10.1.0.0/16, gateway: 10.1.255.254}"
                echo "vms:"
                echo "  - {name: b, port: vhb, mac: '$MAC_B', ip: 10.1.0.1}" ;;
            *) die "ivswitch: unknown mode $mode" ;;
        esac
    } >"$IVS_DIR/switch.yaml"
    cp "$IVS_DIR/switch.yaml" "$RUN_DIR/"
    spawn sw taskset -c "$SW_CPU" "$IVSWITCH_BUILD/ivswitchd" --config "$IVS_DIR/switch.yaml"
}

sut_measure_begin() { ivs_ctl --json show pmd >"$IVS_DIR/pmd-begin.json"; }

sut_collect() {
    ivs_ctl --json show pmd >"$IVS_DIR/pmd-end.json" 2>/dev/null || return 0
    ivs_ctl show ports >"$RUN_DIR/ivswitch-ports.txt" 2>&1
    ivs_ctl show policy >"$RUN_DIR/ivswitch-policy.txt" 2>&1
    ivs_ctl show pmd >>"$RUN_DIR/ivswitch-ports.txt" 2>&1
    python3 - "$IVS_DIR/pmd-begin.json" "$IVS_DIR/pmd-end.json" >"$RUN_DIR/cycles.txt" <<'PY'
import json, sys
a, b = (json.load(open(f))["pmds"][0] for f in sys.argv[1:3])
pk, cy = b["packets"] - a["packets"], b["busy_cycles"] - a["busy_cycles"]
print("%.1f" % (cy / pk) if pk else "nan")
PY
}

sut_stop() {
    stop_pidfile "$PIDDIR/sw.pid"
    cp -f "$IVS_DIR"/*.json "$RUN_DIR/" 2>/dev/null
    rm -rf "$IVS_DIR"
}
