// The QoS guard's per-packet work (docs/qos.md): on the way in, a packet from its sender
// is checked against the DSCP its flow was assigned (decided once per flow by the policy
// thread, read here from the flow entry), rewritten under enforce, and metered; on the
// way out, its DSCP picks its class, and a scheduled port queues it by class.
#include "common/dscp.hpp"
#include "packet/headers.hpp"
#include "pipeline/forwarder.hpp"
#include "pipeline/trace.hpp"

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
    if (fe && !trace_) {  // a sample for `ivctl show qos`: which flows mismatch, with what, since when
      fe->qos.mismatches[direction].inc();
      if (fe->qos.observed[direction].load(std::memory_order_relaxed) != seen)
        fe->qos.observed[direction].store(seen, std::memory_order_relaxed);
      if (fe->qos.last_mismatch_s[direction].load(std::memory_order_relaxed) != now_s_)
        fe->qos.last_mismatch_s[direction].store(now_s_, std::memory_order_relaxed);
    }
    if (d.mode == QosMode::kEnforce) out = d.dscp;
  }
  if (trace_) [[unlikely]]
    trace_->note("qos", "DSCP seen {}, assigned {}{}: {}", dscp_name(seen), d.dscp == kNoDscp ? "none" : dscp_name(d.dscp),
                 d.assignment >= 0 ? fmt::format(" by '{}' ({})", trace_->assignment_name(d.assignment), config::qos_mode_name(d.mode)) : "",
                 out != seen ? fmt::format("rewritten to {} (ECN kept, checksum updated)", dscp_name(out))
                             : d.dscp != kNoDscp && seen != d.dscp ? "mismatch counted, left as is (audit)" : "left as is");
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
    if (trace_) [[unlikely]]
      trace_->note("qos", "meter '{}': {} -> {}", mi.cfg.name, colour == RTE_COLOR_GREEN ? "green" : colour == RTE_COLOR_YELLOW ? "yellow" : "red",
                   a.kind == config::MeterAction::kDrop ? "drop" : a.kind == config::MeterAction::kRemark ? "remark to " + dscp_name(a.dscp) : "transmit");
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
  if (trace_) [[unlikely]]
    trace_->note("qos", "class {}{}", ctx_.qos->classes()[cls].name, (*ctx_.ports)[port].sched ? ": queued by class on the port's scheduler" : "");
}

}  // namespace ivs::pipeline
