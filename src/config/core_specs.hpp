#pragma once
// The config compiled into what the core is given: src/flow and src/dpdk know no config
// (grep '#include "config/' src/flow src/dpdk finds nothing); their callers (the datapath
// builder, the daemon, the policy thread, the views) compile these small structs from it.
#include <vector>

#include "config/model.hpp"
#include "dpdk/eal.hpp"
#include "dpdk/port_spec.hpp"
#include "flow/idle_timeouts.hpp"

namespace ivs::config {

flow::IdleTimeouts idle_timeouts(const FlowConfig& c);
dpdk::PortSpec port_spec(const PortConfig& p);
std::vector<dpdk::PortSpec> port_specs(const Config& cfg);  // in port order (port index = position)
dpdk::EalSpec eal_spec(const Config& cfg);

}  // namespace ivs::config
