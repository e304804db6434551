// The QoS guard's per-packet work (docs/qos.md): on the way in, a packet from its sender
// is checked against the DSCP its flow was assigned (decided once per flow by the policy
// thread, read here from the flow entry), rewritten under enforce, and metered; on the
// way out, its DSCP picks its class, and a scheduled port queues it by class.
// In the QoS folder (issue 17): the only code besides it that reads the flow entry's module
// slot is qos/flow_state.hpp; the Forwarder's members it defines move into the QoS module.
#include "common/dscp.hpp"
#include "packet/headers.hpp"
#include "pipeline/forwarder.hpp"
#include "qos/flow_state.hpp"

namespace ivs::pipeline {

using config::kNoDscp;
using config::QosMode;

// A mismatch, a meter or a trace (qos_ingress counted the DSCP already).
bool Forwarder::qos_act(const Pkt& p, packet::ParsedPacket& pp, const qos::Decision& d, flow::FlowEntry* fe,
                        uint8_t direction) noexcept {
  const qos::QosTables& qt = *ctx_.qos;
  const uint8_t seen = pp.dscp & 63;
  qos::VmQosCounters& vc = qos_counters_.vm(d.vm);
  uint8_t out = seen;
  if (d.dscp != kNoDscp && seen != d.dscp) {  // trust carries no assigned DSCP
    vc.mismatched.inc();
    if (fe && !sim_) {  // a sample for `ivctl show qos`: which flows mismatch, with what, since when
      qos::note_flow_mismatch(*fe, direction, seen, now_s_);
    }
    if (d.mode == QosMode::kEnforce) out = d.dscp;
  }
  if (rec_) [[unlikely]]
    note(p.m, TraceEvent::kQosCheck, p.in_port, p.net, uint32_t{seen} | uint32_t{d.dscp} << 8 | uint32_t{out} << 16,
         static_cast<uint32_t>(d.assignment), static_cast<uint64_t>(d.mode));
  // The assignment's meter, else the class's; one instance per ingress port, so only the
  // thread polling that port touches it.
  int16_t meter = d.meter;
  if (meter < 0 && qt.has_classes()) {
    const uint8_t cls = qt.class_of(out);
    if (cls != qos::kNoClass) meter = qt.classes()[cls].meter;
  }
  if (meter >= 0) {
    const qos::MeterInfo& mi = qt.meters()[static_cast<size_t>(meter)];
    rte_meter_trtcm& inst = meters_[p.in_port * qt.meters().size() + static_cast<size_t>(meter)];
    const rte_color colour = rte_meter_trtcm_color_blind_check(&inst, const_cast<rte_meter_trtcm_profile*>(&mi.profile), now_tsc_, p.m->pkt_len);
    qos::MeterCounters& mc = qos_counters_.meters[static_cast<size_t>(meter)];
    mc.colour[colour].inc();
    vc.colour[colour].inc();
    const config::MeterAction& a = mi.action[colour];
    if (rec_) [[unlikely]]
      note(p.m, TraceEvent::kQosMeter, p.in_port, p.net, static_cast<uint32_t>(meter), static_cast<uint32_t>(colour),
           static_cast<uint64_t>(a.kind), a.dscp);
    if (a.kind == config::MeterAction::kDrop) {
      mc.dropped.inc();
      vc.meter_dropped.inc();
      drop(p.in_port, p.m, DropReason::kQosMeterDrop);
      return false;
    }
    if (a.kind == config::MeterAction::kRemark && out != a.dscp) {
      out = a.dscp;
      mc.remarked.inc();
    }
  }
  if (out != seen) {
    qos::write_dscp(rte_pktmbuf_mtod_offset(p.m, uint8_t*, pp.l3_offset), pp.ethertype == packet::kEtherTypeIpv6, out);
    pp.dscp = out;
    vc.rewritten.inc();
  }
  return true;
}

void Forwarder::qos_egress(uint16_t port, rte_mbuf* m) noexcept {
  // The frame is untagged here unless emit() just pushed a tag: look past it.
  const uint8_t* eth = rte_pktmbuf_mtod(m, const uint8_t*);
  uint32_t len = m->data_len;
  if (len >= 18 && eth[12] == 0x81 && eth[13] == 0x00) {
    eth += 4;
    len -= 4;
  }
  const uint8_t dscp = qos::frame_dscp(eth, len);
  const uint8_t cls = ctx_.qos->class_of(dscp == kNoDscp ? 0 : dscp);
  if (cls == qos::kNoClass) return;
  qos_counters_.class_packets[cls].inc();
  if (qos::Scheduler* s = (*ctx_.ports)[port].sched) s->classify(m, cls);
  if (rec_) [[unlikely]] note(m, TraceEvent::kQosClass, port, -1, cls, (*ctx_.ports)[port].sched ? 1u : 0u);
}

}  // namespace ivs::pipeline
