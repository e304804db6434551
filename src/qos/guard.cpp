// The QoS guard at the point after the flow lookup (qos/guard.hpp). Moved from the
// Forwarder (qos_ingress/qos_act, in the qos/forwarder_qos.cpp the egress move removed) with the same checks, counts,
// trace records and drop reason, in the same order per packet.
#include "qos/guard.hpp"

#include <atomic>

#include "common/dscp.hpp"
#include "flow/flow_table.hpp"
#include "packet/headers.hpp"
#include "pipeline/burst.hpp"
#include "pipeline/forwarder.hpp"
#include "qos/flow_state.hpp"

namespace ivs::qos {

static_assert(config::MeterAction::kRemark == pipeline::kMeterActionRemark && config::MeterAction::kDrop == pipeline::kMeterActionDrop,
              "trace's kQosMeter records the meter's action as the formatter reads it (pipeline/trace_record.hpp)");

using config::kNoDscp;
using config::QosMode;
using pipeline::TraceEvent;

GuardStage::GuardStage(std::shared_ptr<const QosTables> tables, std::shared_ptr<QosCounters> counters, size_t ports)
    : tables_(std::move(tables)), counters_(std::move(counters)) {
  const auto& meters = tables_->meters();
  meters_.resize(ports * meters.size());
  for (size_t i = 0; i < meters_.size(); ++i)
    rte_meter_trtcm_config(&meters_[i], const_cast<rte_meter_trtcm_profile*>(&meters[i % meters.size()].profile));
}

void GuardStage::run(pipeline::Forwarder& f, pipeline::Burst& b) noexcept {
  if (f.simulating()) [[unlikely]] {  // ivctl trace: these counts are the trace's (qos_counters.hpp)
    counters_->traced.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
  }
  const bool no_class_meters = !tables_->has_class_meters();
  for (uint16_t t = 0; t < b.n_flowed; ++t) {
    const uint16_t j = b.flowed[t];
    const pipeline::FlowMeta& fm = b.flow[j];
    // Packets from their sender on a flow whose packets leave the switch (allowed, or on a
    // chain): not those coming back from the chain's device. A flow the full table refused
    // has no entry, but its decision still says what DSCP its sender must use: guarded as
    // any other.
    const auto st = static_cast<flow::FlowState>(fm.state);
    if ((!fm.entry && fm.slot_word == pipeline::kNoSlotWord) || fm.from_device ||
        !(st == flow::FlowState::kAllowed || flow::on_chain(st)))
      continue;
    const uint8_t dir = b.keys[j].direction;
    const Decision d =
        Decision::unpack(fm.entry ? fm.entry->slot.word[dir].load(std::memory_order_relaxed) : fm.slot_word);
    packet::ParsedPacket& pp = b.pp[j];
    const uint8_t seen = pp.dscp & 63;
    counters_->vm(d.vm).seen[seen].inc();
    // The common case: DSCP counted, nothing to change or meter.
    if ((d.dscp == seen || d.dscp == kNoDscp) && d.meter < 0 && no_class_meters && !f.recording()) [[likely]]
      continue;
    if (!act(f, b.pkts[j], pp, d, fm.entry, dir)) b.pkts[j].m = nullptr;
  }
}

bool GuardStage::act(pipeline::Forwarder& f, const pipeline::Pkt& p, packet::ParsedPacket& pp, const Decision& d,
                     flow::FlowEntry* fe, uint8_t direction) noexcept {
  const QosTables& qt = *tables_;
  const uint8_t seen = pp.dscp & 63;
  VmQosCounters& vc = counters_->vm(d.vm);
  pipeline::TraceBuffer* rec = f.recording();
  uint8_t out = seen;
  if (d.dscp != kNoDscp && seen != d.dscp) {  // trust carries no assigned DSCP
    vc.mismatched.inc();
    if (fe && !f.simulating())  // a sample for `ivctl show qos`: which flows mismatch, with what, since when
      note_flow_mismatch(*fe, direction, seen, f.now_s());
    if (d.mode == QosMode::kEnforce) out = d.dscp;
  }
  if (rec) [[unlikely]]
    rec->record(p.m, TraceEvent::kQosCheck, p.in_port, p.net, uint32_t{seen} | uint32_t{d.dscp} << 8 | uint32_t{out} << 16,
                static_cast<uint32_t>(d.assignment), static_cast<uint64_t>(d.mode));
  // The assignment's meter, else the class's; one instance per ingress port, so only the
  // thread polling that port touches it.
  int16_t meter = d.meter;
  if (meter < 0 && qt.has_classes()) {
    const uint8_t cls = qt.class_of(out);
    if (cls != kNoClass) meter = qt.classes()[cls].meter;
  }
  if (meter >= 0) {
    const MeterInfo& mi = qt.meters()[static_cast<size_t>(meter)];
    rte_meter_trtcm& inst = meters_[p.in_port * qt.meters().size() + static_cast<size_t>(meter)];
    const rte_color colour =
        rte_meter_trtcm_color_blind_check(&inst, const_cast<rte_meter_trtcm_profile*>(&mi.profile), f.now_tsc(), p.m->pkt_len);
    MeterCounters& mc = counters_->meters[static_cast<size_t>(meter)];
    mc.colour[colour].inc();
    vc.colour[colour].inc();
    const config::MeterAction& a = mi.action[colour];
    if (rec) [[unlikely]]
      rec->record(p.m, TraceEvent::kQosMeter, p.in_port, p.net, static_cast<uint32_t>(meter), static_cast<uint32_t>(colour),
                  static_cast<uint64_t>(a.kind), a.dscp);
    if (a.kind == config::MeterAction::kDrop) {
      mc.dropped.inc();
      vc.meter_dropped.inc();
      f.drop(p.in_port, p.m, DropReason::kQosMeterDrop);
      return false;
    }
    if (a.kind == config::MeterAction::kRemark && out != a.dscp) {
      out = a.dscp;
      mc.remarked.inc();
    }
  }
  if (out != seen) {
    write_dscp(rte_pktmbuf_mtod_offset(p.m, uint8_t*, pp.l3_offset), pp.ethertype == packet::kEtherTypeIpv6, out);
    pp.dscp = out;
    vc.rewritten.inc();
  }
  return true;
}

}  // namespace ivs::qos
