#pragma once
// Egress scheduling of one port by traffic class (DPDK rte_sched): one subport, one pipe,
// strict priority between traffic classes 0..11, weighted round robin between the four
// queues of the best-effort class, tail drop on bounded queues, optional shaping to a
// rate. The port's egress queue (pipeline/egress_queue.hpp), given to the core by the QoS
// module: packets are tagged with their class at the egress point (classify, from the
// module's stage there: qos/egress_stage.hpp), queued when the batch is flushed (send)
// and dequeued as the shaper and the driver allow (send, drain).
// Packets the driver refuses stay here (held) and go first next time: backpressure
// fills the class queues, where drops are counted per class, instead of losing packets
// on the device ring.
//
// Threads: rte_sched is single-threaded; every datapath thread that outputs to the port
// calls send() under the scheduler's lock (one lock per burst, never per packet); the
// thread that polls the port also calls drain() every iteration. stats() from the
// control thread takes the same lock.
#include <rte_mbuf.h>
#include <rte_sched.h>
#include <rte_spinlock.h>

#include <atomic>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "dpdk/port_io.hpp"
#include "pipeline/egress_queue.hpp"
#include "qos/qos_tables.hpp"

namespace ivs::qos {

class Scheduler final : public pipeline::EgressQueue {
 public:
  static std::expected<std::unique_ptr<Scheduler>, std::string> create(const std::string& port_name, const config::QosEgress& cfg,
                                                                       const QosTables& tables, int socket);
  ~Scheduler() override;

  // Any thread, no lock: writes the packet's queue (its class's, or the default class's).
  void classify(rte_mbuf* m, uint8_t cls) const noexcept;

  using Result = pipeline::EgressQueue::Result;  // dropped: tail drops in the class queues (freed)
  // Queue `n` packets, then send what may leave now on (port, queue).
  Result send(const dpdk::PortIo& port, uint16_t queue, rte_mbuf** pkts, uint16_t n) noexcept override;
  // Send what may leave now; cheap when nothing is queued.
  Result drain(const dpdk::PortIo& port, uint16_t queue) noexcept override;
  // Drop everything queued (the port lost its peer); returns the count.
  uint32_t discard() noexcept override;
  uint32_t backlog() const noexcept override { return backlog_.load(std::memory_order_relaxed); }
  uint64_t rate_bps() const { return rate_bps_; }

  struct ClassStats {
    uint64_t packets = 0, bytes = 0, dropped = 0;
    uint16_t queued = 0;
  };
  // Per class of the tables (same order). Control thread.
  std::vector<ClassStats> stats();

 private:
  Scheduler() = default;
  Result transmit_locked(const dpdk::PortIo& port, uint16_t queue) noexcept;

  rte_sched_port* port_ = nullptr;
  std::vector<uint8_t> tc_, q_;          // per class: traffic class and queue
  uint8_t default_class_ = 0;
  uint64_t next_dequeue_tsc_ = 0, backoff_tsc_ = 0;  // see transmit_locked()
  uint64_t rate_bps_ = 0;
  rte_spinlock_t lock_ = RTE_SPINLOCK_INITIALIZER;
  std::atomic<uint32_t> backlog_{0};     // queued in rte_sched + held
  static constexpr uint16_t kBurst = 32;
  // Dequeued at a time: what the device refuses of it is held in order, ahead of any
  // higher class queued later, so this bounds that priority inversion to 8 packets.
  static constexpr uint16_t kDequeue = 8;
  rte_mbuf* held_[kBurst];
  uint16_t n_held_ = 0, held_first_ = 0;
  std::vector<ClassStats> totals_;       // rte_sched's queue stats reset on read: summed here
  std::string name_;
};

}  // namespace ivs::qos
