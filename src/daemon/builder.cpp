#include "daemon/builder.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "config/core_specs.hpp"

namespace ivs::daemon {
namespace {
long ms_since(std::chrono::steady_clock::time_point t0) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
}
}  // namespace

std::expected<BuiltSwitch, std::string> build_switch(const config::Config& cfg) {
  const unsigned n_pmds_guess = cfg.sw.cores.empty() ? 1 : static_cast<unsigned>(cfg.sw.cores.size());
  auto plan = dpdk::plan_eal(config::eal_spec(cfg), pipeline::Datapath::mbufs_for(cfg.ports.size(), n_pmds_guess));
  if (!plan) return std::unexpected(plan.error());
  spdlog::info("DPDK: {} MB {}, datapath CPUs {}", plan->memory_mb, plan->hugepages ? "hugepages" : "no hugepages (memfd)",
               fmt::join(plan->pmd_cpus, ","));
  // Each start phase's time is logged (docs/vms.md: where a restart's gap goes).
  const auto t0 = std::chrono::steady_clock::now();
  if (auto ok = dpdk::eal_start(*plan); !ok) return std::unexpected(ok.error());
  spdlog::info("start phase: EAL initialised in {} ms", ms_since(t0));
  auto dp = pipeline::Datapath::create(config::datapath_spec(cfg), std::make_shared<const config::Config>(cfg), static_cast<unsigned>(plan->pmd_cpus.size()), plan->pmd_cpus);
  if (!dp) {
    dpdk::eal_stop();
    return std::unexpected(dp.error());
  }
  spdlog::info("start phase: datapath built (mempools, tables, ports, modules) in {} ms", ms_since(t0));
  return BuiltSwitch{std::move(*plan), std::move(*dp)};
}

}  // namespace ivs::daemon
