#pragma once
// The daemon's builder: from a loaded, validated config to a built (not yet started)
// datapath, as ivswitchd does it: DPDK's EAL planned from the config and started, then
// pipeline::Datapath::create. The black-box benchmark (bench/blackbox) calls the same
// function, so that it measures the switch the daemon runs, through an entry point that
// stays put while the pipeline's internals move (keep its signature stable).
#include <expected>
#include <memory>
#include <string>

#include "config/model.hpp"
#include "dpdk/eal.hpp"
#include "pipeline/datapath.hpp"

namespace ivs::daemon {

struct BuiltSwitch {
  dpdk::EalPlan plan;
  std::unique_ptr<pipeline::Datapath> datapath;
};

// EAL up and the datapath created (its threads not started: call datapath->start()).
// On error nothing is left running (the EAL is stopped again). The caller stops the
// datapath, destroys it, then calls dpdk::eal_stop().
std::expected<BuiltSwitch, std::string> build_switch(const config::Config& cfg);

}  // namespace ivs::daemon
