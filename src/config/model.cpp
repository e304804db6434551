#include "config/model.hpp"

namespace ivs::config {

std::string_view port_type_name(PortType t) {
  switch (t) {
    case PortType::kVhostUser: return "vhost-user";
    case PortType::kTap: return "tap";
    case PortType::kAfPacket: return "af_packet";
    case PortType::kAfXdp: return "af_xdp";
    case PortType::kPcap: return "pcap";
    case PortType::kRing: return "ring";
    case PortType::kNull: return "discard";
    case PortType::kChannel: return "channel";
  }
  return "?";
}

std::string_view policy_action_name(PolicyAction a) {
  switch (a) {
    case PolicyAction::kAllow: return "allow";
    case PolicyAction::kDrop: return "drop";
    case PolicyAction::kReject: return "reject";
    case PolicyAction::kInspect: return "inspect";
  }
  return "?";
}

std::string_view qos_mode_name(QosMode m) {
  switch (m) {
    case QosMode::kEnforce: return "enforce";
    case QosMode::kAudit: return "audit";
    case QosMode::kTrust: return "trust";
  }
  return "?";
}

int QosConfig::find_meter(std::string_view name) const {
  for (size_t i = 0; i < meters.size(); ++i)
    if (meters[i].name == name) return static_cast<int>(i);
  return -1;
}

const NetworkConfig* Config::find_network(std::string_view name) const {
  for (const auto& n : networks)
    if (n.name == name) return &n;
  return nullptr;
}

const PortConfig* Config::find_port(std::string_view name) const {
  for (const auto& p : ports)
    if (p.name == name) return &p;
  return nullptr;
}

int Config::find_chain(std::string_view name) const {
  for (size_t i = 0; i < chains.size(); ++i)
    if (chains[i].name == name) return static_cast<int>(i);
  return -1;
}

MacAddr default_gateway_mac(uint16_t vlan) {
  return MacAddr{{0x02, 0x49, 0x56, 0x00, static_cast<uint8_t>(vlan >> 8), static_cast<uint8_t>(vlan & 0xff)}};
}

}  // namespace ivs::config
