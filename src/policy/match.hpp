#pragma once
// What a policy rule or a QoS assignment matches, compiled: the direction-specific view
// of a flow's packet (FlowTuple) and a match with its endpoints resolved to prefixes
// (CompiledMatch). matches() is the definition of what a match means; the rte_acl tries of
// the classifier (one per IP family) are checked against it by the differential tests.
//
// Families: an endpoint side (`from` or `to`) resolves to IPv4 and IPv6 prefixes; an IPv4
// flow is matched against the IPv4 ones, an IPv6 flow against the IPv6 ones, and a side
// without endpoints (any) matches both families.
#include <array>
#include <vector>

#include "common/net_types.hpp"
#include "config/model.hpp"

namespace ivs::policy {

using config::PortRange;

// One direction of a flow, as rules see it.
struct FlowTuple {
  bool ipv6 = false;
  uint8_t proto = 0;
  uint32_t src_ip = 0, dst_ip = 0;  // IPv4, host order (0 for IPv6)
  uint16_t src_port = 0, dst_port = 0;  // TCP/UDP; ICMP/ICMPv6: type in src_port, code in dst_port
  int16_t network = -1;             // ingress network index
  std::array<uint8_t, 16> src6{}, dst6{};  // IPv6, network order (zero for IPv4)
};

struct CompiledMatch {
  uint8_t proto = 0;                     // 0 = any
  bool src_any = true, dst_any = true;   // no endpoint constraint
  // Resolved endpoints, by family (either may be empty: that side then matches no flow of
  // that family).
  std::vector<Ipv4Prefix> src, dst;
  std::vector<IpPrefix> src6, dst6;      // family 6 only
  std::vector<PortRange> src_ports, dst_ports;  // empty = any
  int16_t network = -1;                  // -1 = any

  // Resolves groups, VM names and CIDRs against the configuration.
  static CompiledMatch compile(const config::Config& cfg, const config::FlowMatch& m);
  bool matches(const FlowTuple& t) const;
};

// A VM's IPv6 endpoints, as rules name it: the IPv6 entries of its allowed_addresses (a
// prefix whole: port security lets it send from any address in it) and its EUI-64
// link-local address (port security admits that one too).
std::vector<IpPrefix> vm_ipv6_endpoints(const config::VmConfig& vm);

}  // namespace ivs::policy
