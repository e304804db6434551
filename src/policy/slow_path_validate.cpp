// The autovalidator's checks on the policy thread (policy/autovalidator.hpp): each
// sampled cache hit whose entry is as it was when served is decided again by decide(),
// for the flow from its first packet's direction, and judged.
#include <rte_cycles.h>

#include "policy/slow_path.hpp"

namespace ivs::policy {

bool SlowPath::validate_cache_hits(uint64_t now_tsc) {
  AutovalidatorStats& st = validator_->stats();
  const uint32_t epoch = policy_->epoch();
  const unsigned n = validator_->drain(Autovalidator::kRingSize, [&](const CacheHit& h) {
    const flow::FlowEntry& e = *h.entry;  // pool memory: valid while the table lives
    // Changed since it was served (removed, reused, its state moved on by the tap sensor or
    // a revalidation, or not yet revalidated for the current epoch): not this packet's
    // state any more, so not judged.
    if ((h.gen & 1) || e.gen.load(std::memory_order_acquire) != h.gen ||
        static_cast<uint8_t>(e.state.load(std::memory_order_acquire)) != h.state || e.epoch != epoch) {
      st.stale.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    Upcall u{};
    u.key = e.key;
    u.in_port = UINT16_MAX;  // not a chain's device port: a flow a VM started
    u.direction = e.initiator;
    u.network = e.network;
    u.pp.src_port = e.first_sport;
    u.pp.dst_port = e.first_dport;
    const FlowDecision d = decide(u, now_tsc);
    st.checked.fetch_add(1, std::memory_order_relaxed);
    if (auto what = Autovalidator::judge(h, e, d, *policy_)) validator_->mismatch(h, *what, now_tsc, tsc_hz_);
  });
  return n > 0;
}

}  // namespace ivs::policy
