#pragma once
// The topology with its ports laid out by slot of the port table (docs/architecture.md,
// "Ports that come and go"): the forwarding tables built from it index a port by its slot,
// as every per-port array of the datapath and the modules does. At start the slots are the
// ports' positions; a reload that adds and removes ports builds its next tables from the
// next file's topology laid out here, the ports it keeps in their slots, the added ones in
// the slots planned for them (pipeline/port_slots.hpp).
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "forward/topology.hpp"

namespace ivs::forward {

// Port i of `topo` at slot `slots[i]`; a slot no port holds (below the highest one held)
// is empty: no name (ForwardingTables::port_index never finds it), no network, in no flood
// list. Refused: a slot given twice, or a count that differs from the ports'.
std::expected<TopologySpec, std::string> topology_by_slot(TopologySpec topo, const std::vector<uint16_t>& slots);

}  // namespace ivs::forward
