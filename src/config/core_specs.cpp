#include "config/core_specs.hpp"

namespace ivs::config {

flow::IdleTimeouts idle_timeouts(const FlowConfig& c) {
  return {.tcp_handshake_s = c.tcp_handshake_s,
          .tcp_established_s = c.tcp_established_s,
          .tcp_closing_s = c.tcp_closing_s,
          .udp_s = c.udp_s,
          .icmp_s = c.icmp_s,
          .other_s = c.other_s};
}

namespace {
dpdk::PortKind kind_of(PortType t) {
  switch (t) {
    case PortType::kVhostUser: return dpdk::PortKind::kVhostUser;
    case PortType::kTap: return dpdk::PortKind::kTap;
    case PortType::kAfPacket: return dpdk::PortKind::kAfPacket;
    case PortType::kAfXdp: return dpdk::PortKind::kAfXdp;
    case PortType::kPcap: return dpdk::PortKind::kPcap;
    case PortType::kRing: return dpdk::PortKind::kRing;
    case PortType::kNull: return dpdk::PortKind::kNull;
    case PortType::kChannel: return dpdk::PortKind::kChannel;
  }
  return dpdk::PortKind::kNull;
}

dpdk::EalHugepages hugepages_of(HugepageMode m) {
  switch (m) {
    case HugepageMode::kOn: return dpdk::EalHugepages::kOn;
    case HugepageMode::kOff: return dpdk::EalHugepages::kOff;
    case HugepageMode::kAuto: return dpdk::EalHugepages::kAuto;
  }
  return dpdk::EalHugepages::kAuto;
}
}  // namespace

dpdk::PortSpec port_spec(const PortConfig& p) {
  return {.name = p.name,
          .kind = kind_of(p.type),
          .interface = p.interface,
          .mtu = p.mtu,
          .rx_file = p.rx_file,
          .tx_file = p.tx_file,
          .vhost_path = p.path,
          .vhost_client = p.vhost_client};
}

std::vector<dpdk::PortSpec> port_specs(const Config& cfg) {
  std::vector<dpdk::PortSpec> out;
  out.reserve(cfg.ports.size());
  for (const auto& p : cfg.ports) out.push_back(port_spec(p));
  return out;
}

dpdk::EalSpec eal_spec(const Config& cfg) {
  return {.instance = cfg.sw.instance,
          .cores = cfg.sw.cores,
          .hugepages = hugepages_of(cfg.sw.hugepages),
          .table_entries = uint64_t{cfg.sw.fdb_size} + cfg.sw.neighbor_size + cfg.flows.table_size,
          .ports = port_specs(cfg)};
}

forward::TopologySpec topology_spec(const Config& cfg) {
  forward::TopologySpec t;
  for (const auto& n : cfg.networks) t.networks.push_back({n.name, n.vlan, n.subnet, n.gateway, n.gateway_mac, n.channel, n.subnet6, n.gateway6});
  for (const auto& p : cfg.ports) t.ports.push_back({p.name, p.access_network, p.trunk_networks, p.native_network});
  for (const auto& r : cfg.routes) t.routes.push_back({r.prefix, r.via});
  if (const auto& ch = cfg.channel; ch.enabled()) {
    t.channel = {true, ch.mac, ch.ip, static_cast<uint16_t>(ch.udp_port), ch.rate_pps, ch.burst, {}};
    // The agent side: the VM's port (host role) or the agent's port (guest role); the
    // host side: the internal channel port (host role) or the uplink (guest role).
    const bool host = ch.role == ChannelConfig::Role::kHost;
    for (const auto& b : ch.map) {
      std::string agent_port = b.port;
      if (host)
        for (const auto& vm : cfg.vms)
          if (vm.name == b.vm) agent_port = vm.port;
      t.channel.map.push_back({b.id, b.agent_mac, b.agent_ip, b.vlan, std::move(agent_port),
                               host ? std::string(kChannelPortName) : ch.uplink});
    }
  }
  for (const auto& vm : cfg.vms) t.hosts.push_back({vm.network, vm.port, vm.mac, vm.ip, vm.allowed_addresses});
  return t;
}

pipeline::DatapathSpec datapath_spec(const Config& cfg) {
  pipeline::DatapathSpec d;
  for (const auto& p : cfg.ports) {
    pipeline::DatapathPortSpec ps{port_spec(p), p.core, std::string(port_type_name(p.type)), {}, {}};
    switch (p.type) {
      case PortType::kVhostUser: ps.detail = p.path + (p.vhost_client ? " (client)" : " (server)"); break;
      case PortType::kPcap: ps.detail = "rx=" + (p.rx_file.empty() ? "-" : p.rx_file) + " tx=" + (p.tx_file.empty() ? "-" : p.tx_file); break;
      default: ps.detail = p.interface;
    }
    if (!p.access_network.empty()) {
      ps.network_mode = "access " + p.access_network;
      // A VM's port on the host also carries its channel's VLAN, tagged.
      for (const auto& t : p.trunk_networks) ps.network_mode += " + " + t + " tagged";
    } else {
      ps.network_mode = "trunk";
      for (const auto& t : p.trunk_networks) ps.network_mode += " " + t + (t == p.native_network ? "(native)" : "");
    }
    d.ports.push_back(std::move(ps));
  }
  d.topology = topology_spec(cfg);
  d.fdb_size = cfg.sw.fdb_size;
  d.fdb_aging_seconds = cfg.sw.fdb_aging_seconds;
  d.neighbor_size = cfg.sw.neighbor_size;
  d.idle_sleep_max_us = cfg.sw.idle_sleep_max_us;
  d.flow_table_size = cfg.flows.table_size;
  d.upcall_rate = cfg.flows.upcall_rate;
  d.max_ports = static_cast<uint16_t>(cfg.sw.max_ports);
  return d;
}

}  // namespace ivs::config
