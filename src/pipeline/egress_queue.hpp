#pragma once
// A port's output queue that a job owns (the QoS module's scheduler by class, for the
// ports of qos.egress; qos/scheduler.hpp): instead of a tx burst, the port's batch is
// handed to it, and it sends what may leave now; the thread that polls the port drains it
// every loop iteration and does not nap while it holds packets. A module gives one per
// port (Module::egress_queue), the Datapath puts it in the port's PortRuntime. Each call
// takes a burst or a port, never one packet (one virtual call per burst).
//
// Threads: send() from any datapath thread that outputs to the port (the queue locks
// itself, once per call); drain() and discard() from the thread that polls the port;
// backlog() from any thread.
#include <cstdint>

struct rte_mbuf;

namespace ivs::dpdk {
struct PortIo;
}

namespace ivs::pipeline {

class EgressQueue {
 public:
  struct Result {
    uint16_t sent = 0;
    uint64_t sent_bytes = 0;
    uint16_t dropped = 0;  // refused by the queue (full; freed): counted as qos.queue.full
  };
  virtual ~EgressQueue() = default;
  // Queue `n` packets (it owns them now), then send what may leave now on (port, queue).
  virtual Result send(const dpdk::PortIo& port, uint16_t queue, rte_mbuf** pkts, uint16_t n) noexcept = 0;
  // Send what may leave now; cheap when nothing is queued.
  virtual Result drain(const dpdk::PortIo& port, uint16_t queue) noexcept = 0;
  // Free everything queued (the port lost its peer, or the datapath stops); returns the count.
  virtual uint32_t discard() noexcept = 0;
  // Packets queued (0: the polling thread may nap).
  virtual uint32_t backlog() const noexcept = 0;
};

}  // namespace ivs::pipeline
