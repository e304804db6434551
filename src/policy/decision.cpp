#include "policy/decision.hpp"
#include "qos/flow_state.hpp"

#include <cstring>

namespace ivs::policy {

void fill_entry(flow::FlowEntry& n, const Upcall& u, const FlowDecision& d, uint32_t now) noexcept {
  n.state.store(d.state, std::memory_order_relaxed);
  n.initiator = u.direction;
  n.first_port = u.in_port;
  n.network = u.network;
  n.first_sport = u.pp.src_port;
  n.first_dport = u.pp.dst_port;
  n.rule = d.verdict.rule;
  n.epoch = d.epoch;
  n.created_s = now;
  n.last_used_s.store(now, std::memory_order_relaxed);
  n.packets[u.direction].add(1);  // the packet that created it
  n.bytes[u.direction].add(u.mbuf ? u.mbuf->pkt_len : 0);
  if (u.key.proto == 6) n.tcp_flags[u.direction].store(u.pp.tcp_flags & 0x17, std::memory_order_relaxed);
  if (d.has_qos)
    for (uint8_t k = 0; k < 2; ++k) qos::set_flow_decision(n, k, d.qos[k]);
  // The chain path, for the flows an `inspect` rule starts on a chain. Stored relaxed:
  // the entry is published (or, in trace, used) after this.
  const ChainAdmission& a = d.chain;
  if (a.outcome != ChainAdmission::Outcome::kPending && a.outcome != ChainAdmission::Outcome::kBypassedShortcut) return;
  flow::ChainPath& c = n.chain;
  c.chain = a.chain;
  c.device_port[0] = a.device_port[0];
  c.device_port[1] = a.device_port[1];
  c.inspect_packets = a.inspect_packets;
  for (int s = 0; s < 2; ++s) {
    std::memcpy(c.side_mac[s], a.side_mac[s], 6);
    c.side_net[s].store(a.side_net[s], std::memory_order_relaxed);
  }
  c.pending_tsc = a.pending_tsc;
}

}  // namespace ivs::policy
