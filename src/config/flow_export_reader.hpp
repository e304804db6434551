#pragma once
// Reader of the `flow_export` section (docs/config.md, docs/flow-export.md).
#include <yaml-cpp/yaml.h>

#include <expected>
#include <string>

#include "config/model.hpp"
#include "config/reader.hpp"

namespace ivs::config {

void read_flow_export(const YAML::Node& node, FlowExportConfig& out, Diagnostics& d);

// "host:port", "[v6 address]:port": the host and the port (1..65535). Used by the reader
// and by `ivctl flow-export add`.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
std::expected<HostPort, std::string> split_host_port(const std::string& s);

}  // namespace ivs::config
