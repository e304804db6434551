#pragma once
// A burst between the Forwarder's stages (pipeline/forwarder.hpp), and what module stages
// (pipeline/module.hpp) see of it: per packet its mbuf, ingress port and network, and its
// parse, in parallel arrays. Per-call scratch on the datapath thread's stack.
#include <cstdint>

#include "flow/flow_key.hpp"
#include "packet/parse.hpp"

struct rte_mbuf;

namespace ivs::flow {
struct FlowEntry;
}

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

// What the flow lookup found for a packet, carried with it to the stages after the lookup
// (AttachPoint::kFlow) and its verdict; the packet's direction is its keys[j].direction.
// The same for a cache hit, a packet the policy thread re-injects and `ivctl trace`.
inline constexpr uint64_t kNoSlotWord = ~uint64_t{0};  // slot_word: none carried
struct FlowMeta {
  // The flow's entry; nullptr when there is none: the table refused it (full), or trace's
  // packet that the slow path sent back as the chain device's own (as_device_sent).
  flow::FlowEntry* entry;
  // Without an entry: the word of the module slot (flow::FlowSlot::word) the entry would
  // hold for this packet's direction (a flow the full table refused still has its QoS
  // decision); kNoSlotWord when there is none. Unused with an entry.
  uint64_t slot_word;
  uint8_t state;     // flow::FlowState the verdict follows
  bool from_device;  // a chain flow's packet coming back from the inline device
};

struct Burst {
  Pkt pkts[kMaxBurst];
  packet::ParsedPacket pp[kMaxBurst];
  flow::DirectedKey keys[kMaxBurst];
  bool related[kMaxBurst];      // an ICMP error keyed by the flow it quotes (make_related_key)
  uint16_t policy[kMaxBurst];   // indices waiting for the policy stage
  uint16_t forward[kMaxBurst];  // indices allowed to go on
  // After the flow lookup: per packet (by index, as pkts) its flow, and the indices of the
  // packets that found one (or were decided for trace) and wait for their verdict: what
  // the kFlow stages see. Not ICMP errors following a quoted flow, nor upcalls.
  FlowMeta flow[kMaxBurst];
  uint16_t flowed[kMaxBurst];
  uint16_t n = 0, n_policy = 0, n_forward = 0, n_flowed = 0;
};

}  // namespace ivs::pipeline
