#pragma once
// vTAP, a datapath thread's part (the mirror module's stages, pipeline/module.hpp): at a
// tap point each mirror tapping it counts the packet as eligible, runs its filter
// (pcap-filter compiled to BPF, JIT), its 1-in-N sampling, copies the first snaplen bytes
// into the mirror pool and hands the copy to the broker on this thread's ring. A copy, not
// a reference: the packet is changed later (VLAN, MACs, TTL, DSCP) and the copy must show
// it as it was at the tap. Nothing here waits: no buffer or a full ring drops the copy,
// counted per mirror. And nothing is copied for nothing: before a copy the stage asks the
// broker's word whether every tool of the mirror is backed up (mirror/tools_full.hpp) and
// whether the ring has room (known per burst, refreshed only when it runs out); either
// way the copy is not made, and counted.
//
// One TapStage per Forwarder, attached at three points, so that the rx and tx taps count
// into one set of counters with one sampling state, as one thread's taps always did:
//   kReceive  rx taps: every frame as received, malformed ones too, before parse
//   kEgress   tx taps: each port's packets queued in the burst, with their TxMeta
//   kLookup   flow taps: the packets of the flows a mirror's policy `match` selects, at the
//             flow lookup (a flow's first packet too, as it goes up to the policy thread:
//             kFlow, after the lookup, does not see it)
//   kPoll     the copies the broker queued for tool ports this thread transmits
//
// Dedup: a packet switched between two ports one mirror taps is judged once, at its
// ingress tap; the egress tap counts it as a duplicate. The ingress port is the origin
// that travels with the packet to the egress point (TxMeta, set by emit()'s caller);
// packets the switch makes itself carry kOriginSwitch, copies and fragments the
// original's.
//
// Simulation (ivctl trace): the mirrors judge the packet and count the copy they would
// make (and the trace records it), but copy nothing.
//
// The set: the module publishes it (MirrorModule, published.cpp); begin_burst loads it
// once per burst, so every tap of a burst judges against one set, and the module frees an
// old set only after the Datapath's grace period (a thread's quiescent state falls between
// its bursts).
//
// Thread: run, run_egress, run_lookup, poll and begin_burst on the Forwarder's thread only; counters()
// read by the control thread (single-writer counters); reset_slot() by the control thread
// for a slot no published set references any more.
#include <array>
#include <atomic>
#include <cstdint>

#include "common/counter.hpp"
#include "mirror/tap_record.hpp"
#include "mirror/verdict_cache.hpp"
#include "pipeline/burst.hpp"
#include "pipeline/module.hpp"

struct rte_mempool;
struct rte_ring;

namespace ivs::flow {
struct FlowEntry;
}
namespace ivs::packet {
struct ParsedPacket;
}

namespace ivs::mirror {

class MirrorSet;
class MirrorModule;
class ToolsFull;
struct CompiledMirror;

// Per mirror slot, per datapath thread: what the tap points did.
struct alignas(64) MirrorCounters {
  Counter eligible;      // packets seen at the mirror's tap points
  Counter filtered_out;  // not selected by its filter
  Counter sampled_out;   // selected, skipped by 1-in-N sampling
  Counter copied;        // copies handed to the broker
  Counter no_buffer;     // no mbuf in the mirror pool for the copy
  Counter queue_full;    // not copied: the broker's ring was full (the broker is behind)
  Counter duplicate;     // seen again at an egress tap, after the ingress tap (dedup)
  Counter tools_full;    // not copied: every tool of the mirror was backed up (ToolsFull)
  // How the filter's verdicts were had (packets with a filter, not deduplicated):
  Counter filter_runs;      // the filter ran (per packet, or the first of its flow at this thread)
  Counter verdict_cached;   // read from the flow's verdict (verdict_cache.hpp): the filter did not run
  void reset() noexcept {
    for (Counter* c : {&eligible, &filtered_out, &sampled_out, &copied, &no_buffer, &queue_full, &duplicate, &tools_full, &filter_runs,
                       &verdict_cached})
      c->reset();
  }
};
using ThreadMirrorCounters = std::array<MirrorCounters, kMaxMirrors>;

// Where one datapath thread's copies go: the mirror pool they are copied into, the
// thread's ring to the broker (TapRecord) and the broker's ring of copies for the tool
// ports the thread transmits (ToolPacket). The mirror module's (one pair per datapath
// thread, MirrorModule::rings), or a test's. No tap ring: nothing is copied or counted
// (except when the Forwarder simulates: ivctl trace judges and counts, copies nothing).
// `full`: the broker's word on which mirrors' tools are all backed up (nullptr: never).
struct TapRings {
  rte_mempool* pool = nullptr;
  rte_ring* tap = nullptr;
  rte_ring* tool = nullptr;
  const ToolsFull* full = nullptr;
};

class TapStage final : public pipeline::Stage {
 public:
  // `owner`: the module that sums this stage's counters (nullptr: not a datapath thread's,
  // its counters are its own: ivctl trace's, a test's).
  // `published`: where the module publishes its mirror set (nullptr: no mirrors).
  // `rings`: this thread's (none: ivctl trace's stage, or a test's until it attaches its own).
  TapStage(const MirrorModule* owner, const std::atomic<const MirrorSet*>* published, TapRings rings = {})
      : owner_(owner), published_(published), rings_(rings) {}
  ~TapStage() override;
  TapStage(const TapStage&) = delete;
  TapStage& operator=(const TapStage&) = delete;

  void run(pipeline::Forwarder& f, pipeline::Burst& b) noexcept override;               // rx taps
  void run_egress(pipeline::Forwarder& f, const pipeline::TxView& out) noexcept override;  // tx taps
  unsigned poll(pipeline::Forwarder& f) noexcept override;                              // tool ports
  // Rx and tx taps only while a mirror set is published (mirrors come and go at runtime;
  // with none, the receive and egress points cost one call per burst).
  bool active(const pipeline::Forwarder& /*f*/) const noexcept override { return set_ != nullptr; }
  void run_lookup(pipeline::Forwarder& f, const pipeline::Burst& b) noexcept override;    // flow taps
  // At the start of each burst: the set this burst's taps judge against, loaded once (when
  // this stage copies to a broker or the Forwarder simulates; else none: nothing to do).
  void begin_burst(const pipeline::Forwarder& f) noexcept override;

  const ThreadMirrorCounters& counters() const noexcept { return counters_; }
  void reset_slot(uint8_t slot) noexcept { counters_[slot].reset(); }
  // A test's rings and published set (tests/support/forwarder_rig.hpp), before its
  // Forwarder's first burst.
  void attach(TapRings rings, const std::atomic<const MirrorSet*>* published) noexcept {
    rings_ = rings;
    published_ = published;
    tap_room_ = 0;
  }

 private:
  // Flow taps: packet `p` of a flow a mirror's policy match selects (matched in the
  // direction of the flow's first packet; `fe` nullptr: this packet starts the flow).
  void flow_tap(pipeline::Forwarder& f, const pipeline::Pkt& p, const packet::ParsedPacket& pp, const flow::FlowEntry* fe,
                uint8_t direction) noexcept;
  void copy(pipeline::Forwarder& f, const MirrorSet& set, uint8_t idx, uint16_t port, rte_mbuf* m, TapDirection dir) noexcept;
  // Whether mirror `idx`'s filter selects `m`: read from the flow's verdict where the
  // filter's analysis allows it and the frame meets its condition, else the filter run.
  bool selects(const MirrorSet& set, uint8_t idx, const CompiledMirror& cm, rte_mbuf* m, MirrorCounters& c) noexcept;

  const MirrorModule* owner_;
  const std::atomic<const MirrorSet*>* published_;
  const MirrorSet* set_ = nullptr;  // this burst's (begin_burst); freed only after the thread's quiescent state
  TapRings rings_;
  ThreadMirrorCounters counters_;
  std::array<uint32_t, kMaxMirrors> sample_count_{};
  // Free slots of the ring to the broker, as last read (rte_ring_free_count: it reads the
  // broker's cache line, so only when this runs out). Only this thread enqueues, so the
  // ring has at least this much room: a copy counted here always fits.
  unsigned tap_room_ = 0;
  VerdictCache verdicts_;  // this thread's per-flow filter verdicts
};

}  // namespace ivs::mirror
