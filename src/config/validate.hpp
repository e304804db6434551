#pragma once
// Cross-checks over the whole configuration (references, duplicates, overlaps), after
// each section has been read on its own. The YAML nodes are kept beside the structs so
// that every error points at the line it is about.
#include <yaml-cpp/yaml.h>

#include <vector>

#include "config/model.hpp"
#include "config/reader.hpp"

namespace ivs::config {

struct SourceNodes {
  YAML::Node sw;                                 // the 'switch' mapping (may be undefined)
  std::vector<YAML::Node> ports, networks, vms, routes;  // parallel to Config's vectors
  bool for_daemon = false;                       // ivswitchd's file: refuse what only the unit rigs run
};

// The `routes` section against the networks (config/route_checks.cpp); part of validate().
void check_routes(const Config& cfg, const SourceNodes& nodes, Diagnostics& d);

// Also resolves defaults that depend on other sections (a VM's network).
void validate(Config& cfg, const SourceNodes& nodes, Diagnostics& d);

}  // namespace ivs::config
