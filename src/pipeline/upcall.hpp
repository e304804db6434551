#pragma once
// What travels between a datapath thread and the policy thread when a packet belongs to
// no known flow: the packet, where it came from, what the parser found, its flow key.
// The policy thread answers on the datapath thread's reinject ring with the verdict;
// the datapath then finishes the packet as if it had hit the flow table.
//
// The core's (issue 17): the upcall and reinject rings, the record on them and the
// re-inject are the datapath's mechanism; what the policy job decides for the flow
// travels back as plain values (a flow::FlowState, a packed qos::Decision), so that the
// core needs no job's header to carry it. The policy's view of an upcall (the tuple its
// rules match, policy::tuple_of) is in policy/upcall.hpp.
#include <rte_mbuf.h>

#include <cstdint>

#include "flow/flow_key.hpp"
#include "packet/parse.hpp"

namespace ivs::pipeline {

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

}  // namespace ivs::pipeline
