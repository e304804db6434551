#pragma once
// JSON views of the datapath state, shared by the control socket (ivctl) and /metrics so
// that both always show the same counters.
#include <nlohmann/json.hpp>

#include "pipeline/datapath.hpp"

namespace ivs::control {

nlohmann::json view_ports(const pipeline::Datapath& dp);
nlohmann::json view_fdb(const pipeline::Datapath& dp);
nlohmann::json view_routes(const pipeline::Datapath& dp);
nlohmann::json view_pmd(const pipeline::Datapath& dp);
nlohmann::json view_stats(const pipeline::Datapath& dp);

// Bounds of the views' `limit` parameters (an answer is built in memory whole).
inline constexpr uint64_t kMaxFlowLimit = 100000;
inline constexpr uint64_t kMaxQosLimit = 1000;

nlohmann::json view_flows(const pipeline::Datapath& dp, size_t limit);
nlohmann::json view_policy(const pipeline::Datapath& dp);
nlohmann::json view_chains(const pipeline::Datapath& dp);
// The QoS guard: assignments, per-VM DSCP counters, meters, classes, scheduled ports, and
// the `mismatch_limit` most recent mismatching flow directions (control/qos_views.cpp).
nlohmann::json view_qos(const pipeline::Datapath& dp, size_t mismatch_limit = 20);
// Mirrors (control/mirror_views.cpp): coverage per mirror; add (params: a mirror in the
// config's shape) and delete (params: {name}) at runtime; errors throw std::runtime_error.
nlohmann::json view_mirrors(const pipeline::Datapath& dp);
nlohmann::json mirror_add(pipeline::Datapath& dp, const nlohmann::json& params);
nlohmann::json mirror_del(pipeline::Datapath& dp, const nlohmann::json& params);
// Port security (control/portsec_views.cpp): per port, on/off, the VMs it admits, drops
// by reason; and its gauge for /metrics (the drops are in ivswitch_port_drops_total).
nlohmann::json view_port_security(const pipeline::Datapath& dp);
std::string port_security_metrics(const pipeline::Datapath& dp);
// Re-reads the config file and applies its policy; throws std::runtime_error with every
// error (FILE:LINE: ...) when the file is invalid or changes more than the policy.
nlohmann::json reload_policy(pipeline::Datapath& dp);
// ivctl trace: "port=vm1 src=.. dst=.. proto=tcp dport=5432 ..." (control/trace_request.cpp).
nlohmann::json trace_packet(pipeline::Datapath& dp, const std::string& description);
// trace.live {port, filter?, count?, seconds?}: waits up to `seconds` for the packets.
inline constexpr uint64_t kMaxLiveTraceSeconds = 300;
nlohmann::json trace_live(pipeline::Datapath& dp, const nlohmann::json& params);

// Prometheus text exposition format (version 0.0.4).
std::string metrics_text(const pipeline::Datapath& dp);
// A label value with \, " and newline escaped, as the text format wants: tools are
// described by file paths and addresses that may hold any character.
std::string label_value(std::string_view v);

}  // namespace ivs::control
