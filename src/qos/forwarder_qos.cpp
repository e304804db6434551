// QoS on the way out (docs/qos.md), still a Forwarder member until the egress move: a
// packet's DSCP picks its class, and a scheduled port queues it by class. (The way in, the
// guard, is the QoS module's stage after the flow lookup: qos/guard.hpp.)
#include "pipeline/forwarder.hpp"
#include "qos/qos_tables.hpp"
#include "qos/scheduler.hpp"

namespace ivs::pipeline {

using config::kNoDscp;

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
  class_packets_[cls].inc();
  if (qos::Scheduler* s = (*ctx_.ports)[port].sched) s->classify(m, cls);
  if (rec_) [[unlikely]] note(m, TraceEvent::kQosClass, port, -1, cls, (*ctx_.ports)[port].sched ? 1u : 0u);
}

}  // namespace ivs::pipeline
