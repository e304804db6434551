#pragma once
// Human renderings of the daemon's JSON views (the --json output is the view itself).
#include <nlohmann/json.hpp>
#include <string>

namespace ivs::cli {

std::string render_ports(const nlohmann::json& v);
std::string render_fdb(const nlohmann::json& v);
std::string render_routes(const nlohmann::json& v);
std::string render_stats(const nlohmann::json& v);
std::string render_pmd(const nlohmann::json& v);
std::string render_flows(const nlohmann::json& v);
std::string render_policy(const nlohmann::json& v);
std::string render_chains(const nlohmann::json& v);
std::string render_qos(const nlohmann::json& v);
std::string render_mirrors(const nlohmann::json& v);
std::string render_channels(const nlohmann::json& v);
std::string render_port_security(const nlohmann::json& v);
std::string render_mirror_change(const nlohmann::json& v);
std::string render_reload(const nlohmann::json& v);
std::string render_trace(const nlohmann::json& v);
// cli/flow_export.cpp
std::string render_flow_export(const nlohmann::json& v);
std::string render_flow_export_change(const nlohmann::json& v);
std::string render_trace_live(const nlohmann::json& v);

}  // namespace ivs::cli
