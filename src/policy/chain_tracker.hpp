#pragma once
// The policy thread's side of inspect-then-shortcut (docs/chains.md): which state a new
// flow of an `inspect` rule starts in, the pending flows' verify timeouts, the devices'
// health, and per-chain counters.
//
//   new flow, device healthy         -> PENDING (its packets go through the device)
//   new flow, device down            -> DENIED (fail-closed) or ALLOWED, bypassing it (fail-open)
//   PENDING, device passed it back   -> VERIFIED (set by the datapath thread; counted here)
//   PENDING past verify_timeout_ms   -> DENIED (fail-closed) or VIA-DEVICE (fail-open)
//
// Thread: the policy thread only (views read the stats under the slow path's mutex).
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/counter.hpp"
#include "flow/flow_table.hpp"
#include "policy/classifier.hpp"
#include "policy/decision.hpp"

namespace ivs::policy {

struct ChainStats {
  Counter pending;        // flows that started pending
  Counter verified;       // ... and were passed back by the device
  Counter timeouts;       // ... and were not, within verify_timeout_ms
  Counter denied;         // flows denied: timeout or device down, fail-closed
  Counter via_device;     // timeouts under fail-open: the flow stays on the device path
  Counter bypassed;       // device down under fail-open: allowed without inspection
  Counter verify_us_sum;  // with `verified`: mean time to verify
  uint64_t verify_us_max = 0;
  bool healthy = true;    // out and return ports have link
};

class ChainTracker {
 public:
  // port_up(port index): link state of a switch port (checked once per second).
  ChainTracker(uint64_t tsc_hz, std::function<bool(uint16_t)> port_up);

  // A new flow of `key` that `v` (action inspect) decided: where it starts (pending on the
  // device, denied, or bypassing a device that is down) and its chain path. Changes
  // nothing (trace asks the same); `in_mac`/`in_net` are the initiator's MAC and network;
  // `in_mac` may be null (no packet at hand): no shortcut is planned from it.
  ChainAdmission plan(const Verdict& v, const Classifier& policy, const flow::FlowKey& key, const uint8_t* in_mac,
                      int16_t in_net, uint8_t initiator_side, uint64_t now_tsc) const;
  // A planned admission that was installed: counted per chain.
  void count(const Classifier& policy, const ChainAdmission& a);
  // The state of a flow that `v` decided when there is no entry for it (table full).
  flow::FlowState admit_without_entry(const Verdict& v, const Classifier& policy) const;
  // After a pending entry was published.
  void track(flow::FlowEntry* e) { pending_.push_back({e, e->gen.load(std::memory_order_relaxed)}); }
  // Timeouts, verified counts, health; cheap when nothing is pending. Returns true if it
  // changed a flow; `down_open` gets the fail-open chains whose device just went down.
  bool tick(const Classifier& policy, uint64_t now_tsc, std::vector<int16_t>& down_open);
  // Did a packet of a flow `v` inspects arrive on one of its chain's ports?
  static bool from_device(const Classifier& policy, const Verdict& v, uint16_t in_port) {
    const CompiledChain& ch = policy.chains()[static_cast<size_t>(v.chain)];
    return in_port == ch.out_port || in_port == ch.return_port;
  }

  const std::map<std::string, ChainStats>& stats() const { return stats_; }
  size_t pending_now() const { return pending_.size(); }
  // Flows still pending, per chain of `policy` (from the tracked list, not a table walk).
  std::vector<uint64_t> pending_by_chain(const Classifier& policy) const;
  // A new policy: look at the devices' health before its first flows are admitted.
  void check_health_soon() { next_health_tsc_ = 0; }
  bool healthy(const Classifier& policy, int16_t chain) const;

 private:
  ChainStats& stats_of(const Classifier& policy, int16_t chain) { return stats_[policy.chains()[static_cast<size_t>(chain)].name]; }
  void check_health(const Classifier& policy, std::vector<int16_t>& down_open);

  uint64_t tsc_hz_;
  std::function<bool(uint16_t)> port_up_;
  struct Pending {
    flow::FlowEntry* entry;
    uint32_t gen;  // the entry's generation when tracked: a removed or reused entry is skipped
  };
  std::vector<Pending> pending_;
  std::map<std::string, ChainStats> stats_;
  uint64_t next_tick_tsc_ = 0, next_health_tsc_ = 0;
};

}  // namespace ivs::policy
