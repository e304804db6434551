#include "config/port_changes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "config/core_specs.hpp"
#include "forward/slotted_topology.hpp"
#include "forward/tables.hpp"

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

std::expected<PortsPlan, std::string> plan_ports(const Config& running, const Config& next,
                                                 const forward::ForwardingTables& running_tables,
                                                 const std::vector<pipeline::PortSlot>& slots,
                                                 const std::vector<unsigned>& slot_pmd, const std::vector<unsigned>& pmd_cpus) {
  auto changes = plan_port_changes(running, next);
  if (!changes) return std::unexpected(changes.error());
  PortsPlan plan;
  plan.changes = std::move(*changes);
  for (const auto& name : plan.changes.removed) {
    const int slot = running_tables.port_index(name);
    if (slot < 0) return std::unexpected(fmt::format("port '{}' is not in the port table", name));
    plan.retire.push_back(static_cast<uint16_t>(slot));
  }
  std::vector<std::optional<unsigned>> threads;  // each added port's, when its core is a datapath CPU
  for (const size_t i : plan.changes.added) {
    std::optional<unsigned> pmd;
    if (const auto core = next.ports[i].core)
      for (unsigned k = 0; k < pmd_cpus.size(); ++k)
        if (pmd_cpus[k] == *core) pmd = k;
    threads.push_back(pmd);
  }
  const unsigned n_pmds = static_cast<unsigned>(std::max<size_t>(pmd_cpus.size(), 1));
  auto slot_plan = pipeline::plan_slots(slots, slot_pmd, plan.retire, threads, n_pmds);
  if (!slot_plan) {
    const std::string first = plan.changes.added.empty() ? "" : next.ports[plan.changes.added.front()].name;
    return std::unexpected(fmt::format("ports[{}] '{}': {}", plan.changes.added.empty() ? 0 : plan.changes.added.front(), first,
                                       slot_plan.error()));
  }
  // Each port of next at its slot: a kept one where it runs, an added one where planned.
  std::vector<uint16_t> by_port(next.ports.size(), 0);
  for (size_t i = 0; i < next.ports.size(); ++i) {
    const int slot = running_tables.port_index(next.ports[i].name);
    if (slot >= 0) by_port[i] = static_cast<uint16_t>(slot);
  }
  for (size_t j = 0; j < plan.changes.added.size(); ++j) {
    const size_t i = plan.changes.added[j];
    by_port[i] = slot_plan->take[j];
    plan.added.push_back({i, slot_plan->take[j], slot_plan->pmd[j]});
  }
  auto topo = forward::topology_by_slot(topology_spec(next), by_port);
  if (!topo) return std::unexpected(topo.error());
  plan.topology = std::move(*topo);
  return plan;
}

}  // namespace ivs::config
