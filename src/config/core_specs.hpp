#pragma once
// The config compiled into what the core is given: src/flow, src/dpdk and src/forward know
// no config (grep '#include "config/' src/flow src/dpdk src/forward finds nothing); their callers (the datapath
// builder, the daemon, the policy thread, the views) compile these small structs from it.
#include <vector>

#include "config/model.hpp"
#include "dpdk/eal.hpp"
#include "dpdk/port_spec.hpp"
#include "flow/idle_timeouts.hpp"
#include "forward/topology.hpp"
#include "pipeline/datapath_spec.hpp"

namespace ivs::config {

flow::IdleTimeouts idle_timeouts(const FlowConfig& c);
dpdk::PortSpec port_spec(const PortConfig& p);
std::vector<dpdk::PortSpec> port_specs(const Config& cfg);  // in port order (port index = position)
dpdk::EalSpec eal_spec(const Config& cfg);
// The networks, memberships, channels and VMs the forwarding tables are built from.
forward::TopologySpec topology_spec(const Config& cfg);
// Everything the Datapath is built from (its ports, tables' sizes, the topology).
pipeline::DatapathSpec datapath_spec(const Config& cfg);

}  // namespace ivs::config
