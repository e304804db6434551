#pragma once
// Readers of the `flows`, `policy` and `chains` sections (see docs/config.md), and the
// cross-checks of policy references against the rest of the configuration.
#include <yaml-cpp/yaml.h>

#include "config/model.hpp"
#include "config/reader.hpp"

namespace ivs::config {

// The match keys shared by policy rules and QoS assignments (from, to, protocol, ports,
// src_ports, icmp_type, network), and their cross-checks against groups, VMs, networks.
void read_match(MapReader& m, FlowMatch& match, Diagnostics& d);
void check_match(const Config& cfg, const std::string& path, const FlowMatch& match, const YAML::Node& node, Diagnostics& d);
void read_flows(const YAML::Node& node, FlowConfig& out, Diagnostics& d);
// Returns the nodes of groups and rules (parallel to out.groups / out.rules) for the cross-checks.
void read_policy(const YAML::Node& node, PolicyConfig& out, std::vector<YAML::Node>& group_nodes,
                 std::vector<YAML::Node>& rule_nodes, Diagnostics& d);
// `chains` (see docs/config.md); returns each chain's node for the cross-checks.
void read_chains(const YAML::Node& node, std::vector<ChainConfig>& out, std::vector<YAML::Node>& nodes, Diagnostics& d);
void check_policy(const Config& cfg, const std::vector<YAML::Node>& group_nodes, const std::vector<YAML::Node>& rule_nodes,
                  const std::vector<YAML::Node>& chain_nodes, Diagnostics& d);

}  // namespace ivs::config
