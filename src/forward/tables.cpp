#include "forward/tables.hpp"

#include "forward/concurrent_table.hpp"

#include <fmt/format.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>

#include <atomic>

namespace ivs::forward {

std::expected<std::unique_ptr<ForwardingTables>, std::string> ForwardingTables::build(const TopologySpec& topo) {
  std::unique_ptr<ForwardingTables> t(new ForwardingTables());
  t->net_by_vlan_.fill(kNoNetwork);
  for (const auto& n : topo.networks) {
    t->net_by_vlan_[n.vlan] = static_cast<int16_t>(t->networks_.size());
    // (a network routed for IPv6 only shares zone 0 too: its flows cross networks)
    const uint16_t zone = n.subnet || n.subnet6 ? 0 : static_cast<uint16_t>(t->networks_.size() + 1);
    t->networks_.push_back(NetworkInfo{n.name, n.vlan, n.subnet, n.gateway, n.gateway_mac, {}, n.channel, zone, n.subnet6,
                                       n.gateway6, ipv6_link_local_of(n.gateway_mac)});
    if (n.gateway6 && n.subnet6) t->routes6_ = true;
  }
  const size_t nn = t->networks_.size();
  t->membership_.assign(topo.ports.size() * nn, Membership::kNone);
  t->untagged_net_.assign(topo.ports.size(), kNoNetwork);
  auto net_index = [&](const std::string& name) {
    for (size_t i = 0; i < nn; ++i)
      if (t->networks_[i].name == name) return static_cast<int16_t>(i);
    return kNoNetwork;
  };
  for (size_t p = 0; p < topo.ports.size(); ++p) {
    const auto& pc = topo.ports[p];
    t->port_names_.push_back(pc.name);
    if (!pc.access_network.empty()) {
      const int16_t n = net_index(pc.access_network);
      t->membership_[p * nn + n] = Membership::kUntagged;
      t->untagged_net_[p] = n;
    }
    for (const auto& tn : pc.trunk_networks) {
      const int16_t n = net_index(tn);
      const bool native = tn == pc.native_network;
      t->membership_[p * nn + n] = native ? Membership::kUntagged : Membership::kTagged;
      if (native) t->untagged_net_[p] = n;
    }
  }
  for (size_t n = 0; n < nn; ++n)
    for (size_t p = 0; p < topo.ports.size(); ++p)
      if (t->membership_[p * nn + n] != Membership::kNone) t->networks_[n].ports.push_back(static_cast<uint16_t>(p));

  if (const auto& ch = topo.channel; ch.enabled) {
    t->channel_addr_ = ChannelAddress{true, ch.mac, ch.ip.value, ch.udp_port, ch.rate_pps, ch.burst};
    for (const auto& b : ch.map) {
      ChannelRoute r{b.id, b.agent_mac, b.agent_ip.value, 0, 0, t->net_by_vlan_[b.vlan], b.vlan};
      r.agent_port = static_cast<uint16_t>(t->port_index(b.agent_port));
      r.host_port = static_cast<uint16_t>(t->port_index(b.host_port));
      t->channels_.push_back(r);
      t->agent_ip_bits_ |= uint64_t{1} << agent_ip_bit(r.agent_ip);
    }
  }

  // Connected routes of the routed networks (those with a gateway). rte_lpm names must be
  // unique in the process, hence the counter.
  static std::atomic<unsigned> seq{0};
  rte_lpm_config lc{};
  lc.max_rules = static_cast<uint32_t>(1024 + topo.routes.size());
  lc.number_tbl8s = static_cast<uint32_t>(256 + topo.routes.size());  // (a prefix longer than /24 takes a tbl8 group)
  const std::string name = fmt::format("ivs_lpm{}", seq++);
  t->lpm_ = rte_lpm_create(name.c_str(), static_cast<int>(rte_socket_id()), &lc);
  if (!t->lpm_) return std::unexpected(fmt::format("cannot create route table: {}", rte_strerror(rte_errno)));
  for (size_t n = 0; n < nn; ++n) {
    const auto& net = t->networks_[n];
    if (net.gateway && net.subnet && rte_lpm_add(t->lpm_, net.subnet->addr.value, net.subnet->len, static_cast<uint32_t>(n)) != 0)
      return std::unexpected(fmt::format("cannot add route {}", net.subnet->to_string()));
  }
  // Static routes after the connected ones (their prefixes lie outside every subnet:
  // config/route_checks.cpp), each next hop in the routed network that holds it.
  for (const auto& r : topo.routes) {
    StaticRoute sr{r.prefix, static_cast<uint16_t>(t->next_hops_.size()), static_cast<uint16_t>(r.via.size())};
    for (const Ipv4Addr& v : r.via) {
      int16_t net = kNoNetwork;
      for (size_t n = 0; n < nn; ++n)
        if (t->networks_[n].gateway && t->networks_[n].subnet && t->networks_[n].subnet->contains(v)) net = static_cast<int16_t>(n);
      if (net == kNoNetwork) return std::unexpected(fmt::format("route {}: next hop {} is in no routed network", r.prefix.to_string(), v.to_string()));
      t->next_hops_.push_back({v, net, r.via.size() > 1});
      if (r.via.size() > 1) t->ecmp_hop_bits_ |= uint64_t{1} << agent_ip_bit(v.value);
    }
    if (t->next_hops_.size() > kMaxNextHops || sr.count == 0 || sr.count > kMaxEcmpHops)
      return std::unexpected(fmt::format("route {}: too many next hops", r.prefix.to_string()));
    const uint32_t value = kStaticBit | static_cast<uint32_t>(t->static_routes_.size());
    // rte_lpm takes depths 1..32: the default route is its two halves, /1 each (less
    // specific than every other route, so it still matches last), except a half that a
    // route of its own covers already.
    const auto has_route = [&](uint32_t addr, uint8_t len) {
      for (const auto& o : topo.routes)
        if (o.prefix.addr.value == addr && o.prefix.len == len) return true;
      return false;
    };
    std::vector<std::pair<uint32_t, uint8_t>> parts{{r.prefix.addr.value, r.prefix.len}};
    if (r.prefix.len == 0) {
      parts.clear();
      for (const uint32_t half : {0u, 0x80000000u})
        if (!has_route(half, 1)) parts.emplace_back(half, 1);
    }
    for (const auto& [addr, len] : parts)
      if (rte_lpm_add(t->lpm_, addr, len, value) != 0)
        return std::unexpected(fmt::format("cannot add route {}", r.prefix.to_string()));
    t->static_routes_.push_back(sr);
  }
  if (t->routes6_) {
    rte_lpm6_config lc6{};
    lc6.max_rules = 1024;
    lc6.number_tbl8s = 1 << 12;  // (a /64 takes 8 levels of tbl8; 4096 leave room for 400+ networks)
    const std::string name6 = fmt::format("ivs_lpm6_{}", seq++);
    t->lpm6_ = rte_lpm6_create(name6.c_str(), static_cast<int>(rte_socket_id()), &lc6);
    if (!t->lpm6_) return std::unexpected(fmt::format("cannot create the IPv6 route table: {}", rte_strerror(rte_errno)));
    for (size_t n = 0; n < nn; ++n) {
      const auto& net = t->networks_[n];
      if (net.gateway6 && net.subnet6 &&
          rte_lpm6_add(t->lpm6_, net.subnet6->bytes.data(), net.subnet6->len, static_cast<uint32_t>(n)) != 0)
        return std::unexpected(fmt::format("cannot add route {}", net.subnet6->to_string()));
    }
  }
  return t;
}

ForwardingTables::~ForwardingTables() {
  if (lpm_) rte_lpm_free(lpm_);
  if (lpm6_) rte_lpm6_free(lpm6_);
}

int16_t ForwardingTables::route6(const uint8_t* a) const noexcept {
  uint32_t next_hop = 0;
  if (!lpm6_ || rte_lpm6_lookup(lpm6_, a, &next_hop) != 0) return kNoNetwork;
  return static_cast<int16_t>(next_hop);
}

RouteHit ForwardingTables::lookup(uint32_t dst_ip) const noexcept {
  uint32_t next_hop = 0;
  if (rte_lpm_lookup(lpm_, dst_ip, &next_hop) != 0) return {};
  if (next_hop & kStaticBit) [[unlikely]] return {kNoNetwork, static_cast<int32_t>(next_hop & ~kStaticBit)};
  return {static_cast<int16_t>(next_hop), -1};
}

int ForwardingTables::port_index(std::string_view name) const {
  if (name.empty()) return -1;  // (a free slot of a topology laid out by slot: forward/slotted_topology.hpp)
  for (size_t i = 0; i < port_names_.size(); ++i)
    if (port_names_[i] == name) return static_cast<int>(i);
  return -1;
}

}  // namespace ivs::forward
