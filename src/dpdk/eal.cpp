#include "dpdk/eal.hpp"

#include <fmt/format.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <sched.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dpdk/port.hpp"

namespace ivs::dpdk {

unsigned free_hugepages_mb() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  unsigned long val = 0, free_pages = 0, page_kb = 2048;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    ls >> key >> val;
    if (key == "HugePages_Free:") free_pages = val;
    if (key == "Hugepagesize:") page_kb = val;
  }
  return static_cast<unsigned>(free_pages * page_kb / 1024);
}

std::expected<EalPlan, std::string> plan_eal(const EalSpec& spec, unsigned mbufs) {
  EalPlan plan;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  sched_getaffinity(0, sizeof(allowed), &allowed);
  std::vector<unsigned> cpus;
  for (unsigned c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
  if (cpus.empty()) return std::unexpected("no CPU available");
  plan.pmd_cpus = spec.cores.empty() ? std::vector<unsigned>{cpus.back()} : spec.cores;

  // The main lcore (control thread) floats over the CPUs not used by datapath threads,
  // or over all of them on a machine with no spare CPU.
  std::vector<unsigned> rest;
  for (unsigned c : cpus)
    if (std::find(plan.pmd_cpus.begin(), plan.pmd_cpus.end(), c) == plan.pmd_cpus.end()) rest.push_back(c);
  if (rest.empty()) rest = cpus;
  std::string lcores = fmt::format("0@({})", fmt::join(rest, ","));
  for (size_t i = 0; i < plan.pmd_cpus.size(); ++i) lcores += fmt::format(",{}@{}", i + 1, plan.pmd_cpus[i]);

  // Memory: mbufs of ~2.3 KB plus room for hash tables, rings and driver state.
  plan.memory_mb = 256 + static_cast<unsigned>((uint64_t{mbufs} * 2432 + jumbo_pool_for(spec.ports).bytes()) >> 20) +
                   static_cast<unsigned>(spec.table_entries * 256 >> 20);
  switch (spec.hugepages) {
    case EalHugepages::kOn: plan.hugepages = true; break;
    case EalHugepages::kOff: plan.hugepages = false; break;
    case EalHugepages::kAuto: plan.hugepages = free_hugepages_mb() >= plan.memory_mb; break;
  }
  plan.args = {"ivswitchd", "--lcores", lcores, "--main-lcore", "0", "--no-pci",
               "--file-prefix", "ivs_" + spec.instance, "-m", std::to_string(plan.memory_mb)};
  if (plan.hugepages) {
    // In-memory + single-file segments: vhost-user can share the memory (few fd-backed
    // regions) and no hugepage file is left behind, even after a crash.
    plan.args.insert(plan.args.end(), {"--in-memory", "--single-file-segments"});
  } else {
    // memfd-backed 4 KB pages; --no-shconf so that no runtime files are written.
    plan.args.insert(plan.args.end(), {"--no-huge", "--no-shconf"});
  }
  plan.args.insert(plan.args.end(), {"--log-level", "lib.eal:warning", "--log-level", "pmd.net.*:warning"});
  return plan;
}

std::expected<void, std::string> eal_start(const EalPlan& plan) {
  std::vector<char*> argv;
  for (const auto& a : plan.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(argv.size() - 1), argv.data()) < 0)
    return std::unexpected(fmt::format("DPDK EAL init failed: {} (args: {})", rte_strerror(rte_errno), fmt::join(plan.args, " ")));
  return {};
}

void eal_stop() {
  // EAL keeps a runtime directory (/var/run/dpdk/<prefix>) even with --no-shconf or
  // --in-memory; remove it so that a stopped switch leaves nothing behind.
  const std::string runtime_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::error_code ec;
  if (!runtime_dir.empty()) std::filesystem::remove_all(runtime_dir, ec);
}

}  // namespace ivs::dpdk
