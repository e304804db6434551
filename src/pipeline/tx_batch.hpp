#pragma once
// Per-thread, per-output-port batch of packets, sent with one tx burst at the end of each
// rx burst (or earlier when full): rte_eth_tx_burst, or rte_vhost_enqueue_burst for a
// vhost-user port (dpdk/port_io.hpp). Packets the port refuses are counted as
// tx.queue_full on the output port and freed in bulk; nothing is retried (no head-of-line
// blocking). Counters are updated once per burst.
#include <rte_mbuf.h>

#include "pipeline/context.hpp"
#include "pipeline/counters.hpp"

namespace ivs::pipeline {

class TxBatch {
 public:
  static constexpr uint16_t kCapacity = 64;

  bool empty() const noexcept { return n_ == 0; }
  uint16_t size() const noexcept { return n_; }
  rte_mbuf* const* packets() const noexcept { return pkts_; }
  bool push(rte_mbuf* m) noexcept {
    pkts_[n_++] = m;
    return n_ == kCapacity;  // caller flushes when full
  }
  // Hand the packets to the driver on `queue`. Clears the batch.
  void flush(PortRuntime& port, uint16_t queue, PortCounters& c) noexcept {
    if (n_ == 0) return;
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < n_; ++i) bytes += pkts_[i]->pkt_len;
    uint16_t sent = 0;
    if (!port.link_up.load(std::memory_order_relaxed)) {
      c.drops[static_cast<size_t>(DropReason::kTxLinkDown)].add(n_);
    } else if (port.sched) {  // queued by class; the scheduler sends what may leave now
      const auto r = port.sched->send(port.io, queue, pkts_, n_);
      c.drops[static_cast<size_t>(DropReason::kQosQueueFull)].add(r.dropped);
      c.tx_packets.add(r.sent);
      c.tx_bytes.add(r.sent_bytes);
      n_ = 0;
      return;
    } else {
      if (port.tx_shared) rte_spinlock_lock(&port.tx_lock);
      sent = port.io.tx_burst(queue, pkts_, n_);
      if (port.tx_shared) rte_spinlock_unlock(&port.tx_lock);
      if (sent < n_) c.drops[static_cast<size_t>(DropReason::kTxFull)].add(n_ - sent);
    }
    for (uint16_t i = sent; i < n_; ++i) bytes -= pkts_[i]->pkt_len;
    if (sent < n_) rte_pktmbuf_free_bulk(pkts_ + sent, n_ - sent);
    c.tx_packets.add(sent);
    c.tx_bytes.add(bytes);
    n_ = 0;
  }

 private:
  rte_mbuf* pkts_[kCapacity];
  uint16_t n_ = 0;
};

}  // namespace ivs::pipeline
