#pragma once
// Packet trace records (issue 16, item 2). The stages of the Forwarder write, for a
// traced packet only, small fixed-size records of what they decided: an event id and a
// few integers (ports, networks, addresses, rule and epoch numbers). No strings, no
// formatting, no allocation: a record is a 32-byte store into a buffer allocated before
// tracing starts. The control thread turns the records into text and JSON afterwards
// (pipeline/trace_format.hpp), resolving names (ports, networks, rules, chains, QoS
// assignments) from the tables and the policy snapshot the trace ran against.
//
// Two users, one buffer type:
//   - `ivctl trace DESCRIPTION`: a described packet run through the real Forwarder in
//     simulation mode on the control thread (Forwarder::simulate): nothing is learned,
//     installed or sent, every packet is traced;
//   - `ivctl trace --live PORT`: the next N packets received on PORT (optionally matching
//     a pcap filter) are traced by the datapath thread that polls it, as they are really
//     forwarded (LiveTrace below arms it; Forwarder::process_live records).
//
// Thread: a TraceBuffer has one writer (the Forwarder that owns it); the control thread
// reads it only after the writer is known to be done (simulation: same thread; live:
// after the session is disarmed and an RCU grace period has passed).
#include <rte_mbuf.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <vector>

#include "flow/flow_key.hpp"

namespace ivs::packet {
class PacketFilter;
}

namespace ivs::pipeline {

// Stages, as shown in the trace's first column.
#define IVS_TRACE_STAGES(X) \
  X(kIngress, "ingress")    \
  X(kLearn, "learn")        \
  X(kClassify, "classify")  \
  X(kFragment, "fragment")  \
  X(kLocal, "local")        \
  X(kPolicy, "policy")      \
  X(kChain, "chain")        \
  X(kQos, "qos")            \
  X(kMirror, "mirror")      \
  X(kForward, "forward")    \
  X(kOutput, "output")      \
  X(kDrop, "drop")

enum class TraceStage : uint8_t {
#define IVS_X(id, name) id,
  IVS_TRACE_STAGES(IVS_X)
#undef IVS_X
  kCount
};

// The core's events: (id, stage, name in JSON). What each one's fields mean is in
// trace_format.cpp, next to the text it becomes. A module's events are declared in its
// folder and numbered after these (pipeline/trace_event.hpp).
#define IVS_TRACE_EVENTS(X)                                       \
  X(kIngress, kIngress, "received")                               \
  X(kLearnNew, kLearn, "mac_new")                                 \
  X(kLearnKnown, kLearn, "mac_known")                             \
  X(kArpAnswered, kLocal, "arp_answered")                         \
  X(kEchoAnswered, kLocal, "echo_answered")                       \
  X(kNdAnswered, kLocal, "nd_answered")                           \
  X(kToSwitch, kClassify, "to_switch")                            \
  X(kToRoute, kClassify, "to_route")                              \
  X(kToPolicy, kClassify, "to_policy")                            \
  X(kFragment, kFragment, "fragment")                             \
  X(kCacheHit, kPolicy, "cache_hit")                              \
  X(kMissDecided, kPolicy, "miss_decided")                        \
  X(kUpcall, kPolicy, "upcall")                                   \
  X(kReinjected, kPolicy, "reinjected")                           \
  X(kRelated, kPolicy, "related")                                 \
  X(kRejected, kPolicy, "rejected")                               \
  X(kTableFull, kPolicy, "table_full")                            \
  X(kAsDeviceSent, kChain, "as_device_sent")                      \
  X(kChainAdmission, kChain, "admission")                         \
  X(kChainFromDevice, kChain, "from_device")                      \
  X(kChainToDevice, kChain, "to_device")                          \
  X(kChainShortcut, kChain, "shortcut")                           \
  X(kQosCheck, kQos, "dscp")                                      \
  X(kQosMeter, kQos, "meter")                                     \
  X(kQosClass, kQos, "class")                                     \
  X(kMirrorCopied, kMirror, "copied")                             \
  X(kFlood, kForward, "flood")                                    \
  X(kSwitched, kForward, "switched")                              \
  X(kRouted, kForward, "routed")                                  \
  X(kNeighborUnknown, kForward, "neighbor_unknown")               \
  X(kOutput, kOutput, "port")                                     \
  X(kFragmented, kOutput, "fragmented")                           \
  X(kTooBig, kOutput, "too_big")                                  \
  X(kDrop, kDrop, "dropped")

enum class TraceEvent : uint8_t {
#define IVS_X(id, stage, name) id,
  IVS_TRACE_EVENTS(IVS_X)
#undef IVS_X
  kCoreCount  // the first module's event
};
inline constexpr size_t kCoreTraceEventCount = static_cast<size_t>(TraceEvent::kCoreCount);
// kMirrorCopied's `b`: the tap's direction as the mirror module records it (its
// mirror::TapDirection, pcapng's EPB flags: 1 rx, 2 tx; checked there), so that the
// formatter need not include the module's header.
inline constexpr uint32_t kMirrorCopiedTx = 2;
// kChainAdmission's `a`: the admission's outcome as the policy decides it
// (policy::ChainAdmission::Outcome; checked where it is recorded): pending, denied, else
// bypassed (shortcut or allowed).
inline constexpr uint32_t kChainAdmissionPending = 1;
inline constexpr uint32_t kChainAdmissionDenied = 2;
// kQosMeter's `c`: the meter's action (config::MeterAction::Kind; checked where it is
// recorded, qos/guard.cpp): remark, drop, else transmit.
inline constexpr uint32_t kMeterActionRemark = 1;
inline constexpr uint32_t kMeterActionDrop = 2;

// One decision of one stage about one packet. `a`..`d` mean what the event says
// (trace_format.cpp); addresses are host order, MACs in the low 48 bits of c or d.
struct TraceRecord {
  TraceEvent what;
  uint8_t flags;    // event-specific bits
  uint16_t packet;  // index of its packet in the buffer
  uint16_t port;
  int16_t net;
  uint32_t a, b;
  uint64_t c, d;
};
static_assert(sizeof(TraceRecord) == 32);

inline uint64_t mac_bits(const uint8_t* m) {
  uint64_t v = 0;
  std::memcpy(&v, m, 6);
  return v;
}

// A traced packet: where and when it arrived, its first bytes as received, and the flow
// key the classify stage computed for it (the formatter shows it; recomputing it from
// the frame would be a second copy of the stage).
struct TracePacket {
  static constexpr uint32_t kHead = 128;
  uint64_t tsc;
  uint32_t wire_len;
  uint16_t in_port;
  uint16_t head_len;
  bool has_key;
  bool upcalled;    // sent to the policy thread and not back yet (live)
  uint8_t thread;
  uint8_t pad;
  uint32_t pad2;
  flow::FlowKey key;
  uint8_t head[kHead];
};

class TraceBuffer {
 public:
  static constexpr uint16_t kPackets = 256;   // live: the most `-c` can ask for
  static constexpr uint32_t kRecords = 8192;  // 256 KiB per datapath thread
  static constexpr uint16_t kMapSize = 128;   // mbufs of the current burst being traced

  // Allocated once, by the control thread (never on the datapath).
  explicit TraceBuffer(uint8_t thread = 0) : packets_(kPackets), records_(kRecords), thread_(thread) {}

  // Control thread, while no writer runs: forget everything.
  void reset() noexcept {
    n_packets_ = 0;
    n_records_ = 0;
    lost_ = 0;
    n_map_ = 0;
  }
  // A new traced packet `m` received on `in_port`: its slot, or -1 when the buffer has no
  // room for another packet. Datapath (the owning Forwarder).
  int begin(rte_mbuf* m, uint16_t in_port, uint64_t tsc) noexcept {
    if (n_packets_ >= kPackets) return -1;
    const uint16_t slot = n_packets_++;
    TracePacket& p = packets_[slot];
    p.tsc = tsc;
    p.wire_len = m->pkt_len;
    p.in_port = in_port;
    p.head_len = static_cast<uint16_t>(m->data_len < TracePacket::kHead ? m->data_len : TracePacket::kHead);
    p.has_key = false;
    p.upcalled = false;
    p.thread = thread_;
    std::memcpy(p.head, rte_pktmbuf_mtod(m, const uint8_t*), p.head_len);
    map(m, slot);
    return slot;
  }
  // Follow `m` as packet `slot` in this burst (a packet back from the policy thread).
  // The map full: the mbuf goes untraced and what it would have recorded counts as lost.
  void map(const rte_mbuf* m, uint16_t slot) noexcept {
    if (n_map_ < kMapSize) map_[n_map_++] = {m, slot};
    else ++lost_;
  }
  // `m` is about to be freed: the mempool hands its address out again at once (a flood
  // copy, a fragment of another packet in this burst), which must not be taken for it.
  void forget(const rte_mbuf* m) noexcept {
    for (uint16_t i = 0; i < n_map_; ++i)
      if (map_[i].m == m) map_[i].m = nullptr;
  }
  // `copy` (a flood copy, a fragment) is the same traced packet as `of`.
  void alias(const rte_mbuf* copy, const rte_mbuf* of) noexcept {
    if (const int s = slot_of(of); s >= 0) map(copy, static_cast<uint16_t>(s));
  }
  int slot_of(const rte_mbuf* m) const noexcept {
    for (uint16_t i = 0; i < n_map_; ++i)
      if (map_[i].m == m) return map_[i].slot;
    return -1;
  }
  // A record about `m`; nothing when `m` is not traced. Full: counted as lost.
  void record(const rte_mbuf* m, TraceEvent what, uint16_t port = 0, int16_t net = -1, uint32_t a = 0, uint32_t b = 0,
              uint64_t c = 0, uint64_t d = 0, uint8_t flags = 0) noexcept {
    const int s = slot_of(m);
    if (s < 0) return;
    if (n_records_ >= kRecords) {
      ++lost_;
      return;
    }
    records_[n_records_++] = TraceRecord{what, flags, static_cast<uint16_t>(s), port, net, a, b, c, d};
  }
  void key(const rte_mbuf* m, const flow::FlowKey& k) noexcept {
    if (const int s = slot_of(m); s >= 0) {
      packets_[static_cast<size_t>(s)].key = k;
      packets_[static_cast<size_t>(s)].has_key = true;
    }
  }
  // (Atomic: the control thread polls it while it waits for upcalled packets to return.)
  void set_upcalled(uint16_t slot, bool v) noexcept { std::atomic_ref<bool>(packets_[slot].upcalled).store(v, std::memory_order_release); }
  // End of a burst: its mbufs are gone (sent, dropped, queued to the policy thread).
  void end_burst() noexcept { n_map_ = 0; }

  // Control thread, after the writer is done.
  uint16_t packet_count() const { return n_packets_; }
  uint32_t record_count() const { return n_records_; }
  uint64_t lost() const { return lost_; }
  const TracePacket& packet(uint16_t i) const { return packets_[i]; }
  const TraceRecord& rec(uint32_t i) const { return records_[i]; }
  bool any_upcalled() {
    for (uint16_t i = 0; i < n_packets_; ++i)
      if (std::atomic_ref<bool>(packets_[i].upcalled).load(std::memory_order_acquire)) return true;
    return false;
  }

 private:
  struct MapEntry {
    const rte_mbuf* m;
    uint16_t slot;
  };
  std::vector<TracePacket> packets_;
  std::vector<TraceRecord> records_;
  std::array<MapEntry, kMapSize> map_{};
  uint16_t n_packets_ = 0, n_map_ = 0;
  uint32_t n_records_ = 0;
  uint64_t lost_ = 0;
  uint8_t thread_;
};

// A live trace session, armed by the control thread (Datapath::trace_live). The datapath
// threads read `budget` once per received burst: 0 (the common case) costs that one
// predictable branch. port, filter and session are written while budget is 0 and
// published by the release store that arms it.
struct LiveTrace {
  std::atomic<uint32_t> budget{0};   // packets still to trace on `port`
  std::atomic<uint8_t> session{0};   // nonzero while a session collects (upcalled packets return)
  uint16_t port = 0;
  const packet::PacketFilter* filter = nullptr;  // nullptr: every packet
  // Takes one packet from the budget; false when it is spent (another thread may share it).
  bool claim() noexcept {
    uint32_t b = budget.load(std::memory_order_relaxed);
    while (b != 0)
      if (budget.compare_exchange_weak(b, b - 1, std::memory_order_relaxed)) return true;
    return false;
  }
};

// Upcall::trace for a traced packet: its session and slot (0: untraced).
inline uint16_t upcall_trace_tag(uint8_t session, uint16_t slot) { return static_cast<uint16_t>(session << 8 | (slot & 0xff)); }

}  // namespace ivs::pipeline
