# shellcheck shell=bash
# The topology of the chain test and the chain benchmark: vm1 (web, 10.0.1.11) and vm3
# (db, 10.0.2.13) with a router + nftables firewall namespace as their gateway (legs fwa
# 10.0.1.1 and fwb 10.0.2.1), which is chain fw's device. Needs netns.sh, $P and $WORK.
#
# chain_topology_config SOCK METRICS CHAIN-EXTRA RULES-YAML
#   writes $WORK/switch.yaml; CHAIN-EXTRA is appended to the chain's flow map
#   (e.g. ", on_failure: open"); RULES-YAML is the policy's rule lines (default allow).
# chain_topology_up: creates the namespaces.
chain_topology_config() {
    cat >"$WORK/switch.yaml" <<YAML
switch: {instance: $P, control_socket: $1, metrics_address: "$2"}
ports:
  - {name: vm1, type: af_packet, interface: $P-vm1, network: web}
  - {name: vm3, type: af_packet, interface: $P-vm3, network: db}
  - {name: fwa, type: af_packet, interface: $P-fwa, network: web}
  - {name: fwb, type: af_packet, interface: $P-fwb, network: db}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24}
  - {name: db, vlan: 20, subnet: 10.0.2.0/24}
vms:
  - {name: vm1, port: vm1, mac: "02:00:00:00:01:01", ip: 10.0.1.11}
  - {name: vm3, port: vm3, mac: "02:00:00:00:02:03", ip: 10.0.2.13}
chains:
  - {name: fw, out_port: fwa, return_port: fwb$3}
policy:
  default: allow
  rules:
$4
YAML
}
chain_topology_up() {
    netns_vm vm1 02:00:00:00:01:01 10.0.1.11/24 10.0.1.1 &&
        netns_vm vm3 02:00:00:00:02:03 10.0.2.13/24 10.0.2.1 &&
        netns_firewall fwa 02:fe:00:00:00:01 10.0.1.1/24 fwb 02:fe:00:00:00:02 10.0.2.1/24
}
