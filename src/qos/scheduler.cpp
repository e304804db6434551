#include "qos/scheduler.hpp"

#include <fmt/format.h>
#include <rte_cycles.h>
#include <rte_errno.h>

#include <algorithm>
#include <atomic>

namespace ivs::qos {
namespace {
// The port's rate in rte_sched's model (see below): 400 Gbit/s.
constexpr uint64_t kPortModelBytesPerSecond = 50'000'000'000ULL;
constexpr uint64_t kMtu = 9000;  // largest frame the scheduler must pass (jumbo)
}  // namespace

std::expected<std::unique_ptr<Scheduler>, std::string> Scheduler::create(const std::string& port_name,
                                                                        const config::QosEgress& cfg,
                                                                        const QosTables& tables, int socket) {
  std::unique_ptr<Scheduler> s(new Scheduler());
  static std::atomic<unsigned> seq{0};
  s->name_ = fmt::format("ivs_sched{}", seq++);
  s->rate_bps_ = cfg.rate_bps;
  const uint64_t rate = cfg.rate_bps / 8;

  // Only the traffic classes in use get queues (qsize 0 disables one, and its rate must
  // then be 0); best effort always exists, rte_sched requires it.
  rte_sched_subport_params sp{};
  sp.n_pipes_per_subport_enabled = 1;
  rte_sched_pipe_params pipe{};
  for (auto& w : pipe.wrr_weights) w = 1;
  s->tc_.resize(tables.classes().size());
  s->q_.resize(tables.classes().size());
  for (size_t i = 0; i < tables.classes().size(); ++i) {
    const auto& c = tables.classes()[i];
    s->tc_[i] = c.traffic_class;
    s->q_[i] = c.queue;
    sp.qsize[c.traffic_class] = static_cast<uint16_t>(cfg.queue_packets);
    if (!c.strict) pipe.wrr_weights[c.queue] = static_cast<uint8_t>(c.weight);
  }
  sp.qsize[RTE_SCHED_TRAFFIC_CLASS_BE] = static_cast<uint16_t>(cfg.queue_packets);

  // A frame larger than a bucket or than a class's credits per period would never leave:
  // both hold at least two of the largest frames (rte_sched resets class credits every
  // period rather than accumulating them). The period is 10 ms unless a slow rate needs
  // longer; a traffic class, once picked, is served until its queue or its credits for
  // the period run out, so strict priority acts at that granularity.
  const uint64_t max_frame = kMtu + RTE_SCHED_FRAME_OVERHEAD_DEFAULT;
  const uint64_t period_ms = std::clamp<uint64_t>((2 * max_frame * 1000 + rate - 1) / rate, 10, 1000);
  const uint64_t bucket = std::max<uint64_t>(2 * max_frame, rate * period_ms / 1000);
  rte_sched_subport_profile_params subport_profile{};
  subport_profile.tb_rate = rate;
  subport_profile.tb_size = bucket;
  subport_profile.tc_period = period_ms;
  pipe.tb_rate = rate;
  pipe.tb_size = bucket;
  pipe.tc_period = period_ms;
  pipe.tc_ov_weight = 1;
  for (size_t tc = 0; tc < RTE_SCHED_TRAFFIC_CLASSES_PER_PIPE; ++tc) {
    subport_profile.tc_rate[tc] = rate;  // the subport wants every rate set; the pipe only those in use
    if (sp.qsize[tc]) pipe.tc_rate[tc] = rate;
  }

  rte_sched_port_params pp{};
  pp.name = s->name_.c_str();
  pp.socket = socket;
  // The port's own rate is rte_sched's model of the link: each packet sent advances the
  // port's clock by its length, and buckets refill by that clock. Were it the shaped rate,
  // sending would refill the pipe as fast as it drains (measured: 36 Mbit/s through a
  // 20 Mbit/s shaper once two classes were active). So the port runs at the unshaped
  // rate and the subport and pipe carry the shaping.
  pp.rate = kPortModelBytesPerSecond;
  pp.mtu = kMtu;
  pp.frame_overhead = RTE_SCHED_FRAME_OVERHEAD_DEFAULT;
  pp.n_subports_per_port = 1;
  pp.subport_profiles = &subport_profile;
  pp.n_subport_profiles = 1;
  pp.n_max_subport_profiles = 1;
  pp.n_pipes_per_subport = 1;
  s->port_ = rte_sched_port_config(&pp);
  if (!s->port_) return std::unexpected(fmt::format("qos.egress: port '{}': rte_sched_port_config failed", port_name));

  sp.pipe_profiles = &pipe;
  sp.n_pipe_profiles = 1;
  sp.n_max_pipe_profiles = 1;
  if (int rc = rte_sched_subport_config(s->port_, 0, &sp, 0); rc != 0)
    return std::unexpected(fmt::format("qos.egress: port '{}': rte_sched_subport_config failed ({})", port_name, rc));
  if (int rc = rte_sched_pipe_config(s->port_, 0, 0, 0); rc != 0)
    return std::unexpected(fmt::format("qos.egress: port '{}': rte_sched_pipe_config failed ({})", port_name, rc));
  s->default_class_ = tables.class_of(0);
  // One full frame's worth of the rate, within 1..100 us (at 20 Mbit/s a full frame takes
  // 615 us, which added that much to the strict class's latency: measured 0.82 ms pings).
  s->backoff_tsc_ = std::clamp<uint64_t>(rte_get_tsc_hz() * 1538 / rate, rte_get_tsc_hz() / 1'000'000, rte_get_tsc_hz() / 10'000);
  s->totals_.resize(tables.classes().size());
  return s;
}

Scheduler::~Scheduler() {
  discard();
  if (port_) rte_sched_port_free(port_);
}

void Scheduler::classify(rte_mbuf* m, uint8_t cls) const noexcept {
  if (cls >= tc_.size()) cls = default_class_;
  rte_sched_port_pkt_write(port_, m, 0, 0, tc_[cls], q_[cls], RTE_COLOR_GREEN);
}

Scheduler::Result Scheduler::transmit_locked(const dpdk::PortIo& port, uint16_t queue) noexcept {
  Result r;
  // At most a burst per call: credits accrue while it runs, and an unbounded loop would
  // pace the port here, holding the lock (measured: 18 us per call at 1 Gbit/s). The
  // polling thread's drain() sends the rest, every iteration.
  for (int round = 0; round < kBurst / kDequeue; ++round) {
    if (n_held_ == 0) {
      // A dequeue that finds no credits is expensive (rte_sched walks its grinders; the
      // benchmark: 840 -> 350 cycles per offered packet with this back-off): after one,
      // wait until the shaper has earned about a full frame.
      const uint64_t now = rte_rdtsc();
      if (now < next_dequeue_tsc_) break;
      const int n = rte_sched_port_dequeue(port_, held_, kDequeue);
      if (n < kDequeue) next_dequeue_tsc_ = now + backoff_tsc_;
      if (n <= 0) break;
      n_held_ = static_cast<uint16_t>(n);
      held_first_ = 0;
    }
    const uint16_t sent = port.tx_burst(queue, held_ + held_first_, n_held_);
    for (uint16_t i = 0; i < sent; ++i) r.sent_bytes += held_[held_first_ + i]->pkt_len;
    r.sent = static_cast<uint16_t>(r.sent + sent);
    held_first_ = static_cast<uint16_t>(held_first_ + sent);
    n_held_ = static_cast<uint16_t>(n_held_ - sent);
    backlog_.fetch_sub(sent, std::memory_order_relaxed);
    if (n_held_ != 0) break;  // the device ring is full: the rest waits (backpressure)
  }
  return r;
}

Scheduler::Result Scheduler::send(const dpdk::PortIo& port, uint16_t queue, rte_mbuf** pkts, uint16_t n) noexcept {
  rte_spinlock_lock(&lock_);
  const int queued = rte_sched_port_enqueue(port_, pkts, n);  // frees what does not fit
  backlog_.fetch_add(static_cast<uint32_t>(queued), std::memory_order_relaxed);
  Result r = transmit_locked(port, queue);
  rte_spinlock_unlock(&lock_);
  r.dropped = static_cast<uint16_t>(n - queued);
  return r;
}

Scheduler::Result Scheduler::drain(const dpdk::PortIo& port, uint16_t queue) noexcept {
  if (backlog() == 0) return {};
  rte_spinlock_lock(&lock_);
  Result r = transmit_locked(port, queue);
  rte_spinlock_unlock(&lock_);
  return r;
}

uint32_t Scheduler::discard() noexcept {
  rte_spinlock_lock(&lock_);
  uint32_t n = n_held_;
  if (n_held_) rte_pktmbuf_free_bulk(held_ + held_first_, n_held_);
  n_held_ = 0;
  rte_mbuf* pkts[kBurst];
  int got;
  // The shaper may hold packets back; dequeue until it gives nothing.
  while (backlog_.load(std::memory_order_relaxed) > n && (got = rte_sched_port_dequeue(port_, pkts, kBurst)) > 0) {
    rte_pktmbuf_free_bulk(pkts, static_cast<unsigned>(got));
    n += static_cast<uint32_t>(got);
  }
  backlog_.fetch_sub(n, std::memory_order_relaxed);
  rte_spinlock_unlock(&lock_);
  return n;
}

std::vector<Scheduler::ClassStats> Scheduler::stats() {
  rte_spinlock_lock(&lock_);
  for (size_t c = 0; c < totals_.size(); ++c) {
    // Queue id within the port: pipe 0 of subport 0 -> the queue index in the pipe.
    const uint32_t qid = tc_[c] < RTE_SCHED_TRAFFIC_CLASS_BE ? tc_[c] : RTE_SCHED_TRAFFIC_CLASS_BE + q_[c];
    rte_sched_queue_stats st{};
    uint16_t qlen = 0;
    if (rte_sched_queue_read_stats(port_, qid, &st, &qlen) == 0) {
      totals_[c].packets += st.n_pkts;
      totals_[c].bytes += st.n_bytes;
      totals_[c].dropped += st.n_pkts_dropped;
      totals_[c].queued = qlen;
    }
  }
  auto out = totals_;
  rte_spinlock_unlock(&lock_);
  return out;
}

}  // namespace ivs::qos
