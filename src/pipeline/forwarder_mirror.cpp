// vTAP: at a tap point (a port's received or transmitted packets, or where the packets of
// a flow selected by a policy match enter the switch) each mirror tapping it
// counts the packet as eligible, runs its filter (pcap-filter compiled to BPF, JIT), its
// 1-in-N sampling, copies the first snaplen bytes into the mirror pool and hands the copy
// to the broker on this thread's ring. A copy, not a reference: the packet is changed
// later (VLAN, MACs, TTL, DSCP) and the copy must show it as it was at the tap. Nothing
// here waits: no buffer or a full ring drops the copy, counted per mirror.
// Dedup: a packet switched between two ports one mirror taps is judged once, at its
// ingress tap; the egress tap counts it as a duplicate. The ingress port is the origin
// that travels with the packet to the egress point (TxMeta, set by emit()'s caller);
// packets the switch makes itself carry kOriginSwitch, copies and fragments the
// original's.
#include <rte_ring_elem.h>

#include "pipeline/forwarder.hpp"

namespace ivs::pipeline {

void Forwarder::tap_copies(uint16_t port, rte_mbuf* m, mirror::TapDirection dir) noexcept {
  for (uint8_t idx : mirrors_->taps(port, dir)) copy_for_mirror(idx, port, m, dir);
}

void Forwarder::tap_egress(const TxView& out) noexcept {
  const auto& taps = mirrors_->taps(out.port, mirror::kTx);
  const size_t n_ports = ctx_.ports->size();
  for (uint16_t i = 0; i < out.n; ++i) {
    const uint16_t origin = out.meta[i].origin;
    const uint64_t judged = origin < n_ports ? mirrors_->dedup_rx_mask(origin) : 0;  // at its ingress tap
    for (uint8_t idx : taps) {
      if (judged >> idx & 1) {
        mirror_counters_[mirrors_->mirror(idx).slot].duplicate.inc();
        continue;
      }
      copy_for_mirror(idx, out.port, out.pkts[i], mirror::kTx);
    }
  }
}

void Forwarder::flow_tap_copies(const Pkt& p, const packet::ParsedPacket& pp, const flow::FlowEntry* fe, uint8_t direction) noexcept {
  if (fe && flow::on_chain(static_cast<flow::FlowState>(fe->state.load(std::memory_order_relaxed))) &&
      p.in_port == fe->chain.device_port[1 - direction])
    return;  // back from the chain's device: copied when it came from the VM
  // The tuple in the direction of the flow's first packet, as the policy matched it.
  policy::FlowTuple t;
  t.proto = pp.ip_proto;
  t.src_ip = pp.src_ip;
  t.dst_ip = pp.dst_ip;
  t.src_port = pp.src_port;
  t.dst_port = pp.dst_port;
  t.network = p.net;
  const bool reply = fe && direction != fe->initiator;
  if (reply) {
    std::swap(t.src_ip, t.dst_ip);
    std::swap(t.src_port, t.dst_port);
  }
  for (const auto& ft : mirrors_->flow_taps()) {
    // A reply may enter by another network than the first packet did, and the entry
    // does not keep that one: replies are not held to a `network` constraint.
    if (reply) t.network = ft.match.network;
    if (ft.match.matches(t)) copy_for_mirror(ft.mirror, p.in_port, p.m, mirror::kRx);
  }
}

void Forwarder::copy_for_mirror(uint8_t idx, uint16_t port, rte_mbuf* m, mirror::TapDirection dir) noexcept {
  const mirror::CompiledMirror& cm = mirrors_->mirror(idx);
  MirrorCounters& c = mirror_counters_[cm.slot];
  c.eligible.inc();
  if (cm.filter && !cm.filter->match(m)) {
    c.filtered_out.inc();
    return;
  }
  if (cm.sample > 1 && sample_count_[cm.slot]++ % cm.sample != 0) {
    c.sampled_out.inc();
    return;
  }
  if (rec_) [[unlikely]] note(m, TraceEvent::kMirrorCopied, port, -1, static_cast<uint32_t>(cm.slot), static_cast<uint32_t>(dir));
  if (sim_) [[unlikely]] {  // what the datapath would hand the broker; a simulation copies nothing
    c.copied.inc();
    return;
  }
  rte_mbuf* copy = rte_pktmbuf_copy(m, ctx_.mirror_pool, 0, cm.snaplen ? cm.snaplen : UINT32_MAX);
  if (!copy) {
    c.no_buffer.inc();
    return;
  }
  mirror::TapRecord rec{copy, m->pkt_len, port, cm.slot, static_cast<uint8_t>(dir), cm.generation, now_tsc_};
  if (rte_ring_sp_enqueue_elem(tap_ring_, &rec, sizeof(rec)) != 0) {
    rte_pktmbuf_free(copy);
    c.queue_full.inc();
    return;
  }
  c.copied.inc();
}

void Forwarder::send_tool_packets(const mirror::ToolPacket* tps, unsigned n) noexcept {
  for (unsigned i = 0; i < n; ++i)
    if (batches_[tps[i].port].push_unstaged(tps[i].m))
      batches_[tps[i].port].flush((*ctx_.ports)[tps[i].port], txq_ % (*ctx_.ports)[tps[i].port].tx_queues, pc_[tps[i].port]);
}

}  // namespace ivs::pipeline
