#include "mirror/tap_stage.hpp"

#include <rte_ring_elem.h>

#include <utility>

#include "flow/flow_table.hpp"
#include "mirror/mirror_set.hpp"
#include "mirror/module.hpp"
#include "mirror/tools_full.hpp"
#include "packet/parse.hpp"
#include "pipeline/forwarder.hpp"

namespace ivs::mirror {

static_assert(kTx == pipeline::kMirrorCopiedTx, "the trace formatter reads a tx tap's copies by this value");

TapStage::~TapStage() {
  if (owner_) owner_->forget(this);
}

void TapStage::begin_burst(const pipeline::Forwarder& f) noexcept {
  // (simulation: the mirrors are judged and counted as the datapath does; nothing is copied)
  set_ = published_ && (rings_.tap || f.simulating()) ? published_->load(std::memory_order_acquire) : nullptr;
}

void TapStage::run_lookup(pipeline::Forwarder& f, const pipeline::Burst& b) noexcept {
  const MirrorSet* set = set_;
  if (!set || set->flow_taps().empty()) [[likely]] return;
  for (uint16_t t = 0; t < b.n_policy; ++t) {
    const uint16_t j = b.policy[t];
    // (an ICMP error following the flow it quotes is not the flow's packet; the flow
    // matches are IPv4's)
    if (b.related[j] || b.pp[j].ethertype != packet::kEtherTypeIpv4) continue;
    flow_tap(f, b.pkts[j], b.pp[j], b.flow[j].entry, b.keys[j].direction);
  }
}

void TapStage::run(pipeline::Forwarder& f, pipeline::Burst& b) noexcept {
  const MirrorSet* set = set_;
  if (!set || b.n == 0) [[likely]] return;
  const uint16_t port = b.pkts[0].in_port;  // (a received burst comes from one port)
  const auto& taps = set->taps(port, kRx);
  if (taps.empty()) return;
  for (uint16_t j = 0; j < b.n; ++j)  // packet by packet, each mirror in order: the copies' order
    for (uint8_t idx : taps) copy(f, *set, idx, port, b.pkts[j].m, kRx);
}

void TapStage::run_egress(pipeline::Forwarder& f, const pipeline::TxView& out) noexcept {
  const MirrorSet* set = set_;
  if (!set) [[likely]] return;
  const auto& taps = set->taps(out.port, kTx);
  if (taps.empty()) return;
  const size_t n_ports = set->port_slots();
  for (uint16_t i = 0; i < out.n; ++i) {
    const uint16_t origin = out.meta[i].origin;
    const uint64_t judged = origin < n_ports ? set->dedup_rx_mask(origin) : 0;  // at its ingress tap
    for (uint8_t idx : taps) {
      if (judged >> idx & 1) {
        counters_[set->mirror(idx).slot].duplicate.inc();
        continue;
      }
      copy(f, *set, idx, out.port, out.pkts[i], kTx);
    }
  }
}

unsigned TapStage::poll(pipeline::Forwarder& f) noexcept {
  rte_ring* ring = rings_.tool;
  if (!ring) return 0;
  // Copies the broker sends out of tool ports this thread owns: straight to their tx batch
  // (not tapped again, no VLAN push: they leave as they were seen).
  constexpr unsigned kBurst = 32;  // as the thread's rx polls
  ToolPacket tps[kBurst];
  const unsigned n = rte_ring_sc_dequeue_burst_elem(ring, tps, sizeof(ToolPacket), kBurst, nullptr);
  for (unsigned i = 0; i < n; ++i) f.send_unstaged(tps[i].port, tps[i].m);
  return n;
}

void TapStage::flow_tap(pipeline::Forwarder& f, const pipeline::Pkt& p, const packet::ParsedPacket& pp, const flow::FlowEntry* fe,
                        uint8_t direction) noexcept {
  const MirrorSet* s = set_;
  if (!s) return;
  const MirrorSet& set = *s;
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
  for (const auto& ft : set.flow_taps()) {
    // A reply may enter by another network than the first packet did, and the entry
    // does not keep that one: replies are not held to a `network` constraint.
    if (reply) t.network = ft.match.network;
    if (ft.match.matches(t)) copy(f, set, ft.mirror, p.in_port, p.m, kRx);
  }
}

void TapStage::copy(pipeline::Forwarder& f, const MirrorSet& set, uint8_t idx, uint16_t port, rte_mbuf* m, TapDirection dir) noexcept {
  const CompiledMirror& cm = set.mirror(idx);
  MirrorCounters& c = counters_[cm.slot];
  c.eligible.inc();
  if (cm.filter && !selects(set, idx, cm, m, c)) {
    c.filtered_out.inc();
    return;
  }
  if (cm.sample > 1 && sample_count_[cm.slot]++ % cm.sample != 0) {
    c.sampled_out.inc();
    return;
  }
  // No copy that would be thrown away: not while the broker says every tool of this
  // mirror is backed up (one relaxed load; the sampling above ran as always, so 1-in-N
  // keeps its meaning; before the trace record, so a live trace does not show a copy
  // that was not made).
  if (rings_.full && rings_.full->full(cm.slot, cm.generation)) {
    c.tools_full.inc();
    return;
  }
  // Nor while the ring to the broker has no room (before the trace record too).
  if (!f.simulating() && tap_room_ == 0 && (tap_room_ = rte_ring_free_count(rings_.tap)) == 0) {
    c.queue_full.inc();
    return;
  }
  if (auto* rec = f.recording()) [[unlikely]]
    rec->record(m, pipeline::TraceEvent::kMirrorCopied, port, -1, static_cast<uint32_t>(cm.slot), static_cast<uint32_t>(dir));
  if (f.simulating()) [[unlikely]] {  // what the datapath would hand the broker; a simulation copies nothing
    c.copied.inc();
    return;
  }
  rte_mbuf* copy = rte_pktmbuf_copy(m, rings_.pool, 0, cm.snaplen ? cm.snaplen : UINT32_MAX);
  if (!copy) {
    c.no_buffer.inc();
    return;
  }
  TapRecord rec{copy, m->pkt_len, port, cm.slot, static_cast<uint8_t>(dir), cm.generation, f.now_tsc()};
  if (rte_ring_sp_enqueue_elem(rings_.tap, &rec, sizeof(rec)) != 0) [[unlikely]] {  // (tap_room_ says it fits)
    rte_pktmbuf_free(copy);
    tap_room_ = 0;
    c.queue_full.inc();
    return;
  }
  --tap_room_;
  c.copied.inc();
}

bool TapStage::selects(const MirrorSet& set, uint8_t idx, const CompiledMirror& cm, rte_mbuf* m, MirrorCounters& c) noexcept {
  VerdictKey k;
  if (cm.per_flow && verdict_key(m, k) && (cm.per_flow >> k.layout & 1)) {
    VerdictCache::Entry& e = verdicts_.at(k, set.id());
    const uint32_t bit = 1u << idx;
    if (e.judged & bit) {
      c.verdict_cached.inc();
      return (e.selected & bit) != 0;
    }
    const bool v = cm.filter->match(m);
    c.filter_runs.inc();
    e.judged |= bit;
    if (v) e.selected |= bit;
    return v;
  }
  c.filter_runs.inc();
  return cm.filter->match(m);
}

}  // namespace ivs::mirror
