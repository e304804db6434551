#pragma once
// Reader of the `qos` section (docs/config.md, docs/qos.md) and its cross-checks against
// ports, networks, VMs and policy groups.
#include <yaml-cpp/yaml.h>

#include "config/model.hpp"
#include "config/reader.hpp"

namespace ivs::config {

void read_qos(const YAML::Node& node, QosConfig& out, Diagnostics& d);
void check_qos(const Config& cfg, const YAML::Node& node, Diagnostics& d);

}  // namespace ivs::config
