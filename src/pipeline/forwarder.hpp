#pragma once
// The per-packet work of a datapath thread, one rx burst at a time, in stages over the
// burst so that the MAC table is read with bulk lookups (DPDK prefetches across keys):
//
//   parse -> ingress (network of the frame, VLAN pop) -> learn source MAC (bulk)
//         -> to the switch itself (ARP for a gateway IP, ICMP echo to a gateway IP)
//         -> routed (dst MAC = gateway MAC: TTL, checksum, MACs rewritten, next network)
//         -> switched (FDB hit (bulk): one port; broadcast/multicast/miss: flood in the network)
//         -> egress (VLAN push on tagged ports) -> per-port TxBatch
//
// Every packet ends in exactly one TxBatch (flood copies: one each) or is dropped with a
// DropReason counted on its port. No allocation (flood copies come from the mbuf pool),
// no lock, no log. Inputs are never trusted: every header is length-checked by parse().
//
// Thread: one Forwarder per datapath thread; not shared.
#include <rte_mbuf.h>

#include <vector>

#include "packet/parse.hpp"
#include "pipeline/context.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/tx_batch.hpp"

namespace ivs::pipeline {

class Forwarder {
 public:
  static constexpr uint16_t kMaxBurst = 64;  // one bulk hash lookup (RTE_HASH_LOOKUP_BULK_MAX)

  Forwarder(const DatapathContext& ctx, uint16_t tx_queue, PmdCounters& pmd, std::vector<PortCounters>& ports);

  // Process a burst received on `in_port` (port index, not DPDK id). `now_s` is a coarse
  // clock in seconds for aging stamps; `now_tsc` rate-limits generated ARP requests.
  void process(uint16_t in_port, rte_mbuf** pkts, uint16_t n, uint32_t now_s, uint64_t now_tsc) noexcept;
  // Send every non-empty TxBatch.
  void flush() noexcept;
  // Tests: inspect what process() queued for a port, then release it without sending.
  TxBatch& batch(uint16_t port) { return batches_[port]; }

 private:
  void drop(uint16_t port, rte_mbuf* m, DropReason r) noexcept;
  void emit(uint16_t port, int16_t net, rte_mbuf* m) noexcept;
  void flood(int16_t net, uint16_t except_port, uint16_t in_port, rte_mbuf* m) noexcept;
  void queue_mac_learn(uint16_t in_port, const forward::FdbKey& key, const forward::FdbKey*& last_queued) noexcept;
  void glean_arp(uint16_t in_port, int16_t net, const packet::ParsedPacket& pp, const uint8_t* eth) noexcept;
  void to_gateway(uint16_t in_port, int16_t net, rte_mbuf* m, const packet::ParsedPacket& pp) noexcept;
  void route(uint16_t in_port, rte_mbuf* m, const packet::ParsedPacket& pp) noexcept;
  void arp_reply(int16_t net, uint8_t* eth, const packet::ParsedPacket& pp) noexcept;
  bool echo_reply(int16_t net, rte_mbuf* m, const packet::ParsedPacket& pp) noexcept;
  void send_arp_request(uint16_t in_port, int16_t net, uint32_t target_ip, rte_mbuf* m, uint64_t now_tsc) noexcept;
  void queue_learn(const forward::LearnEvent& ev) noexcept;

  const DatapathContext& ctx_;
  const forward::ForwardingTables& tables_;
  uint16_t txq_;
  PmdCounters& pmd_;
  std::vector<PortCounters>& pc_;
  std::vector<TxBatch> batches_;
  uint32_t now_s_ = 0;
  uint64_t now_tsc_ = 0;
  uint64_t next_arp_tsc_ = 0;  // earliest time of the next generated ARP request
};

}  // namespace ivs::pipeline
