#include "forward/slotted_topology.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ivs::forward {

std::expected<TopologySpec, std::string> topology_by_slot(TopologySpec topo, const std::vector<uint16_t>& slots) {
  if (slots.size() != topo.ports.size())
    return std::unexpected(fmt::format("{} slots for {} ports", slots.size(), topo.ports.size()));
  const size_t n = slots.empty() ? 0 : size_t{*std::max_element(slots.begin(), slots.end())} + 1;
  std::vector<TopologySpec::Port> by_slot(n);
  std::vector<bool> held(n, false);
  for (size_t i = 0; i < slots.size(); ++i) {
    if (held[slots[i]]) return std::unexpected(fmt::format("port '{}': slot {} is given twice", topo.ports[i].name, slots[i]));
    held[slots[i]] = true;
    by_slot[slots[i]] = std::move(topo.ports[i]);
  }
  topo.ports = std::move(by_slot);
  return topo;
}

}  // namespace ivs::forward
