#pragma once
// Reader of the `mirrors` section (docs/config.md, docs/mirrors.md), its cross-checks, and
// the check of a pcap-filter expression (libpcap's compiler, the tcpdump language) shared
// with `ivctl mirror add`.
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "config/model.hpp"
#include "config/reader.hpp"

namespace ivs::config {

void read_mirrors(const YAML::Node& node, std::vector<MirrorConfig>& out, std::vector<YAML::Node>& nodes, Diagnostics& d);
void check_mirrors(const Config& cfg, const std::vector<YAML::Node>& nodes, Diagnostics& d);
// libpcap's optimizer is far worse than linear in the number of terms (measured on this
// machine: 100 `host` terms 0.4 s, 200 terms 2.7 s, 400 terms 22 s, on the control thread),
// so an expression is bounded before libpcap sees it, and its program after.
inline constexpr size_t kMaxFilterBytes = 1024;
inline constexpr size_t kMaxFilterTerms = 64;       // and/or/not-joined primitives
inline constexpr unsigned kMaxFilterInsns = 4096;   // classic BPF instructions (BPF_MAXINSNS)
// nullopt when `expr` is within the bounds above (checked without compiling it).
std::optional<std::string> filter_cost_error(const std::string& expr);
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
