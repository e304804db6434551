#pragma once
// DPDK EAL lifetime. The EAL initialises once per process; Eal::start builds its
// arguments from the switch config (lcores, memory mode, file prefix) so that no
// port/driver string ever comes from the user.
#include <expected>
#include <string>
#include <vector>

#include "config/model.hpp"

namespace ivs::dpdk {

struct EalPlan {
  std::vector<std::string> args;   // argv for rte_eal_init (args[0] = program name)
  std::vector<unsigned> pmd_cpus;  // CPU of each datapath lcore, lcore id = index + 1
  bool hugepages = false;
  unsigned memory_mb = 0;
};

// Decide lcores and memory from the config and the machine (free hugepages).
std::expected<EalPlan, std::string> plan_eal(const config::Config& cfg, unsigned mbufs);

// rte_eal_init with the planned args. Errors carry DPDK's reason.
std::expected<void, std::string> eal_start(const EalPlan& plan);
void eal_stop();

// Free 2 MB hugepages right now (from /proc/meminfo).
unsigned free_hugepages_mb();

}  // namespace ivs::dpdk
