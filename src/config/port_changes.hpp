#pragma once
// Ports added and removed by a reload (issue 19 item 3): what differs between the ports
// the switch runs and those of the next file, decided where the config model is known.
// The core's half, which slot each added port takes and which thread polls it, is
// pipeline/port_slots.hpp; the apply order is in docs/architecture.md ("Ports that come
// and go").
//
// A port still named by a VM, a mirror, a chain or an uplink of the next file cannot be
// removed alone: the next file does not load (its validation names what uses the port,
// with its line); removed together with its users in one file, it is planned here.
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "forward/topology.hpp"
#include "pipeline/port_slots.hpp"

namespace ivs::forward {
class ForwardingTables;
}

namespace ivs::config {

struct PortChanges {
  std::vector<std::string> removed;  // running's ports not in next, and the changed ones
  std::vector<size_t> added;         // next's port indices: new ports, and the changed ones
  std::vector<std::string> changed;  // in both, a field differs: removed and added again
  bool empty() const { return removed.empty() && added.empty(); }
};

// The fields of a port that a reload compares ("": the same; else the first that differs).
std::string port_difference(const PortConfig& a, const PortConfig& b);

// What `next` adds and removes against `running`, or why it cannot be done at runtime:
// the channels' internal port (compiled with the channels at start); more ports than the
// port table has slots (switch.max_ports), counting those this reload removes (a slot
// freed by a reload is reused by a later one only).
std::expected<PortChanges, std::string> plan_port_changes(const Config& running, const Config& next);

// The whole ports plan of a reload, made before anything is opened or published
// (docs/architecture.md, "Ports that come and go"): the changes (plan_port_changes), the
// slot of each removed port, a slot and a datapath thread for each added one
// (pipeline::plan_slots: the thread of its `core` when that is a datapath CPU, else the
// thread with the fewest ports), and the next file's topology laid out by slot
// (forward::topology_by_slot: kept ports in their slots), which the next forwarding
// tables are built from.
struct PortsPlan {
  PortChanges changes;
  std::vector<uint16_t> retire;  // the removed ports' slots, in changes.removed's order
  struct Added {
    size_t port = 0;    // its index in next.ports
    uint16_t slot = 0;  // the free slot it takes
    unsigned pmd = 0;   // the datapath thread that polls it
  };
  std::vector<Added> added;          // in changes.added's order
  forward::TopologySpec topology;    // next's, by slot
};
// `running_tables`: the tables now (a running port's index is its slot); `slots`, `slot_pmd`:
// the port table and the thread polling each live slot; `pmd_cpus`: each datapath thread's
// CPU. An error refuses the whole reload and changes nothing.
std::expected<PortsPlan, std::string> plan_ports(const Config& running, const Config& next,
                                                 const forward::ForwardingTables& running_tables,
                                                 const std::vector<pipeline::PortSlot>& slots,
                                                 const std::vector<unsigned>& slot_pmd, const std::vector<unsigned>& pmd_cpus);

}  // namespace ivs::config
