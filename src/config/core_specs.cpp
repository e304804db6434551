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

}  // namespace ivs::config
