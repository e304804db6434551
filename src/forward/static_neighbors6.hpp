#pragma once
// The configured VMs' IPv6 addresses as static IPv6 neighbours: each full-length IPv6
// address a VM lists in allowed_addresses, inside the subnet6 of its network when that
// network has a gateway6 (the switch routes to it at once, without a solicitation, as it
// does to a VM's IPv4 `ip`). Never aged; a reload rewrites them (forward/static_entries
// does the same for the MAC table and the IPv4 neighbours; kept apart here so that the
// IPv6 ones need no change there).
#include <array>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "forward/static_entries.hpp"
#include "forward/tables.hpp"
#include "forward/topology.hpp"

namespace ivs::forward {

class ConcurrentTable;

using StaticNeighbors6 = std::vector<std::pair<std::array<uint8_t, 16>, uint64_t>>;  // address -> NeighborEntry (is_static)
StaticNeighbors6 static_neighbors6(const TopologySpec& topo, const ForwardingTables& tables);

// Writer side (the tables' one writer): the entries of `running` that `next` no longer
// has are erased, then every entry of `next` is written (a learned entry under the same
// address becomes static), a full table making room as forward::apply_static_entries does
// (the least recently seen learned neighbour evicted, `grace_period` waited).
StaticApplyResult apply_static_neighbors6(const StaticNeighbors6& running, const StaticNeighbors6& next, ConcurrentTable& neighbors6,
                                          const std::function<void()>& grace_period = [] {});
// The addresses of `running` that `next` no longer has.
std::vector<std::array<uint8_t, 16>> removed_neighbors6(const StaticNeighbors6& running, const StaticNeighbors6& next);

}  // namespace ivs::forward
