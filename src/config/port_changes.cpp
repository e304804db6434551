#include "config/port_changes.hpp"

#include <fmt/format.h>

namespace ivs::config {

std::string port_difference(const PortConfig& a, const PortConfig& b) {
  if (a.type != b.type) return "type";
  if (a.path != b.path) return "path";
  if (a.vhost_client != b.vhost_client) return "mode";
  if (a.interface != b.interface) return "interface";
  if (a.rx_file != b.rx_file) return "rx_file";
  if (a.tx_file != b.tx_file) return "tx_file";
  if (a.access_network != b.access_network) return "network";
  if (a.trunk_networks != b.trunk_networks) return "trunk";
  if (a.native_network != b.native_network) return "native";
  if (a.core != b.core) return "core";
  if (a.port_security != b.port_security) return "port_security";
  if (a.mtu != b.mtu) return "mtu";
  return "";
}

std::expected<PortChanges, std::string> plan_port_changes(const Config& running, const Config& next) {
  PortChanges c;
  size_t kept = 0;
  for (const auto& p : running.ports) {
    const PortConfig* q = next.find_port(p.name);
    if (q && port_difference(p, *q).empty()) {
      ++kept;
      continue;
    }
    if (p.type == PortType::kChannel)  // (the channels section itself changes only at a restart)
      return std::unexpected(fmt::format("port '{}' is the channels' own port: it changes with the channels section, at a restart", p.name));
    c.removed.push_back(p.name);
    if (q) c.changed.push_back(p.name);
  }
  for (size_t i = 0; i < next.ports.size(); ++i) {
    const PortConfig& q = next.ports[i];
    const PortConfig* p = running.find_port(q.name);
    if (p && port_difference(*p, q).empty()) continue;
    if (q.type == PortType::kChannel)
      return std::unexpected(fmt::format("port '{}' is the channels' own port: it changes with the channels section, at a restart", q.name));
    c.added.push_back(i);
  }
  const size_t slots = running.sw.max_ports;
  if (c.added.empty() && kept + c.removed.size() > slots)  // (the files' validation refuses such a table)
    return std::unexpected(fmt::format("the running switch has {} ports, more than switch.max_ports {}", kept + c.removed.size(), slots));
  if (kept + c.removed.size() + c.added.size() > slots) {
    const PortConfig& first = next.ports[c.added.front()];
    return std::unexpected(fmt::format("ports[{}] '{}': no free slot in the port table (switch.max_ports {}: {} port(s) kept, {} removed by "
                                       "this reload, whose slots are free from the next reload on, {} added); remove ports in one reload "
                                       "and add them in the next, or raise switch.max_ports at a restart",
                                       c.added.front(), first.name, slots, kept, c.removed.size(), c.added.size()));
  }
  return c;
}

}  // namespace ivs::config
