#include "config/mirror_reader.hpp"

#include <fmt/format.h>
#include <pcap/pcap.h>

#include <set>

namespace ivs::config {
namespace {


// taps: [vm1, {port: vm2, direction: rx}]
void read_taps(MapReader& m, MirrorConfig& out, Diagnostics& d) {
  auto n = m.child("taps");
  if (!n) {
    if (m.valid()) m.error(m.node(), fmt::format("{}: 'taps' is required (ports to copy packets from)", m.path()));
    return;
  }
  if (!n->IsSequence() || n->size() == 0) {
    d.error(*n, fmt::format("{}.taps: expected a non-empty list of ports or {{port, direction}}", m.path()));
    return;
  }
  for (size_t i = 0; i < n->size(); ++i) {
    const YAML::Node t = (*n)[i];
    MirrorTap tap;
    if (t.IsScalar()) {
      tap.port = t.Scalar();
    } else {
      MapReader r(t, fmt::format("{}.taps[{}]", m.path(), i), d);
      r.string("port", tap.port, true);
      std::string dir = "both";
      r.choice("direction", dir, {"rx", "tx", "both"});
      tap.rx = dir != "tx";
      tap.tx = dir != "rx";
      r.finish();
    }
    out.taps.push_back(tap);
  }
}

// tools: [{pcapng: FILE, rotate_mb, rotate_seconds, keep}, {port: NAME}]
void read_tools(MapReader& m, MirrorConfig& out, Diagnostics& d) {
  auto n = m.child("tools");
  if (!n) {
    if (m.valid()) m.error(m.node(), fmt::format("{}: 'tools' is required (where copies go)", m.path()));
    return;
  }
  if (!n->IsSequence() || n->size() == 0 || n->size() > 8) {
    d.error(*n, fmt::format("{}.tools: expected a list of 1 to 8 tools", m.path()));
    return;
  }
  for (size_t i = 0; i < n->size(); ++i) {
    MapReader r((*n)[i], fmt::format("{}.tools[{}]", m.path(), i), d);
    MirrorTool tool;
    if (r.has("pcapng")) {
      tool.kind = MirrorTool::kPcapng;
      r.string("pcapng", tool.path, true);
      r.u32("rotate_mb", tool.rotate_mb, 1, 1u << 20);
      r.u32("rotate_seconds", tool.rotate_seconds, 0, 7 * 86400);
      r.u32("keep", tool.keep, 1, 1000);
    } else if (r.has("port")) {
      tool.kind = MirrorTool::kPort;
      r.string("port", tool.port, true);
    } else {
      if (r.valid()) r.error(r.node(), fmt::format("{}: expected {{pcapng: FILE, ...}} or {{port: NAME}}", r.path()));
      continue;  // no kind: its other keys mean nothing
    }
    r.finish();
    out.tools.push_back(tool);
  }
}

}  // namespace

std::optional<std::string> pcap_filter_error(const std::string& expr) {
  pcap_t* p = pcap_open_dead(DLT_EN10MB, 65535);
  if (!p) return "libpcap: cannot open a dead handle";
  bpf_program prog{};
  std::optional<std::string> err;
  if (pcap_compile(p, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) err = pcap_geterr(p);
  else pcap_freecode(&prog);
  pcap_close(p);
  return err;
}

void read_mirrors(const YAML::Node& node, std::vector<MirrorConfig>& out, std::vector<YAML::Node>& nodes, Diagnostics& d) {
  if (!node.IsSequence()) {
    d.error(node, "mirrors: expected a list");
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    MapReader m(node[i], fmt::format("mirrors[{}]", i), d);
    MirrorConfig mc;
    m.string("name", mc.name, true);
    read_taps(m, mc, d);
    if (m.string("filter", mc.filter))
      if (auto err = pcap_filter_error(mc.filter)) m.error_at_key("filter", fmt::format("'{}': {}", mc.filter, *err));
    m.u32("snaplen", mc.snaplen, 0, 65535);
    if (mc.snaplen && mc.snaplen < 14) m.error_at_key("snaplen", "at least 14 (an Ethernet header), or 0 for whole frames");
    m.u32("sample", mc.sample, 1, 1'000'000);
    read_tools(m, mc, d);
    m.finish();
    out.push_back(std::move(mc));
    nodes.push_back(node[i]);
  }
}

std::vector<std::string> mirror_problems(const Config& cfg, const MirrorConfig& m) {
  std::vector<std::string> out;
  for (const auto& t : m.taps)
    if (!cfg.find_port(t.port)) out.push_back(fmt::format("tap port '{}' is not defined in 'ports'", t.port));
  for (const auto& t : m.tools)
    if (t.kind == MirrorTool::kPort) {
      if (!cfg.find_port(t.port)) out.push_back(fmt::format("tool port '{}' is not defined in 'ports'", t.port));
      for (const auto& tap : m.taps)
        if (tap.port == t.port) out.push_back(fmt::format("port '{}' is both a tap and a tool of the mirror", t.port));
    }
  return out;
}

void check_mirrors(const Config& cfg, const std::vector<YAML::Node>& nodes, Diagnostics& d) {
  std::set<std::string> names;
  for (size_t i = 0; i < cfg.mirrors.size() && i < nodes.size(); ++i) {
    const auto& m = cfg.mirrors[i];
    if (!names.insert(m.name).second) d.error(value_line(nodes[i], "name"), fmt::format("mirrors[{}]: duplicate name '{}'", i, m.name));
    for (const auto& p : mirror_problems(cfg, m)) d.error(value_line(nodes[i], p.starts_with("tap") ? "taps" : "tools"), fmt::format("mirrors[{}]: {}", i, p));
  }
  if (cfg.mirrors.size() > 32) d.error(value_line(nodes[32], "name"), "mirrors: at most 32 mirrors");
}

}  // namespace ivs::config
