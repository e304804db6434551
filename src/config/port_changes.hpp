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
#include <expected>
#include <string>
#include <vector>

#include "config/model.hpp"

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

}  // namespace ivs::config
