#include "policy/match.hpp"

#include <algorithm>
#include <cstring>
#include <set>

namespace ivs::policy {
namespace {

bool in_ranges(const std::vector<PortRange>& rs, uint16_t p) {
  if (rs.empty()) return true;
  for (const auto& r : rs)
    if (p >= r.lo && p <= r.hi) return true;
  return false;
}

// One side of a match (`from` or `to`) against one of the flow's addresses, in the flow's
// family: an IPv4 flow is held to the side's IPv4 prefixes, an IPv6 flow to its IPv6 ones.
bool side_matches(bool any, const std::vector<Ipv4Prefix>& v4, const std::vector<IpPrefix>& v6, const FlowTuple& t,
                  uint32_t ip, const std::array<uint8_t, 16>& ip6) {
  if (any) return true;
  if (t.ipv6) {
    for (const auto& p : v6)
      if (p.contains(ip6.data())) return true;
    return false;
  }
  for (const auto& p : v4)
    if (p.contains(Ipv4Addr{ip})) return true;
  return false;
}

// Endpoints of a match side: groups, VM names, CIDRs -> prefixes of both families.
struct Endpoints {
  std::vector<Ipv4Prefix> v4;
  std::vector<IpPrefix> v6;
};

Endpoints resolve(const config::Config& cfg, const std::vector<std::string>& names) {
  Endpoints out;
  std::set<std::pair<uint32_t, uint8_t>> seen;
  std::set<std::pair<std::array<uint8_t, 16>, uint8_t>> seen6;
  auto add = [&](Ipv4Prefix p) {
    if (seen.insert({p.addr.value, p.len}).second) out.v4.push_back(p);
  };
  auto add_any = [&](const IpPrefix& p) {
    if (p.family == 4) {
      uint32_t be;
      std::memcpy(&be, p.bytes.data(), 4);
      add(Ipv4Prefix{Ipv4Addr::from_be(be), p.len});
    } else if (seen6.insert({p.bytes, p.len}).second) {
      out.v6.push_back(p);
    }
  };
  auto add_vm = [&](const config::VmConfig& vm) {
    if (vm.ip) add(Ipv4Prefix{*vm.ip, 32});
    for (const auto& p : vm_ipv6_endpoints(vm)) add_any(p);
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
      for (const auto& c : g.cidrs) add_any(c);
    }
    for (const auto& vm : cfg.vms)
      if (vm.name == name) {
        found = true;
        add_vm(vm);
      }
    if (!found) {
      // A literal prefix (validated by the config reader): IPv4 needs its /len, IPv6 may
      // be a bare address (a /128).
      if (name.find(':') != std::string::npos) {
        if (auto p = IpPrefix::parse(name); p && p->family == 6) add_any(*p);
      } else if (auto p = Ipv4Prefix::parse(name)) {
        add(*p);
      }
    }
  }
  return out;
}

}  // namespace

std::vector<IpPrefix> vm_ipv6_endpoints(const config::VmConfig& vm) {
  std::vector<IpPrefix> out;
  for (const auto& a : vm.allowed_addresses)
    if (a.family == 6) out.push_back(a);
  IpPrefix ll;
  ll.family = 6;
  ll.len = 128;
  ll.bytes = ipv6_link_local_of(vm.mac);
  out.push_back(ll);
  return out;
}

CompiledMatch CompiledMatch::compile(const config::Config& cfg, const config::FlowMatch& m) {
  CompiledMatch c;
  c.proto = m.protocol;
  c.src_any = m.from.empty();
  c.dst_any = m.to.empty();
  auto src = resolve(cfg, m.from), dst = resolve(cfg, m.to);
  c.src = std::move(src.v4);
  c.src6 = std::move(src.v6);
  c.dst = std::move(dst.v4);
  c.dst6 = std::move(dst.v6);
  c.src_ports = m.src_ports;
  c.dst_ports = m.ports;
  if (m.icmp_type) c.src_ports = {PortRange{*m.icmp_type, *m.icmp_type}};
  if (!m.network.empty()) c.network = static_cast<int16_t>(cfg.find_network(m.network) - cfg.networks.data());
  return c;
}

bool CompiledMatch::matches(const FlowTuple& t) const {
  if (proto && proto != t.proto) return false;
  if (network >= 0 && network != t.network) return false;
  if (!side_matches(src_any, src, src6, t, t.src_ip, t.src6) || !side_matches(dst_any, dst, dst6, t, t.dst_ip, t.dst6)) return false;
  return in_ranges(src_ports, t.src_port) && in_ranges(dst_ports, t.dst_port);
}

}  // namespace ivs::policy
