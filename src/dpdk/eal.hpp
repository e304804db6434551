#pragma once
// DPDK EAL lifetime. The EAL initialises once per process; plan_eal builds its
// arguments from what the switch needs (lcores, memory mode, file prefix: an EalSpec the
// caller compiles from the config, config/core_specs.hpp) so that no port/driver string
// ever comes from the user.
#include <expected>
#include <string>
#include <vector>

#include "dpdk/port_spec.hpp"

namespace ivs::dpdk {

enum class EalHugepages { kAuto, kOn, kOff };  // auto: when enough are free

struct EalSpec {
  std::string instance = "ivswitch";  // names the file prefix (ivs_<instance>)
  std::vector<unsigned> cores;        // datapath CPUs; empty = one on the last allowed CPU
  EalHugepages hugepages = EalHugepages::kAuto;
  uint64_t table_entries = 0;         // MAC, neighbour and flow table entries (memory estimate)
  std::vector<PortSpec> ports;        // af_packet ports with a large mtu add a pool of bigger mbufs
};

struct EalPlan {
  std::vector<std::string> args;   // argv for rte_eal_init (args[0] = program name)
  std::vector<unsigned> pmd_cpus;  // CPU of each datapath lcore, lcore id = index + 1
  bool hugepages = false;
  unsigned memory_mb = 0;
};

// Decide lcores and memory from the spec and the machine (free hugepages).
std::expected<EalPlan, std::string> plan_eal(const EalSpec& spec, unsigned mbufs);

// rte_eal_init with the planned args. Errors carry DPDK's reason.
std::expected<void, std::string> eal_start(const EalPlan& plan);
void eal_stop();

// Free 2 MB hugepages right now (from /proc/meminfo).
unsigned free_hugepages_mb();

}  // namespace ivs::dpdk
