#pragma once
// What the core's Datapath is built from: the config compiled (config/core_specs.cpp:
// datapath_spec), so that the core never reads the config model (issue 17: the core is
// given compiled state). The jobs' sections reach their modules as the config itself,
// which the core hands on unread (pipeline/module.hpp: ModuleEnv).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dpdk/port_spec.hpp"
#include "forward/topology.hpp"

namespace ivs::config {
struct Config;  // opaque here: the core hands it on, jobs read it
}
namespace ivs::pipeline {

struct DatapathPortSpec {
  dpdk::PortSpec dev;            // how to open it (its name, kind, device settings, mtu)
  std::optional<unsigned> core;  // the datapath CPU that polls it (none: round robin)
  // For `show ports`: its type as the config names it, and where it is ("/run/vm1.sock
  // (server)", the kernel interface, "rx=a.pcap tx=-"), and its networks ("access web",
  // "trunk web(native) db").
  std::string type, detail, network_mode;
};

struct DatapathSpec {
  std::vector<DatapathPortSpec> ports;  // in port order (port index = position)
  forward::TopologySpec topology;       // networks, memberships, channels, VMs
  uint32_t fdb_size = 65536, fdb_aging_seconds = 300, neighbor_size = 16384;
  uint32_t idle_sleep_max_us = 500;     // longest nap of an idle datapath thread
  uint32_t flow_table_size = 262144;    // flow cache entries (hard bound)
  uint32_t upcall_rate = 20000;         // new flows per second per port sent to the policy thread
  // The port table's slots (switch.max_ports): per-port arrays are sized to it at start.
  uint16_t max_ports = 32;
};

// What a reload runs once applied (config/runtime_changes.cpp: stage_runtime_changes):
// the config as the switch will run it, and that config compiled for the core (the
// topology whose static entries the reload reconciles).
struct StagedConfig {
  std::shared_ptr<const config::Config> cfg;
  DatapathSpec spec;
};

}  // namespace ivs::pipeline
