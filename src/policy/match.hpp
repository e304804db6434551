#pragma once
// What a policy rule or a QoS assignment matches, compiled: the direction-specific view
// of a flow's packet (FlowTuple) and a match with its endpoints resolved to prefixes
// (CompiledMatch). matches() is the definition of what a match means; the rte_acl trie of
// the classifier is checked against it by the differential tests.
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
  uint16_t src_port = 0, dst_port = 0;  // TCP/UDP; ICMP: type in src_port, code in dst_port
  int16_t network = -1;             // ingress network index
};

struct CompiledMatch {
  uint8_t proto = 0;                     // 0 = any
  bool src_any = true, dst_any = true;   // no endpoint constraint
  std::vector<Ipv4Prefix> src, dst;      // resolved endpoints (may be empty: matches nothing)
  std::vector<PortRange> src_ports, dst_ports;  // empty = any
  int16_t network = -1;                  // -1 = any

  // Resolves groups, VM names and CIDRs against the configuration.
  static CompiledMatch compile(const config::Config& cfg, const config::FlowMatch& m);
  bool matches(const FlowTuple& t) const;
};

}  // namespace ivs::policy
