#include "forward/static_neighbors6.hpp"

#include <algorithm>

#include "forward/concurrent_table.hpp"
#include "forward/static_entries.hpp"

namespace ivs::forward {

StaticNeighbors6 static_neighbors6(const TopologySpec& topo, const ForwardingTables& tables) {
  StaticNeighbors6 out;
  for (const auto& h : topo.hosts) {
    const NetworkInfo* net = nullptr;
    for (size_t i = 0; i < tables.network_count(); ++i)
      if (tables.network(static_cast<int16_t>(i)).name == h.network) net = &tables.network(static_cast<int16_t>(i));
    if (!net || !net->gateway6 || !net->subnet6) continue;
    for (const auto& a : h.addresses)
      if (a.family == 6 && a.len == 128 && net->subnet6->contains(a.bytes.data()))
        out.emplace_back(a.bytes, NeighborEntry{h.mac, true}.encode());
  }
  return out;
}

std::vector<std::array<uint8_t, 16>> removed_neighbors6(const StaticNeighbors6& running, const StaticNeighbors6& next) {
  std::vector<std::array<uint8_t, 16>> out;
  for (const auto& [addr, v] : running)
    if (std::none_of(next.begin(), next.end(), [&](const auto& e) { return e.first == addr; })) out.push_back(addr);
  return out;
}

StaticApplyResult apply_static_neighbors6(const StaticNeighbors6& running, const StaticNeighbors6& next, ConcurrentTable& neighbors6,
                                          const std::function<void()>& grace_period) {
  StaticApplyResult r;
  for (const auto& addr : removed_neighbors6(running, next)) neighbors6.erase(addr.data());
  for (const auto& [addr, v] : next) write_static_entry(neighbors6, addr.data(), addr.size(), v, neighbor_static, grace_period, r);
  return r;
}

}  // namespace ivs::forward
