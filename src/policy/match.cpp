#include "policy/match.hpp"

#include <algorithm>
#include <set>

namespace ivs::policy {
namespace {

bool in_ranges(const std::vector<PortRange>& rs, uint16_t p) {
  if (rs.empty()) return true;
  for (const auto& r : rs)
    if (p >= r.lo && p <= r.hi) return true;
  return false;
}

bool in_prefixes(bool any, const std::vector<Ipv4Prefix>& ps, const FlowTuple& t, uint32_t ip) {
  if (any) return true;
  if (t.ipv6) return false;
  for (const auto& p : ps)
    if (p.contains(Ipv4Addr{ip})) return true;
  return false;
}

// Endpoints of a match side: groups, VM names, CIDRs -> prefixes.
std::vector<Ipv4Prefix> resolve(const config::Config& cfg, const std::vector<std::string>& names) {
  std::vector<Ipv4Prefix> out;
  std::set<std::pair<uint32_t, uint8_t>> seen;
  auto add = [&](Ipv4Prefix p) {
    if (seen.insert({p.addr.value, p.len}).second) out.push_back(p);
  };
  auto add_vm = [&](const config::VmConfig& vm) {
    if (vm.ip) add(Ipv4Prefix{*vm.ip, 32});
  };
  for (const auto& name : names) {
    bool found = false;
    for (const auto& g : cfg.policy.groups) {
      if (g.name != name) continue;
      found = true;
      for (const auto& vm : cfg.vms) {
        bool member = std::find(g.vms.begin(), g.vms.end(), vm.name) != g.vms.end();
        for (const auto& l : g.labels) member |= std::find(vm.labels.begin(), vm.labels.end(), l) != vm.labels.end();
        if (member) add_vm(vm);
      }
      for (const auto& c : g.cidrs) add(c);
    }
    for (const auto& vm : cfg.vms)
      if (vm.name == name) {
        found = true;
        add_vm(vm);
      }
    if (!found)
      if (auto p = Ipv4Prefix::parse(name)) add(*p);
  }
  return out;
}

}  // namespace

CompiledMatch CompiledMatch::compile(const config::Config& cfg, const config::FlowMatch& m) {
  CompiledMatch c;
  c.proto = m.protocol;
  c.src_any = m.from.empty();
  c.dst_any = m.to.empty();
  c.src = resolve(cfg, m.from);
  c.dst = resolve(cfg, m.to);
  c.src_ports = m.src_ports;
  c.dst_ports = m.ports;
  if (m.icmp_type) c.src_ports = {PortRange{*m.icmp_type, *m.icmp_type}};
  if (!m.network.empty()) c.network = static_cast<int16_t>(cfg.find_network(m.network) - cfg.networks.data());
  return c;
}

bool CompiledMatch::matches(const FlowTuple& t) const {
  if (proto && proto != t.proto) return false;
  if (network >= 0 && network != t.network) return false;
  if (!in_prefixes(src_any, src, t, t.src_ip) || !in_prefixes(dst_any, dst, t, t.dst_ip)) return false;
  return in_ranges(src_ports, t.src_port) && in_ranges(dst_ports, t.dst_port);
}

}  // namespace ivs::policy
