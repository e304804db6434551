#include "daemon/builder.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "config/core_specs.hpp"

namespace ivs::daemon {

std::expected<BuiltSwitch, std::string> build_switch(const config::Config& cfg) {
  const unsigned n_pmds_guess = cfg.sw.cores.empty() ? 1 : static_cast<unsigned>(cfg.sw.cores.size());
  auto plan = dpdk::plan_eal(config::eal_spec(cfg), pipeline::Datapath::mbufs_for(cfg.ports.size(), n_pmds_guess));
  if (!plan) return std::unexpected(plan.error());
  spdlog::info("DPDK: {} MB {}, datapath CPUs {}", plan->memory_mb, plan->hugepages ? "hugepages" : "no hugepages (memfd)",
               fmt::join(plan->pmd_cpus, ","));
  if (auto ok = dpdk::eal_start(*plan); !ok) return std::unexpected(ok.error());
  auto dp = pipeline::Datapath::create(config::datapath_spec(cfg), std::make_shared<const config::Config>(cfg), static_cast<unsigned>(plan->pmd_cpus.size()), plan->pmd_cpus);
  if (!dp) {
    dpdk::eal_stop();
    return std::unexpected(dp.error());
  }
  return BuiltSwitch{std::move(*plan), std::move(*dp)};
}

}  // namespace ivs::daemon
