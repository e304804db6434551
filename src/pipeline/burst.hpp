#pragma once
// A burst between the Forwarder's stages (pipeline/forwarder.hpp), and what module stages
// (pipeline/module.hpp) see of it: per packet its mbuf, ingress port and network, and its
// parse, in parallel arrays. Per-call scratch on the datapath thread's stack.
#include <cstdint>

#include "flow/flow_key.hpp"
#include "packet/parse.hpp"

struct rte_mbuf;

namespace ivs::pipeline {

inline constexpr uint16_t kMaxBurst = 64;  // one bulk hash lookup (RTE_HASH_LOOKUP_BULK_MAX)

// kShortcut: switched in the network the chain shortcut moved it to (may leave on its
// ingress port, e.g. a trunk carrying both networks).
enum class Path : uint8_t { kSwitch, kRoute, kShortcut };
struct Pkt {  // a packet between stages (m == nullptr: consumed by a module stage)
  rte_mbuf* m;
  uint16_t in_port;
  int16_t net;
  Path path;
};
// What travels with a packet from emit() to the egress stages (TxBatch keeps it parallel
// to the mbufs): who made it and the network it leaves in, so that egress neither trusts
// a field of the mbuf other code may reuse (m->port) nor re-parses the frame.
// origin: the index of the port the packet (or the one it was copied or fragmented from:
// flood copies, egress fragments) was received on; kOriginSwitch for a packet the switch
// made (ARP and ICMP echo replies, reject replies, packet-too-big errors, ARP requests,
// a channel's ARP answers). 4 bytes per queued packet, stored by the push that queues it.
inline constexpr uint16_t kOriginSwitch = 0xffff;
struct TxMeta {
  uint16_t origin;
  int16_t net;
};

struct Burst {
  Pkt pkts[kMaxBurst];
  packet::ParsedPacket pp[kMaxBurst];
  flow::DirectedKey keys[kMaxBurst];
  bool related[kMaxBurst];      // an ICMP error keyed by the flow it quotes (make_related_key)
  uint16_t policy[kMaxBurst];   // indices waiting for the policy stage
  uint16_t forward[kMaxBurst];  // indices allowed to go on
  uint16_t n = 0, n_policy = 0, n_forward = 0;
};

}  // namespace ivs::pipeline
