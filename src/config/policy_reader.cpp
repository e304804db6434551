#include "config/policy_reader.hpp"

#include <fmt/format.h>

#include <charconv>
#include <map>
#include <set>

namespace ivs::config {
namespace {

std::optional<PolicyAction> parse_action(const std::string& s) {
  if (s == "allow") return PolicyAction::kAllow;
  if (s == "drop") return PolicyAction::kDrop;
  if (s == "reject") return PolicyAction::kReject;
  return std::nullopt;
}

std::optional<uint32_t> to_u32(std::string_view s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// "80", 80, "8000-8080" -> PortRange
std::optional<PortRange> parse_range(const std::string& s) {
  const auto dash = s.find('-');
  auto lo = to_u32(std::string_view(s).substr(0, dash));
  auto hi = dash == std::string::npos ? lo : to_u32(std::string_view(s).substr(dash + 1));
  if (!lo || !hi || *lo > 65535 || *hi > 65535 || *lo > *hi) return std::nullopt;
  return PortRange{static_cast<uint16_t>(*lo), static_cast<uint16_t>(*hi)};
}

// A single scalar or a list of scalars.
std::vector<YAML::Node> items(const YAML::Node& n) {
  std::vector<YAML::Node> out;
  if (n.IsSequence())
    for (const auto& i : n) out.push_back(i);
  else
    out.push_back(n);
  return out;
}

void read_ranges(MapReader& r, const char* key, std::vector<PortRange>& out, Diagnostics& d) {
  auto node = r.child(key);
  if (!node) return;
  for (const auto& item : items(*node)) {
    auto range = item.IsScalar() ? parse_range(item.Scalar()) : std::nullopt;
    if (!range) {
      d.error(item, fmt::format("{}.{}: '{}' is not a port or port range (80, \"8000-8080\")", r.path(), key,
                                item.IsScalar() ? item.Scalar() : "(not a scalar)"));
      continue;
    }
    out.push_back(*range);
  }
}

// An endpoint written as an address: an IPv4 prefix (with its /len, as always) or an IPv6
// prefix or bare address (a /128). nullopt: not one (host_bits: because host bits are set).
std::optional<IpPrefix> endpoint_prefix(const std::string& text, bool* host_bits = nullptr) {
  if (text.find(':') != std::string::npos) {
    auto p = IpPrefix::parse(text, host_bits);
    return p && p->family == 6 ? p : std::nullopt;
  }
  if (text.find('/') == std::string::npos) return std::nullopt;
  return IpPrefix::parse(text, host_bits);
}

void read_endpoints(MapReader& r, const char* key, std::vector<std::string>& out, Diagnostics& d) {
  auto node = r.child(key);
  if (!node) return;
  for (const auto& item : items(*node)) {
    if (!item.IsScalar()) {
      d.error(item, fmt::format("{}.{}: expected a group, VM name or CIDR", r.path(), key));
      continue;
    }
    if (item.Scalar() != "any") out.push_back(item.Scalar());
  }
}

}  // namespace

void read_match(MapReader& m, FlowMatch& match, Diagnostics& d) {
  read_endpoints(m, "from", match.from, d);
  read_endpoints(m, "to", match.to, d);
  std::string proto;
  if (m.string("protocol", proto)) {
    if (proto == "tcp") match.protocol = 6;
    else if (proto == "udp") match.protocol = 17;
    else if (proto == "icmp") match.protocol = 1;
    else if (proto == "icmpv6" || proto == "ipv6-icmp") match.protocol = 58;
    else if (proto == "any") match.protocol = 0;
    // 0 is "any" inside the switch; as a number it would be HOPOPT, an IPv6 extension
    // header that is never a flow's transport protocol: refused rather than read as any.
    else if (proto == "0") m.error_at_key("protocol", "0 (HOPOPT) is an IPv6 extension header, never a flow's protocol; write 'any' for every protocol");
    else if (auto n = to_u32(proto); n && *n >= 1 && *n <= 255) match.protocol = static_cast<uint8_t>(*n);
    else m.error_at_key("protocol", fmt::format("'{}' is not tcp, udp, icmp, icmpv6, any or a protocol number 1..255", proto));
  }
  read_ranges(m, "ports", match.ports, d);
  read_ranges(m, "src_ports", match.src_ports, d);
  uint32_t icmp = 0;
  if (m.u32("icmp_type", icmp, 0, 255)) match.icmp_type = static_cast<uint8_t>(icmp);
  m.string("network", match.network);
  if ((!match.ports.empty() || !match.src_ports.empty()) && match.protocol != 6 && match.protocol != 17)
    m.error_at_key(match.ports.empty() ? "src_ports" : "ports", "ports need protocol tcp or udp");
  if (match.icmp_type && match.protocol != 1 && match.protocol != 58) m.error_at_key("icmp_type", "icmp_type needs protocol icmp or icmpv6");
}

void check_match(const Config& cfg, const std::string& path, const FlowMatch& match, const YAML::Node& node, Diagnostics& d) {
  auto is_group = [&](const std::string& n) {
    for (const auto& g : cfg.policy.groups)
      if (g.name == n) return true;
    return false;
  };
  auto is_vm = [&](const std::string& n) {
    for (const auto& v : cfg.vms)
      if (v.name == n) return true;
    return false;
  };
  // The families a side can match when it lists only prefixes (bit 0: IPv4, bit 1: IPv6);
  // 0 when it names a group or a VM (what those resolve to changes with the VMs) or is any.
  unsigned families[2] = {0, 0};
  bool literal_only[2] = {true, true};
  for (int side = 0; side < 2; ++side) {
    const char* key = side == 0 ? "from" : "to";
    const auto& eps = side == 0 ? match.from : match.to;
    literal_only[side] = !eps.empty();
    for (const auto& ep : eps) {
      if (is_group(ep) || is_vm(ep)) {
        literal_only[side] = false;
        continue;
      }
      bool host_bits = false;
      const auto p = endpoint_prefix(ep, &host_bits);
      if (!p) {
        d.error(value_line(node, key), fmt::format("{}.{}: '{}' is not a group, a VM, an IPv4 prefix or an IPv6 prefix{}", path,
                                                   key, ep, host_bits ? " (host bits set)" : ""));
        literal_only[side] = false;
        continue;
      }
      families[side] |= p->family == 4 ? 1u : 2u;
    }
  }
  // A flow's two addresses are of one family, and ICMP is IPv4's, ICMPv6 IPv6's: a rule
  // whose sides (or protocol) admit no common family can match no packet, a mistake.
  const unsigned from_fam = literal_only[0] ? families[0] : 3u, to_fam = literal_only[1] ? families[1] : 3u;
  const unsigned proto_fam = match.protocol == 1 ? 1u : match.protocol == 58 ? 2u : 3u;
  const auto fam_name = [](unsigned f) { return f == 1 ? "IPv4" : "IPv6"; };
  if ((from_fam & to_fam) == 0)
    d.error(value_line(node, "to"), fmt::format("{}: from lists only {} prefixes and to only {} ones: no packet has both (a flow's "
                                                "addresses are of one family); write one rule per family", path,
                                                fam_name(from_fam), fam_name(to_fam)));
  else if ((from_fam & to_fam & proto_fam) == 0)
    d.error(value_line(node, "protocol"),
            fmt::format("{}: protocol {} is {}'s, but {} lists only {} prefixes: the rule can match no packet{}", path,
                        match.protocol == 1 ? "icmp" : "icmpv6", fam_name(proto_fam), (from_fam & proto_fam) == 0 ? "from" : "to",
                        fam_name((from_fam & proto_fam) == 0 ? from_fam : to_fam),
                        match.protocol == 1 ? " (ICMP for IPv6 is protocol icmpv6)" : ""));
  if (!match.network.empty() && !cfg.find_network(match.network))
    d.error(value_line(node, "network"), fmt::format("{}: network '{}' is not defined in 'networks'", path, match.network));
}

void read_flows(const YAML::Node& node, FlowConfig& f, Diagnostics& d) {
  MapReader r(node, "flows", d);
  r.u32("table_size", f.table_size, 1024, 16u << 20);
  r.u32("upcall_rate", f.upcall_rate, 1, 10'000'000);
  r.u32("tcp_handshake_seconds", f.tcp_handshake_s, 1, 86400);
  r.u32("tcp_established_seconds", f.tcp_established_s, 1, 7 * 86400);
  r.u32("tcp_closing_seconds", f.tcp_closing_s, 1, 86400);
  r.u32("udp_seconds", f.udp_s, 1, 86400);
  r.u32("icmp_seconds", f.icmp_s, 1, 86400);
  r.u32("other_seconds", f.other_s, 1, 86400);
  r.boolean("autovalidator", f.autovalidator);
  r.finish();
}

void read_policy(const YAML::Node& node, PolicyConfig& pol, std::vector<YAML::Node>& group_nodes,
                 std::vector<YAML::Node>& rule_nodes, Diagnostics& d) {
  MapReader r(node, "policy", d);
  std::string def;
  if (r.choice("default", def, {"allow", "drop", "reject"})) pol.default_action = *parse_action(def);
  if (auto groups = r.child("groups")) {
    if (!groups->IsSequence()) d.error(*groups, "policy.groups: expected a list");
    else
      for (size_t i = 0; i < groups->size(); ++i) {
        YAML::Node gn = (*groups)[i];
        MapReader g(gn, fmt::format("policy.groups[{}]", i), d);
        PolicyGroup grp;
        g.string("name", grp.name, true);
        g.string_list("vms", grp.vms);
        g.string_list("labels", grp.labels);
        std::vector<std::string> cidrs;
        g.string_list("cidrs", cidrs);
        for (const auto& c : cidrs) {
          bool host_bits = false;
          auto p = endpoint_prefix(c, &host_bits);
          if (!p) g.error_at_key("cidrs", fmt::format("'{}' is not an IPv4 or IPv6 prefix{}", c, host_bits ? " (host bits set)" : ""));
          else grp.cidrs.push_back(*p);
        }
        g.finish();
        pol.groups.push_back(std::move(grp));
        group_nodes.push_back(gn);
      }
  }
  if (auto rules = r.child("rules")) {
    if (!rules->IsSequence()) d.error(*rules, "policy.rules: expected a list");
    else
      for (size_t i = 0; i < rules->size(); ++i) {
        YAML::Node rn = (*rules)[i];
        MapReader m(rn, fmt::format("policy.rules[{}]", i), d);
        PolicyRule rule;
        m.string("name", rule.name, true);
        read_match(m, rule, d);
        // action: allow | drop | reject | {inspect: CHAIN}
        auto act = m.child("action");
        if (act && act->IsMap()) {
          if (act->size() == 1 && act->begin()->first.Scalar() == "inspect" && act->begin()->second.IsScalar() &&
              !act->begin()->second.Scalar().empty()) {
            rule.action = PolicyAction::kInspect;
            rule.chain = act->begin()->second.Scalar();
          } else {
            m.error_at_key("action", "expected allow, drop, reject or {inspect: CHAIN}");
          }
        } else {
          std::string action;
          if (m.choice("action", action, {"allow", "drop", "reject"}, true)) rule.action = *parse_action(action);
        }
        std::string on_change = "reevaluate";
        m.choice("on_change", on_change, {"reevaluate", "persist"});
        rule.persist = on_change == "persist";
        m.finish();
        pol.rules.push_back(std::move(rule));
        rule_nodes.push_back(rn);
      }
  }
  r.finish();
}

void read_chains(const YAML::Node& node, std::vector<ChainConfig>& out, std::vector<YAML::Node>& nodes, Diagnostics& d) {
  if (!node.IsSequence()) {
    d.error(node, "chains: expected a list");
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    YAML::Node cn = node[i];
    MapReader m(cn, fmt::format("chains[{}]", i), d);
    ChainConfig c;
    m.string("name", c.name, true);
    m.string("out_port", c.out_port, true);
    m.string("return_port", c.return_port);
    if (auto n = m.child("inspect_packets"); n && n->IsScalar() && n->Scalar() == "handshake") {
      c.inspect_packets = 0;
    } else if (n && !(n->IsScalar() && to_u32(n->Scalar()) && *to_u32(n->Scalar()) >= 1 && *to_u32(n->Scalar()) <= 1000)) {
      m.error_at_key("inspect_packets", "expected a number 1..1000 or 'handshake'");
    } else if (n) {
      c.inspect_packets = *to_u32(n->Scalar());
    }
    m.u32("verify_timeout_ms", c.verify_timeout_ms, 10, 600'000);
    std::string on_failure = "closed";
    m.choice("on_failure", on_failure, {"closed", "open"});
    c.fail_open = on_failure == "open";
    m.finish();
    if (c.return_port.empty()) c.return_port = c.out_port;
    out.push_back(std::move(c));
    nodes.push_back(cn);
  }
}

void check_policy(const Config& cfg, const std::vector<YAML::Node>& group_nodes, const std::vector<YAML::Node>& rule_nodes,
                  const std::vector<YAML::Node>& chain_nodes, Diagnostics& d) {
  std::set<std::string> vm_names;
  for (const auto& vm : cfg.vms) vm_names.insert(vm.name);
  std::map<std::string, size_t> groups;
  for (size_t i = 0; i < cfg.policy.groups.size(); ++i) {
    const auto& g = cfg.policy.groups[i];
    if (!groups.emplace(g.name, i).second)
      d.error(value_line(group_nodes[i], "name"), fmt::format("policy.groups[{}]: duplicate name '{}'", i, g.name));
    if (vm_names.count(g.name))
      d.error(value_line(group_nodes[i], "name"), fmt::format("policy.groups[{}]: '{}' is also a VM name (ambiguous in rules)", i, g.name));
    for (const auto& v : g.vms)
      if (!vm_names.count(v))
        d.error(value_line(group_nodes[i], "vms"), fmt::format("policy.groups[{}]: VM '{}' is not defined in 'vms'", i, v));
  }
  std::set<std::string> chain_names;
  for (size_t i = 0; i < cfg.chains.size(); ++i) {
    const auto& c = cfg.chains[i];
    if (!chain_names.insert(c.name).second)
      d.error(value_line(chain_nodes[i], "name"), fmt::format("chains[{}]: duplicate name '{}'", i, c.name));
    for (const char* key : {"out_port", "return_port"}) {
      const std::string& port = std::string_view(key) == "out_port" ? c.out_port : c.return_port;
      const PortConfig* pc = cfg.find_port(port);
      if (!pc) {
        d.error(value_line(chain_nodes[i], key), fmt::format("chains[{}].{}: port '{}' is not defined in 'ports'", i, key, port));
        continue;
      }
      // The device sends the VMs' frames back with the VMs' addresses, which port security
      // on its port would drop (every inspected flow then times out as refused).
      if (pc->port_security.value_or(false))
        d.error(value_line(chain_nodes[i], key),
                fmt::format("chains[{}].{}: port '{}' has port security on (a VM is configured on it, or port_security: "
                            "true): the device's frames carry the VMs' addresses and would be dropped; set "
                            "port_security: false on it, or keep VMs off a chain's ports", i, key, port));
      // A flow crosses the device between networks and must keep one flow key: networks
      // without a subnet are address spaces of their own (a zone each), so not here.
      std::vector<std::string> nets = pc->trunk_networks;
      if (!pc->access_network.empty()) nets.push_back(pc->access_network);
      for (const auto& n : nets)
        if (const NetworkConfig* net = cfg.find_network(n); net && !net->subnet)
          d.error(value_line(chain_nodes[i], key),
                  fmt::format("chains[{}].{}: port '{}' is on network '{}', which has no subnet; a chain's networks need one "
                              "(a network without a subnet is an address space of its own)", i, key, port, n));
    }
  }
  std::set<std::string> rule_names;
  for (size_t i = 0; i < cfg.policy.rules.size(); ++i) {
    const auto& r = cfg.policy.rules[i];
    if (!r.name.empty() && !rule_names.insert(r.name).second)
      d.error(value_line(rule_nodes[i], "name"), fmt::format("policy.rules[{}]: duplicate name '{}'", i, r.name));
    check_match(cfg, fmt::format("policy.rules[{}]", i), r, rule_nodes[i], d);
    if (r.action == PolicyAction::kInspect && cfg.find_chain(r.chain) < 0)
      d.error(value_line(rule_nodes[i], "action"), fmt::format("policy.rules[{}]: chain '{}' is not defined in 'chains'", i, r.chain));
  }
}

}  // namespace ivs::config
