#pragma once
// A datapath (poll-mode) thread: polls the rx queues of the ports it owns, runs the
// Forwarder on each burst, flushes the tx batches, reports an RCU quiescent state, and
// accounts TSC cycles as busy (moved packets) or idle. When nothing arrives it naps with
// an exponential back-off up to idle_sleep_max_us, so an idle switch does not burn a core;
// under load it never sleeps. It also drains the egress queues of the ports it polls
// (pipeline/egress_queue.hpp: the QoS module's schedulers, qos.egress), and does not nap
// while they hold packets, and runs the modules' work
// between bursts (AttachPoint::kPoll: the broker's copies for tool ports it transmits).
//
// Thread: run() executes on its own EAL lcore; counters are read by the control thread.
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "pipeline/context.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/forwarder.hpp"

struct rte_rcu_qsbr;

namespace ivs::pipeline {

class Pmd {
 public:
  // upcall_ring / reinject_ring: this thread's rings to and from the policy thread (the
  // modules give its stages their own, by thread index: pipeline/module.hpp).
  Pmd(unsigned index, unsigned cpu, unsigned lcore, const DatapathContext& ctx, rte_rcu_qsbr* rcu,
      uint32_t idle_sleep_max_us, rte_ring* upcall_ring, rte_ring* reinject_ring);
  // The ports this thread polls, from the next loop iteration on (control thread). Returns
  // the list it replaces: free it only after an RCU grace period (Datapath::synchronize),
  // which the thread may still be reading until then. Before run(): no grace needed.
  // Each list is stamped with the next generation (RxList::generation) here.
  std::unique_ptr<const RxList> publish_rx(std::unique_ptr<RxList> next);
  // Live tracing: the session and this thread's buffer (before run()).
  void attach_live(LiveTrace* live, TraceBuffer* buf) { fwd_.attach_live(live, buf); }
  void run(const std::atomic<bool>& running) noexcept;

  unsigned index() const { return index_; }
  unsigned cpu() const { return cpu_; }
  unsigned lcore() const { return lcore_; }
  // The slots of the ports it polls now. Control threads: lists are published at start
  // only today; the reload that publishes them at runtime must exclude the views that
  // read this (show pmd) while it swaps them.
  const std::vector<uint16_t>& rx_ports() const { return rx_->ports; }
  const PmdCounters& counters() const { return counters_; }
  // The thread's heartbeat: its loop iterations, bumped once per poll (also after each
  // nap, at most idle_sleep_max_us apart) with a relaxed store, no syscall. The control
  // thread feeds the service watchdog only while every thread's heartbeat moves.
  uint64_t heartbeat() const { return counters_.iterations.get(); }
  // The thread's kernel id once it runs (0 before): the control thread reads its page
  // faults from /proc/self/task/TID/stat.
  int tid() const { return tid_.load(std::memory_order_acquire); }
  const std::vector<PortCounters>& port_counters() const { return port_counters_; }

 private:
  unsigned index_, cpu_, lcore_;
  const DatapathContext& ctx_;
  rte_rcu_qsbr* rcu_;
  uint32_t idle_sleep_max_us_;
  std::atomic<int> tid_{0};
  rte_ring* reinject_ring_;
  // The published list (one acquire load per loop iteration, no lock) and the owner of
  // what it points to (the control thread's side).
  std::atomic<const RxList*> rx_list_;
  std::unique_ptr<const RxList> rx_;
  uint64_t rx_generation_ = 0;  // the last list's (control thread)
  PmdCounters counters_;
  std::vector<PortCounters> port_counters_;
  Forwarder fwd_;
};

}  // namespace ivs::pipeline
