#pragma once
// JSON views of the datapath state, shared by the control socket (ivctl) and /metrics so
// that both always show the same counters.
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/counter_metrics.hpp"
#include "pipeline/counter_fields.hpp"
#include "pipeline/datapath.hpp"

namespace ivs::control {

nlohmann::json view_ports(const pipeline::Datapath& dp);
nlohmann::json view_fdb(const pipeline::Datapath& dp);
nlohmann::json view_routes(const pipeline::Datapath& dp);
nlohmann::json view_pmd(const pipeline::Datapath& dp);
nlohmann::json view_stats(const pipeline::Datapath& dp);
// The same from snapshots (declared in pipeline/counter_fields.hpp; tests build them by hand).
nlohmann::json ports_json(const std::vector<pipeline::PortSnapshot>& ports);
nlohmann::json pmds_json(const std::vector<pipeline::PmdSnapshot>& pmds, double tsc_hz);
nlohmann::json stats_json(const pipeline::StatsSnapshot& stats);

// Bounds of the views' `limit` parameters (an answer is built in memory whole).
inline constexpr uint64_t kMaxFlowLimit = 100000;

Result<nlohmann::json> view_flows(const pipeline::Datapath& dp, size_t limit);
nlohmann::json view_policy(const pipeline::Datapath& dp);
nlohmann::json view_chains(const pipeline::Datapath& dp);
std::string policy_metrics(const nlohmann::json& policy_view, const nlohmann::json& chains_view);
// The config file `file` read again for a reload: invalid_config with every error
// (FILE:LINE: path: ...) in the message and the first error's config path.
Result<config::Config> read_config_for_reload(const std::string& file);
// Re-reads the config file and applies its policy; an Error when the file is invalid
// (invalid_config, as above) or changes more than the policy (refused). Nothing changes then.
Result<nlohmann::json> reload_policy(pipeline::Datapath& dp);
// ivctl trace: "port=vm1 src=.. dst=.. proto=tcp dport=5432 ..." (control/trace_request.cpp).
// Errors in the description: invalid_params (out_of_range for numbers), path
// "params.description"; an unknown port: not_found.
Result<nlohmann::json> trace_packet(pipeline::Datapath& dp, const std::string& description);
// trace.live {port, filter?, count?, seconds?}: waits up to `seconds` for the packets.
inline constexpr uint64_t kMaxLiveTraceSeconds = 300;
Result<nlohmann::json> trace_live(pipeline::Datapath& dp, const nlohmann::json& params);

// Prometheus text exposition format (version 0.0.4).
std::string metrics_text(const pipeline::Datapath& dp);
// label_value() (common/counter_metrics.hpp) escapes label values: tools are described by
// file paths and addresses that may hold any character.

}  // namespace ivs::control
