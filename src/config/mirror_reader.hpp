#pragma once
// Reader of the `mirrors` section (docs/config.md, docs/mirrors.md), its cross-checks, and
// the check of a pcap-filter expression (libpcap's compiler, the tcpdump language) shared
// with `ivctl mirror add`.
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "config/model.hpp"
#include "config/reader.hpp"
#include "packet/pcap_filter.hpp"

namespace ivs::config {

void read_mirrors(const YAML::Node& node, std::vector<MirrorConfig>& out, std::vector<YAML::Node>& nodes, Diagnostics& d);
void check_mirrors(const Config& cfg, const std::vector<YAML::Node>& nodes, Diagnostics& d);
// The bounds of a filter expression and their check (packet/pcap_filter.hpp: the live
// trace's filter compiles with them too).
using packet::kMaxFilterBytes;
using packet::kMaxFilterTerms;
using packet::kMaxFilterInsns;
using packet::filter_cost_error;
// The expression as messages quote it: whole when short, else its start.
inline std::string quoted_filter(const std::string& expr) {
  return "'" + (expr.size() <= 80 ? expr : expr.substr(0, 60) + "...") + "'";
}
// nullopt when `expr` is within the bounds and compiles; else what is wrong.
std::optional<std::string> pcap_filter_error(const std::string& expr);
// Every problem of one mirror against the configuration ("" when it is fine); for mirrors
// added at runtime, where there is no file line to point at.
std::vector<std::string> mirror_problems(const Config& cfg, const MirrorConfig& m);
// The names in a mirror's flow taps (groups, VMs, networks) against the configuration;
// `node` is the mirror's YAML (lines for the errors), `path` e.g. "mirrors[2]".
void check_flow_taps(const Config& cfg, const MirrorConfig& m, const YAML::Node& node, const std::string& path, Diagnostics& d);

}  // namespace ivs::config
