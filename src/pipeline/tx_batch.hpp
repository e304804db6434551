#pragma once
// Per-thread, per-output-port batch of packets, sent with one tx burst at the end of each
// rx burst (or earlier when full): rte_eth_tx_burst, or rte_vhost_enqueue_burst for a
// vhost-user port (dpdk/port_io.hpp). Packets the port refuses are counted as
// tx.queue_full on the output port and freed in bulk; nothing is retried (no head-of-line
// blocking). Counters are updated once per burst.
// Each packet's TxMeta (pipeline/burst.hpp) is kept beside it. The egress stages see each
// packet once, before tx: `seen()` counts the packets they have already seen (the
// Forwarder runs them over the rest at the end of each burst, and before a full batch is
// sent).
#include <rte_mbuf.h>

#include "pipeline/burst.hpp"
#include "pipeline/context.hpp"
#include "pipeline/counters.hpp"

namespace ivs::pipeline {

class TxBatch {
 public:
  static constexpr uint16_t kCapacity = 64;

  bool empty() const noexcept { return n_ == 0; }
  uint16_t size() const noexcept { return n_; }
  rte_mbuf* const* packets() const noexcept { return pkts_; }
  const TxMeta* meta() const noexcept { return meta_; }
  bool push(rte_mbuf* m, TxMeta meta) noexcept {
    meta_[n_] = meta;
    pkts_[n_++] = m;
    return n_ == kCapacity;  // caller flushes when full
  }
  // A packet the egress stages must not see (the mirror broker's copies for tool ports:
  // they leave as they were seen). Only when they have seen every queued packet.
  bool push_unstaged(rte_mbuf* m) noexcept {
    const bool full = push(m, TxMeta{kOriginSwitch, -1});
    seen_ = n_;
    return full;
  }
  uint16_t seen() const noexcept { return seen_; }
  void mark_seen() noexcept { seen_ = n_; }
  // Hand the packets to the driver on `queue`. Clears the batch.
  void flush(PortRuntime& port, uint16_t queue, PortCounters& c) noexcept {
    if (n_ == 0) return;
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < n_; ++i) bytes += pkts_[i]->pkt_len;
    uint16_t sent = 0;
    if (!port.link_up.load(std::memory_order_relaxed)) {
      c.drops[static_cast<size_t>(DropReason::kTxLinkDown)].add(n_);
    } else if (port.egress_queue) {  // a job's queue (QoS: by class) sends what may leave now
      const auto r = port.egress_queue->send(port.io, queue, pkts_, n_);
      c.drops[static_cast<size_t>(DropReason::kQosQueueFull)].add(r.dropped);
      c.tx_packets.add(r.sent);
      c.tx_bytes.add(r.sent_bytes);
      n_ = seen_ = 0;
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
    n_ = seen_ = 0;
  }

 private:
  rte_mbuf* pkts_[kCapacity];
  TxMeta meta_[kCapacity];
  uint16_t n_ = 0, seen_ = 0;
};

}  // namespace ivs::pipeline
