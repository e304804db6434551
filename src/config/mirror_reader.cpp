#include "config/mirror_reader.hpp"

#include <fmt/format.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cctype>
#include <string_view>
#include <map>
#include <set>

#include "config/paths.hpp"
#include "config/policy_reader.hpp"

namespace ivs::config {
namespace {


// taps: [vm1, {port: vm2, direction: rx}, {flows: {from: web, to: db, protocol: tcp}}]
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
    } else if (t.IsMap() && t["flows"]) {
      MapReader r(t, fmt::format("{}.taps[{}]", m.path(), i), d);
      auto f = r.child("flows");
      MapReader fr(*f, fmt::format("{}.taps[{}].flows", m.path(), i), d);
      tap.flows.emplace();
      read_match(fr, *tap.flows, d);
      fr.finish();
      r.finish();
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

void read_tool(const YAML::Node& node, const std::string& path, MirrorTool& tool, bool in_group, Diagnostics& d);

// A remote tool: {erspan: {remote_ip, local_ip, port, ...}} or {vxlan: {...}}.
void read_tunnel(MapReader& t, MirrorTool& tool) {
  std::optional<Ipv4Addr> remote, local;
  t.ipv4("remote_ip", remote, true);
  t.ipv4("local_ip", local, true);
  if (remote) tool.remote_ip = *remote;
  if (local) tool.local_ip = *local;
  t.string("port", tool.port, true);
  t.mac("remote_mac", tool.remote_mac);
  tool.local_mac = default_gateway_mac(0xffff);
  t.mac("local_mac", tool.local_mac);
  if (tool.kind == MirrorTool::kErspan) {
    t.u32("version", tool.erspan_version, 2, 3);
    t.u32("session", tool.session, 0, 1023);
  } else {
    t.u32("vni", tool.vni, 0, (1u << 24) - 1, true);
    t.u32("udp_port", tool.udp_port, 1, 65535);
  }
  t.finish();
}

// {pcapng: FILE, rotate_mb, rotate_seconds, keep} | {port: NAME} | {erspan: {...}} |
// {vxlan: {...}} | {group: [tool, ...]} (not nested)
void read_tool(const YAML::Node& node, const std::string& path, MirrorTool& tool, bool in_group, Diagnostics& d) {
  MapReader r(node, path, d);
  if (r.has("pcapng")) {
    tool.kind = MirrorTool::kPcapng;
    if (r.string("pcapng", tool.path, true))
      if (auto why = output_file_problem(tool.path)) r.error_at_key("pcapng", *why);
    r.u32("rotate_mb", tool.rotate_mb, 1, 1u << 20);
    r.u32("rotate_seconds", tool.rotate_seconds, 0, 7 * 86400);
    r.u32("keep", tool.keep, 1, 1000);
  } else if (r.has("port")) {
    tool.kind = MirrorTool::kPort;
    r.string("port", tool.port, true);
  } else if (r.has("erspan") || r.has("vxlan")) {
    const bool erspan = r.has("erspan");
    tool.kind = erspan ? MirrorTool::kErspan : MirrorTool::kVxlan;
    auto n = r.child(erspan ? "erspan" : "vxlan");
    MapReader t(*n, fmt::format("{}.{}", path, erspan ? "erspan" : "vxlan"), d);
    read_tunnel(t, tool);
  } else if (r.has("group") && !in_group) {
    tool.kind = MirrorTool::kGroup;
    auto n = r.child("group");
    if (!n->IsSequence() || n->size() < 2 || n->size() > 16) {
      d.error(*n, fmt::format("{}.group: expected a list of 2 to 16 tools (ports, erspan or vxlan)", path));
    } else {
      for (size_t i = 0; i < n->size(); ++i) {
        MirrorTool member;
        read_tool((*n)[i], fmt::format("{}.group[{}]", path, i), member, true, d);
        if ((*n)[i].IsMap() && (*n)[i]["pcapng"]) d.error((*n)[i], fmt::format("{}.group[{}]: a group balances ports, erspan or vxlan tools, not files", path, i));
        tool.members.push_back(member);
      }
    }
  } else {
    if (r.valid())
      r.error(r.node(), fmt::format("{}: expected {{pcapng: FILE, ...}}, {{port: NAME}}, {{erspan: {{...}}}}, {{vxlan: {{...}}}}{}", path,
                                    in_group ? "" : " or {group: [...]}"));
    return;  // no kind: its other keys mean nothing
  }
  r.finish();
}

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
    MirrorTool tool;
    read_tool((*n)[i], fmt::format("{}.tools[{}]", m.path(), i), tool, false, d);
    out.tools.push_back(tool);
  }
}

}  // namespace

std::optional<std::string> pcap_filter_error(const std::string& expr) {
  if (auto why = filter_cost_error(expr)) return why;
  pcap_t* p = pcap_open_dead(DLT_EN10MB, 65535);
  if (!p) return "libpcap: cannot open a dead handle";
  bpf_program prog{};
  std::optional<std::string> err;
  if (pcap_compile(p, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    err = pcap_geterr(p);
  } else {
    if (prog.bf_len > kMaxFilterInsns)
      err = fmt::format("it compiles to {} BPF instructions; at most {} are accepted", prog.bf_len, kMaxFilterInsns);
    pcap_freecode(&prog);
  }
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
    if (m.string("name", mc.name, true)) {
      if (!valid_name(mc.name))
        m.error_at_key("name", fmt::format("'{}' is not a valid name (letters, digits, '_', '.', '-'; at most 31; starts with a letter or digit)",
                                           mc.name));
      else if (mc.name.starts_with("capture-"))
        m.error_at_key("name", "names starting with 'capture-' are kept for live captures (ivctl capture)");
    }
    read_taps(m, mc, d);
    if (m.string("filter", mc.filter))
      if (auto err = pcap_filter_error(mc.filter)) m.error_at_key("filter", fmt::format("{}: {}", quoted_filter(mc.filter), *err));
    m.u32("snaplen", mc.snaplen, 0, 65535);
    if (mc.snaplen && mc.snaplen < 14) m.error_at_key("snaplen", "at least 14 (an Ethernet header), or 0 for whole frames");
    m.u32("sample", mc.sample, 1, 1'000'000);
    m.boolean("dedup", mc.dedup);
    read_tools(m, mc, d);
    m.finish();
    out.push_back(std::move(mc));
    nodes.push_back(node[i]);
  }
}

namespace {
void tool_problems(const Config& cfg, const MirrorConfig& m, const MirrorTool& t, std::vector<std::string>& out) {
  if (t.kind == MirrorTool::kGroup) {
    for (const auto& member : t.members) tool_problems(cfg, m, member, out);
    return;
  }
  if (t.kind != MirrorTool::kPort && t.kind != MirrorTool::kErspan && t.kind != MirrorTool::kVxlan) return;
  const char* what = t.kind == MirrorTool::kPort ? "tool port" : "tunnel port";
  if (!cfg.find_port(t.port)) out.push_back(fmt::format("{} '{}' is not defined in 'ports'", what, t.port));
  for (const auto& tap : m.taps)
    if (tap.port == t.port) out.push_back(fmt::format("port '{}' is both a tap and a tool of the mirror", t.port));
  if (t.kind != MirrorTool::kPort && t.remote_mac.is_zero()) {
    const bool known = std::any_of(cfg.vms.begin(), cfg.vms.end(), [&](const VmConfig& v) { return v.ip && *v.ip == t.remote_ip; });
    if (!known) out.push_back(fmt::format("remote tool {}: no VM has this address; give remote_mac", t.remote_ip.to_string()));
  }
}
}  // namespace

std::vector<std::string> mirror_problems(const Config& cfg, const MirrorConfig& m) {
  std::vector<std::string> out;
  for (const auto& t : m.taps)
    if (!t.flows && !cfg.find_port(t.port)) out.push_back(fmt::format("tap port '{}' is not defined in 'ports'", t.port));
  for (const auto& t : m.tools) tool_problems(cfg, m, t, out);
  return out;
}

void check_flow_taps(const Config& cfg, const MirrorConfig& m, const YAML::Node& node, const std::string& path, Diagnostics& d) {
  const YAML::Node taps = node.IsMap() ? node["taps"] : YAML::Node();
  for (size_t k = 0; k < m.taps.size(); ++k)
    if (m.taps[k].flows && taps && taps.IsSequence() && k < taps.size()) {
      const FlowMatch& f = *m.taps[k].flows;
      const std::string where = fmt::format("{}.taps[{}].flows", path, k);
      check_match(cfg, where, f, taps[k]["flows"], d);
      // Flow taps select IPv4 flows only (docs/mirrors.md): an IPv6 endpoint would select
      // nothing, silently.
      for (const char* key : {"from", "to"})
        for (const auto& ep : std::string_view(key) == "from" ? f.from : f.to)
          if (ep.find(':') != std::string::npos)
            d.error(value_line(taps[k]["flows"], key),
                    fmt::format("{}.{}: '{}': flow taps select IPv4 flows only (an IPv6 prefix selects nothing)", where, key, ep));
    }
}

void check_mirrors(const Config& cfg, const std::vector<YAML::Node>& nodes, Diagnostics& d) {
  std::set<std::string> names;
  for (size_t i = 0; i < cfg.mirrors.size() && i < nodes.size(); ++i) {
    const auto& m = cfg.mirrors[i];
    if (!names.insert(m.name).second) d.error(value_line(nodes[i], "name"), fmt::format("mirrors[{}]: duplicate name '{}'", i, m.name));
    for (const auto& p : mirror_problems(cfg, m)) d.error(value_line(nodes[i], p.starts_with("tap") ? "taps" : "tools"), fmt::format("mirrors[{}]: {}", i, p));
    check_flow_taps(cfg, m, nodes[i], fmt::format("mirrors[{}]", i), d);
  }
  if (cfg.mirrors.size() > 32) d.error(value_line(nodes[32], "name"), "mirrors: at most 32 mirrors");
  // One writer per file: two pcapng tools, a pcap port or a socket on one path would
  // overwrite each other.
  std::map<std::string, std::string> writers;  // path -> who
  for (const auto& p : cfg.ports) {
    if (!p.tx_file.empty()) writers.emplace(p.tx_file, fmt::format("port '{}'", p.name));
    if (!p.rx_file.empty()) writers.emplace(p.rx_file, fmt::format("port '{}'", p.name));
  }
  writers.emplace(cfg.sw.control_socket, "the control socket");
  for (size_t i = 0; i < cfg.mirrors.size() && i < nodes.size(); ++i)
    for (const auto& t : cfg.mirrors[i].tools) {
      if (t.kind != MirrorTool::kPcapng || t.path.empty()) continue;
      auto [it, fresh] = writers.emplace(t.path, fmt::format("mirror '{}'", cfg.mirrors[i].name));
      if (!fresh) d.error(value_line(nodes[i], "tools"), fmt::format("mirrors[{}]: file {} is already used by {}", i, t.path, it->second));
    }
}

}  // namespace ivs::config
