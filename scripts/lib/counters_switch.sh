# shellcheck shell=bash
# The switch of the suites that read what users see of the counters
# (scripts/capture-outputs.sh, tests/integration/prometheus_test.sh): VMs vm1..vmN on
# network web, with the optional counter groups both need on: QoS (vm1's traffic marked
# AF21 and metered by `cap`, class interactive, vm2's egress scheduled) and a host-VM
# channel for vm2. Needs netns.sh, $P, $WORK and $BUILD (netns_test.sh sets them).
#
# counters_switch_up N EXTRA_PORTS EXTRA_NETWORKS EXTRA_SECTIONS
#   sets SOCK and METRICS (a free loopback port); writes $WORK/switch.yaml, the EXTRA_*
#   YAML lines added to its ports, its networks and its end; makes vm1..vmN's namespaces
#   (vmI: 02:00:00:00:01:0I, 10.0.1.1I/24, gateway 10.0.1.1); starts the switch (ended
#   by netns_cleanup); defines ivctl (this switch's ivctl).
# free_port: a free TCP port on loopback.

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

counters_switch_up() {
    local n=$1 i ports="" vms=""
    SOCK="$WORK/ctl.sock"
    METRICS=127.0.0.1:$(free_port)
    for i in $(seq 1 "$n"); do
        ports+="  - {name: vm$i, type: af_packet, interface: $P-vm$i, network: web}"$'\n'
        vms+="  - {name: vm$i, port: vm$i, mac: \"02:00:00:00:01:0$i\", ip: 10.0.1.1$i}"$'\n'
    done
    cat >"$WORK/switch.yaml" <<YAML
switch: {instance: $P, control_socket: $SOCK, metrics_address: "$METRICS", hugepages: "off"}
ports:
$ports$2
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
$3
vms:
$vms
qos:
  assign:
    - {name: vm1-af21, from: 10.0.1.11/32, dscp: AF21, meter: cap}
  classes:
    - {name: interactive, dscp: [AF21], priority: 0}
  meters:
    - {name: cap, cir_kbit: 5000, pir_kbit: 5000, yellow: drop, red: drop}
  egress:
    - {port: vm2, rate_kbit: 20000, queue_packets: 64}
channels:
  socket: $WORK/channel.sock
  map:
    - {vm: vm2, id: 1002, vlan: 3002, agent_mac: "02:00:00:00:a1:02", agent_ip: 169.254.77.12}
$4
YAML
    for i in $(seq 1 "$n"); do netns_vm "vm$i" "02:00:00:00:01:0$i" "10.0.1.1$i/24" 10.0.1.1 || return 1; done
    start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log"
}

ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }
