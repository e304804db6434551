#pragma once
// What a running switch takes from a new config (ivctl reload, SIGHUP), decided here,
// where the config model is known, rather than in the core: the Datapath is handed this
// function (Datapath::reload_policy) and calls it under its reload lock, so that the check
// and the staging see the config the switch runs.
//
// Today: the policy, the chains, qos.assign, the mirrors and the VMs' labels. Anything
// else that differs (ports, networks, VMs' addresses, QoS classes, meters and egress, the
// switch section) refuses the whole reload, naming the first part that differs: a restart
// is needed for those (docs/config.md, "What changes at runtime").
#include <expected>
#include <memory>
#include <string>

#include "config/model.hpp"

namespace ivs::config {

// `running` with what may change at runtime taken from `next`: the config the switch runs
// once the reload is applied. An error (nothing staged) when `next` differs elsewhere.
std::expected<std::shared_ptr<const Config>, std::string> stage_runtime_changes(const Config& running, const Config& next);

}  // namespace ivs::config
