#pragma once
// The policy (slow path) thread. It owns the flow table's writes and the compiled policy:
//  - upcalls: the first packet(s) of unknown flows arrive from each datapath thread on a
//    bounded ring; it classifies the flow (rte_acl), installs the entry with its verdict,
//    rule and epoch, and sends the packet back on that thread's reinject ring;
//  - policy changes: a new Classifier is handed over by the control thread; it bumps the
//    epoch and revalidates every flow (kept, changed or removed per rule on_change), and
//    records how long that took (the convergence time);
//  - aging: flows idle longer than their timeout are removed, a slice at a time.
// It never blocks the datapath: full rings drop and count.
#include <rte_ring.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/counter.hpp"
#include "config/model.hpp"
#include "flow/flow_snapshot.hpp"
#include "flow/flow_table.hpp"
#include "policy/autovalidator.hpp"
#include "policy/chain_tracker.hpp"
#include "policy/classifier.hpp"
#include "policy/decision.hpp"
#include "policy/flow_recorder.hpp"
#include "policy/upcall.hpp"
#include "pipeline/decider.hpp"
#include "pipeline/wakeup.hpp"

namespace ivs::policy {

struct SlowPathStats {
  Counter upcalls, installed, already_known, table_full, reinjected, reinject_full, expired, revalidated,
      changed, persisted, removed_on_change;
  // TSC cycles spent on upcall bursts (decide, install, re-inject): the slow path's load,
  // and with `installed` its cost per new flow.
  Counter busy_cycles;
  // Flow restore at start (policy/flow_restore.cpp): saved flows put back in the table,
  // saved flows left out (the policy now decides otherwise, a port or network gone, an
  // inspected flow, the table full), and flow files refused whole (corrupt, truncated,
  // another format).
  Counter restored, restore_refused, restore_files_refused;
};

// What the flows of a restart refer to by name (their indexes change with the config),
// and what a restored flow's key must be checked against in this switch's tables.
struct FlowNames {
  std::vector<std::string> ports, networks;  // by index, as this switch numbers them
  std::vector<uint16_t> zones;               // per network: its key zone (forward::NetworkInfo::zone)
  std::vector<uint8_t> carries;              // [port * networks + net]: the port carries the network
  bool port_carries(size_t port, size_t net) const {
    return port < ports.size() && net < networks.size() && carries.size() == ports.size() * networks.size() &&
           carries[port * networks.size() + net] != 0;
  }
};
// This switch's names, zones and memberships, from its config as the forwarding tables
// number them (forward/tables.cpp; a unit test holds the two equal).
FlowNames flow_names_of(const config::Config& cfg);

// Also the core's pipeline::Decider: `ivctl trace` asks it what it would decide for a
// traced packet's new flow (decide_miss, through decide_now: the one decide()).
class SlowPath final : public pipeline::Decider {
 public:
  // port_up(port index): link state, for the chains' device health.
  SlowPath(flow::FlowTable& table, const config::FlowConfig& cfg, std::unique_ptr<Classifier> initial,
           std::vector<rte_ring*> upcall_rings, std::vector<rte_ring*> reinject_rings, uint64_t tsc_hz,
           std::function<bool(uint16_t)> port_up = [](uint16_t) { return true; });
  ~SlowPath() override;

  // Before start(): where flow records go (nullptr: none). Not owned.
  void set_recorder(FlowRecorder* r);
  void start();
  void stop();
  // After stop() and after every datapath thread has stopped: the last records, of the
  // flows removed but not yet reclaimed and of those still in the table (forced end).
  void finish_records();
  // Flow restore (policy/flow_restore.cpp). Both before start() or after stop(), with no
  // datapath thread running: the established flows (allowed, denied, rejected; not those
  // on a chain) as the file keeps them, and the saved flows put back, each decided again
  // under this switch's policy first: a flow comes back only with the verdict the policy
  // now gives it (rule and epoch this policy's, QoS decision made again), its port and
  // network found by name. Returns how many came back.
  flow::FlowSnapshot save_flows(const FlowNames& names) const;
  uint32_t restore_flows(const flow::FlowSnapshot& saved, const FlowNames& names);
  uint32_t table_capacity() const { return table_.capacity(); }
  // A flow file refused whole (counted).
  void count_refused_file() { stats_.restore_files_refused.inc(); }
  // Control thread: hand over a new policy; it takes effect (and revalidation runs) on
  // the policy thread. Returns at once.
  void publish(std::unique_ptr<Classifier> next);

  // One round of work (drain upcalls, apply a pending policy, age a slice); returns true
  // if it did anything. The thread calls it in a loop; tests call it directly.
  bool run_once();

  // Views (any control thread; they take the table mutex).
  template <class F>
  void with_flows(F&& fn) const {
    std::lock_guard lock(mutex_);
    fn(table_, *policy_);
  }
  template <class F>
  void with_policy(F&& fn) const {
    std::lock_guard lock(mutex_);
    fn(*policy_, rule_hits_);
  }
  // Inside with_flows (the mutex is held): the chains' tracker.
  template <class F>
  void with_chains_locked(F&& fn) const {
    fn(chains_);
  }
  const SlowPathStats& stats() const { return stats_; }
  pipeline::Wakeup& wakeup() { return wakeup_; }
  double last_convergence_s() const { return last_convergence_s_.load(); }
  // The last reload's time from its request until in force (applied, an RCU grace period,
  // its flows revalidated): measured by the control thread that answers it.
  void note_in_force(double s) const { last_in_force_s_ = s; }  // (a measurement kept beside the policy's, not its state)
  double last_in_force_s() const { return last_in_force_s_.load(); }
  uint32_t epoch() const { return epoch_.load(); }
  // The last epoch whose revalidation has finished, and how long it took. epoch() moves
  // when a policy is taken, before its flows are revalidated; this moves after.
  struct Converged {
    uint32_t epoch = 0;
    double seconds = 0;
  };
  Converged converged() const {
    std::lock_guard lock(converged_mutex_);
    return converged_;
  }
  // Control thread: wait (at most `timeout`) until `epoch` or a later one has converged.
  std::optional<Converged> wait_converged(uint32_t epoch, std::chrono::milliseconds timeout) const;

  // Used by trace: the decision the policy thread would make for this packet's flow now,
  // installing nothing (policy/decision.hpp).
  FlowDecision decide_now(const Upcall& u) const;
  // pipeline::Decider: decide_now() as the trace records it, and the entry it would fill.
  pipeline::MissDecision decide_miss(const Upcall& u, flow::FlowEntry& entry, uint32_t now_s) const override;
  // Test mode: check the cache hits `a` samples, each round (before start()).
  void set_autovalidator(Autovalidator* a) { validator_ = a; }
  const Autovalidator* autovalidator() const { return validator_; }

 private:
  void handle(Upcall& u, uint32_t now_s, uint64_t now_tsc);
  // The one decision for a new flow (the mutex is held), and its publication as an entry;
  // install() returns the state the packet is finished in (and, refused, puts the packet's
  // QoS decision in u.qos).
  FlowDecision decide(const Upcall& u, uint64_t now_tsc) const;
  flow::FlowState install(Upcall& u, const FlowDecision& d, uint32_t now_s);
  // The state a decided flow's packet is finished in when the table refuses its entry.
  flow::FlowState state_without_entry(const FlowDecision& d) const {
    return d.verdict.action == PolicyAction::kInspect ? chains_.admit_without_entry(d.verdict, *policy_) : d.state;
  }
  bool has_work();  // an upcall queued or a policy waiting
  // The autovalidator's samples (slow_path_validate.cpp; the mutex is held).
  bool validate_cache_hits(uint64_t now_tsc);
  bool forget_device_flows(const std::vector<int16_t>& chains);
  void revalidate(const Classifier& old_policy);
  bool age_slice(uint32_t now_s);
  // A restored entry's QoS decisions made afresh under this policy and config (the sender
  // VMs looked up again); `t`: the flow's tuple in its initiator's direction.
  void restore_qos(flow::FlowEntry& e, const FlowTuple& t) const;
  uint32_t now_s() const;

  flow::FlowTable& table_;
  config::FlowConfig cfg_;
  std::unique_ptr<Classifier> policy_;
  std::vector<Counter> rule_hits_;
  std::unique_ptr<Classifier> pending_;
  std::mutex pending_mutex_;
  mutable std::mutex mutex_;  // table writes vs. views
  std::vector<rte_ring*> upcall_rings_, reinject_rings_;
  uint64_t tsc_hz_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<double> last_convergence_s_{0};
  mutable std::atomic<double> last_in_force_s_{0};
  mutable std::mutex converged_mutex_;
  mutable std::condition_variable converged_cv_;
  Converged converged_;
  std::atomic<uint32_t> epoch_{0};
  SlowPathStats stats_;
  ChainTracker chains_;
  Autovalidator* validator_ = nullptr;
  pipeline::Wakeup wakeup_;
  FlowRecorder* recorder_ = nullptr;
  std::vector<flow::FlowEntry*> age_scan_;
  size_t age_cursor_ = 0;
  uint32_t last_age_s_ = 0;
};

}  // namespace ivs::policy
