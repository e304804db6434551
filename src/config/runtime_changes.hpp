#pragma once
// What a running switch takes from a new config (ivctl reload, SIGHUP), decided here,
// where the config model is known, rather than in the core: the Datapath is handed this
// function (Datapath::reload_policy) and calls it under its reload lock, so that the check
// and the staging see the config the switch runs.
//
// Today: the policy, the chains, qos.assign, the mirrors and the VMs (added, removed,
// changed: their static entries and port security follow). Anything else that differs
// (ports, networks, QoS classes, meters and egress, the switch section; with qos on, the
// start's VMs reordered or removed; a channel's VM) refuses the whole reload, naming the first
// part that differs: a restart is needed for those (docs/config.md, "What changes at
// runtime").
#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include "config/model.hpp"
#include "pipeline/datapath_spec.hpp"

namespace ivs::config {

// Said after the part at fault when a reload is refused for something only a restart changes.
inline constexpr std::string_view kRuntimeChangesHint =
    "only policy, chains, qos.assign, mirrors and VMs change at runtime; restart ivswitchd for the rest";

// `running` with what may change at runtime taken from `next`: the config the switch runs
// once the reload is applied, and its compiled spec. An error (nothing staged) when `next`
// differs elsewhere.
std::expected<pipeline::StagedConfig, std::string> stage_runtime_changes(const Config& running, const Config& next);

}  // namespace ivs::config
