#include "forward/static_neighbors6.hpp"

#include <algorithm>

#include "forward/concurrent_table.hpp"

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

void apply_static_neighbors6(const StaticNeighbors6& running, const StaticNeighbors6& next, ConcurrentTable& neighbors6) {
  for (const auto& [addr, v] : running)
    if (std::none_of(next.begin(), next.end(), [&](const auto& e) { return e.first == addr; })) neighbors6.erase(addr.data());
  for (const auto& [addr, v] : next) neighbors6.upsert(addr.data(), v, 0);
}

}  // namespace ivs::forward
