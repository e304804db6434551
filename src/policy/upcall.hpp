#pragma once
// What travels between a datapath thread and the policy thread when a packet belongs to
// no known flow: the packet, where it came from, what the parser found, its flow key.
// The policy thread answers on the datapath thread's reinject ring with the verdict;
// the datapath then finishes the packet as if it had hit the flow table.
#include <rte_mbuf.h>

#include "flow/flow_key.hpp"
#include "packet/parse.hpp"
#include "policy/classifier.hpp"
#include "qos/decision.hpp"

namespace ivs::policy {

inline constexpr uint8_t kNoVerdict = 0xff;
// Upcall::qos when the packet carries no QoS decision: not a packed qos::Decision (its
// mode would be 253, no QosMode), so that qos::kNoDecision (0: nothing assigned) can still
// be carried.
inline constexpr uint64_t kNoQos = ~uint64_t{0};

struct Upcall {
  rte_mbuf* mbuf;
  uint16_t in_port;
  int16_t network;
  uint8_t direction;
  uint8_t verdict;  // on the way back: the flow's flow::FlowState; kNoVerdict on the way up
  uint16_t trace;   // a packet of a live trace: its session << 8 | its slot (pipeline/trace_record.hpp); 0: not traced
  packet::ParsedPacket pp;
  flow::FlowKey key;
  // On the way back, when the table refused the flow's entry: the QoS guard's decision for
  // this packet's direction (qos::Decision packed), which the entry would have held, so a
  // packet finished without an entry is guarded like any other. kNoQos otherwise.
  uint64_t qos = kNoQos;
};

// What the policy's rules match for the packet of an upcall (its own direction).
inline FlowTuple tuple_of(const Upcall& u) {
  FlowTuple t;
  t.ipv6 = u.key.family == 6;
  t.proto = u.key.proto;
  if (!t.ipv6) {
    uint32_t a, b;
    std::memcpy(&a, u.key.addr[u.direction], 4);
    std::memcpy(&b, u.key.addr[1 - u.direction], 4);
    t.src_ip = __builtin_bswap32(a);
    t.dst_ip = __builtin_bswap32(b);
  }
  t.src_port = u.pp.src_port;  // TCP/UDP ports; ICMP type/code as the parser read them
  t.dst_port = u.pp.dst_port;
  t.network = u.network;
  return t;
}

}  // namespace ivs::policy
