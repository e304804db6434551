#pragma once
// The autovalidator (OVS's name; a test mode, flows.autovalidator / ivswitchd
// --autovalidator, off by default): packets served from the flow cache are checked
// against the slow path's decide() for the same flow, on the same flow state and epoch.
//
//   datapath thread   on a cache hit (exact-match cache or flow table), copies what it
//                     served (entry, its generation, the state it acted on, the packet's
//                     key, direction and port) into a bounded ring; ring full: counted
//                     (ring_full), never waited for
//   policy thread     drains the ring under its own mutex (so decide() never runs
//                     beside the slow path's writes), skips samples whose entry has since
//                     changed (removed, reused, its state moved, or a policy epoch not yet
//                     revalidated: stale), runs decide() for the flow from its first
//                     packet's direction (as revalidation does, so replies, `persist`
//                     rules and chain flows are judged as the cache judges them) and
//                     judge(); a mismatch is counted and logged (at most one line a second)
//
// Off, the datapath pays one predictable branch per cache hit (a null sampler pointer).
// Thread: sample() any datapath thread (multi-producer ring, atomic counters: a test
// mode); drain() the policy thread; counters read by anyone.
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "flow/flow_table.hpp"
#include "pipeline/cache_hit_sampler.hpp"
#include "policy/classifier.hpp"
#include "policy/decision.hpp"

namespace ivs::policy {

// One cache hit as the datapath served it.
struct CacheHit {
  flow::FlowEntry* entry;
  uint32_t gen;       // the entry's generation when it was served
  uint16_t in_port;
  uint8_t state;      // flow::FlowState the packet was finished by
  uint8_t direction;  // the packet's, in the entry's key
  flow::FlowKey key;  // the packet's own key (the one it was looked up by)
};
static_assert(sizeof(CacheHit) % 4 == 0);

struct AutovalidatorStats {
  std::atomic<uint64_t> sampled{0}, ring_full{0};  // datapath threads
  std::atomic<uint64_t> checked{0}, stale{0}, mismatch{0};  // policy thread
};

// The core's pipeline::CacheHitSampler: the Forwarder samples into it through that
// interface (a virtual call per cache hit, in this test mode only).
class Autovalidator final : public pipeline::CacheHitSampler {
 public:
  static constexpr unsigned kRingSize = 65536;  // 4 MB of samples: ~60 ms of cache hits at 1 Mpps between drains
  Autovalidator();
  ~Autovalidator();
  Autovalidator(const Autovalidator&) = delete;
  Autovalidator& operator=(const Autovalidator&) = delete;

  // Datapath: a packet was served by `e` in `state`.
  void sample(flow::FlowEntry& e, uint8_t state, const flow::FlowKey& key, uint8_t direction, uint16_t in_port) noexcept override {
    const CacheHit h{&e, e.gen.load(std::memory_order_acquire), in_port, state, direction, key};
    if (rte_ring_mp_enqueue_elem(ring_, const_cast<CacheHit*>(&h), sizeof(h)) == 0) stats_.sampled.fetch_add(1, std::memory_order_relaxed);
    else stats_.ring_full.fetch_add(1, std::memory_order_relaxed);
  }
  // Policy thread: up to `max` samples, in order; `fn(const CacheHit&)` each. Returns how many.
  template <class F>
  unsigned drain(unsigned max, F&& fn) {
    CacheHit h[64];
    unsigned total = 0, n;
    while (total < max && (n = rte_ring_sc_dequeue_burst_elem(ring_, h, sizeof(CacheHit), 64, nullptr)) > 0) {
      for (unsigned i = 0; i < n; ++i) fn(h[i]);
      total += n;
    }
    return total;
  }
  // The verdict the cache served (`served`, for entry `e` as it is now), against `fresh`,
  // decide()'s answer for the flow from its first packet. An empty answer: consistent;
  // else what differs. `policy` is the one `fresh` was decided under.
  static std::optional<std::string> judge(const CacheHit& served, const flow::FlowEntry& e, const FlowDecision& fresh,
                                          const Classifier& policy);
  // Count and log (rate-limited) a mismatch.
  void mismatch(const CacheHit& h, const std::string& what, uint64_t now_tsc, uint64_t tsc_hz);

  AutovalidatorStats& stats() { return stats_; }
  const AutovalidatorStats& stats() const { return stats_; }
  bool pending() const { return rte_ring_count(ring_) != 0; }

 private:
  rte_ring* ring_ = nullptr;
  AutovalidatorStats stats_;
  uint64_t next_log_tsc_ = 0;
  uint64_t unlogged_ = 0;
};

}  // namespace ivs::policy
