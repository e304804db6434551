#pragma once
// Readers of the `flows` and `policy` sections (see docs/config.md), and the
// cross-checks of policy references against the rest of the configuration.
#include <yaml-cpp/yaml.h>

#include "config/model.hpp"
#include "config/reader.hpp"

namespace ivs::config {

void read_flows(const YAML::Node& node, FlowConfig& out, Diagnostics& d);
// Returns the nodes of groups and rules (parallel to out.groups / out.rules) for the cross-checks.
void read_policy(const YAML::Node& node, PolicyConfig& out, std::vector<YAML::Node>& group_nodes,
                 std::vector<YAML::Node>& rule_nodes, Diagnostics& d);
void check_policy(const Config& cfg, const std::vector<YAML::Node>& group_nodes, const std::vector<YAML::Node>& rule_nodes,
                  Diagnostics& d);

}  // namespace ivs::config
