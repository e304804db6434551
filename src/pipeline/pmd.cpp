#include "pipeline/pmd.hpp"

#include <rte_cycles.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring_elem.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <time.h>

#include <cstdlib>

#include "dpdk/memory.hpp"

namespace ivs::pipeline {

namespace {
constexpr uint16_t kBurst = 32;
// Empty polls in a row before the first nap: keeps latency low for bursty traffic.
constexpr uint32_t kSpinPollsBeforeSleep = 1024;
// Stack touched at thread start: a burst's arrays and the deepest path (trace, fragments,
// mirrors) use well under this.
constexpr size_t kStackPrefault = 256 * 1024;

// Test hook, used only by tests/packaging (documented in docs/operations.md): with
// IVSWITCHD_TEST_STALL_PMD_MS=N in the environment, datapath thread 0 stops making progress
// N ms after it starts, as a stuck thread would, so that the test can see the service
// watchdog withheld. Read once per thread start, never per packet. Returns the TSC at
// which to stall, 0 for never.
uint64_t test_stall_at(unsigned index, uint64_t hz) {
  const char* v = std::getenv("IVSWITCHD_TEST_STALL_PMD_MS");
  if (index != 0 || v == nullptr || *v == '\0') return 0;
  return rte_rdtsc() + std::strtoull(v, nullptr, 10) * hz / 1000 + 1;
}
}  // namespace

Pmd::Pmd(unsigned index, unsigned cpu, unsigned lcore, const DatapathContext& ctx, rte_rcu_qsbr* rcu,
         uint32_t idle_sleep_max_us, rte_ring* upcall_ring, rte_ring* reinject_ring)
    : index_(index),
      cpu_(cpu),
      lcore_(lcore),
      ctx_(ctx),
      rcu_(rcu),
      idle_sleep_max_us_(idle_sleep_max_us),
      reinject_ring_(reinject_ring),
      rx_list_(nullptr),
      rx_(std::make_unique<RxList>()),
      port_counters_(ctx.port_slots()),
      fwd_(ctx, static_cast<uint16_t>(index), counters_, port_counters_, upcall_ring, index) {
  rx_list_.store(rx_.get(), std::memory_order_release);
}

std::unique_ptr<const RxList> Pmd::publish_rx(std::unique_ptr<RxList> next) {
  next->generation = ++rx_generation_;
  rx_list_.store(next.get(), std::memory_order_release);
  std::unique_ptr<const RxList> old = std::move(rx_);
  rx_ = std::move(next);
  return old;
}

void Pmd::run(const std::atomic<bool>& running) noexcept {
  // Naps of a few microseconds need a small timer slack (default 50 us).
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  // The stack this loop will use, resident before the first packet (dpdk/memory.hpp);
  // the tables it writes were touched by Datapath::start.
  dpdk::prefault_stack(kStackPrefault);
  tid_.store(static_cast<int>(gettid()), std::memory_order_release);
  rte_rcu_qsbr_thread_register(rcu_, index_);
  rte_rcu_qsbr_thread_online(rcu_, index_);
  auto& ports = *ctx_.ports;
  const uint64_t hz = ctx_.tsc_hz;
  rte_mbuf* pkts[kBurst];
  // Made once, not per iteration: Upcall's default member initializers (qos) would
  // otherwise be stored 32 times on every poll (~1,100 instructions a burst: found with
  // bench/blackbox/callgrind.sh).
  Upcall ups[kBurst];
  uint32_t empty_polls = 0, sleep_us = 0;
  uint64_t prev = rte_rdtsc();
  const uint64_t stall_at = test_stall_at(index_, hz);
  while (running.load(std::memory_order_relaxed)) {
    if (stall_at != 0 && prev >= stall_at) [[unlikely]] {
      // The test hook above: no more iterations, so the heartbeat stops; offline so that
      // RCU writers (and through them the control thread) are not held up by the "stuck"
      // thread, and the test sees the heartbeat check alone withhold the watchdog.
      rte_rcu_qsbr_thread_offline(rcu_, index_);
      while (running.load(std::memory_order_relaxed)) {
        timespec ts{0, 1'000'000};
        nanosleep(&ts, nullptr);
      }
      rte_rcu_qsbr_thread_online(rcu_, index_);
      break;
    }
    uint64_t got = 0;
    const uint32_t now_s = static_cast<uint32_t>(prev / hz);
    // The ports to poll, once per iteration: a port added or removed by a reload is in
    // (or out of) the next iteration's list; this one is not freed before the quiescent
    // state reported below.
    const RxList& rx = *rx_list_.load(std::memory_order_acquire);
    fwd_.use(rx);
    for (uint16_t p : rx.ports)
      for (uint16_t q = 0; q < ports[p].rx_queues; ++q) {
        const uint16_t n = ports[p].io.rx_burst(q, pkts, kBurst);
        if (n == 0) continue;
        got += n;
        fwd_.process(p, pkts, n, now_s, prev);
      }
    if (reinject_ring_) {  // first packets of new flows, back from the policy thread
      const unsigned n = rte_ring_sc_dequeue_burst_elem(reinject_ring_, ups, sizeof(Upcall), kBurst, nullptr);
      if (n) {
        got += n;
        fwd_.reinject(ups, static_cast<uint16_t>(n), now_s, prev);
      }
    }
    got += fwd_.poll();  // the modules' work between bursts (the broker's copies for tool ports)
    if (got) fwd_.flush();
    // Ports with an egress queue this thread polls (QoS schedulers): send what their
    // shapers let go since.
    bool backlog = false;
    for (uint16_t p : rx.queued) {
      PortRuntime& pr = ports[p];
      EgressQueue& q = *pr.egress_queue;
      const auto r = pr.link_up.load(std::memory_order_relaxed) ? q.drain(pr.io, index_ % pr.tx_queues) : EgressQueue::Result{};
      if (!pr.link_up.load(std::memory_order_relaxed) && q.backlog())
        port_counters_[p].drops[static_cast<size_t>(DropReason::kTxLinkDown)].add(q.discard());
      port_counters_[p].tx_packets.add(r.sent);
      port_counters_[p].tx_bytes.add(r.sent_bytes);
      got += r.sent;
      backlog |= q.backlog() != 0;
    }
    rte_rcu_qsbr_quiescent(rcu_, index_);
    const uint64_t now = rte_rdtsc();
    counters_.iterations.inc();
    if (got) {
      counters_.packets.add(got);
      counters_.busy_cycles.add(now - prev);
      empty_polls = 0;
      sleep_us = 0;
      prev = now;
      continue;
    }
    counters_.idle_cycles.add(now - prev);
    prev = now;
    // Queued packets waiting for their shaper keep the thread awake.
    if (++empty_polls < kSpinPollsBeforeSleep || idle_sleep_max_us_ == 0 || backlog) continue;
    sleep_us = sleep_us == 0 ? 1 : std::min(sleep_us * 2, idle_sleep_max_us_);
    // Offline while asleep so that writers waiting for a grace period are not held up.
    rte_rcu_qsbr_thread_offline(rcu_, index_);
    timespec ts{0, static_cast<long>(sleep_us) * 1000};
    nanosleep(&ts, nullptr);
    rte_rcu_qsbr_thread_online(rcu_, index_);
    counters_.sleeps.inc();
    counters_.sleep_us.add(sleep_us);
    prev = rte_rdtsc();
  }
  rte_rcu_qsbr_thread_offline(rcu_, index_);
  rte_rcu_qsbr_thread_unregister(rcu_, index_);
}

}  // namespace ivs::pipeline
