// The class by DSCP on the way out (qos/egress_stage.hpp).
#include "qos/egress_stage.hpp"

#include <rte_mbuf.h>

#include "pipeline/forwarder.hpp"
#include "qos/scheduler.hpp"

namespace ivs::qos {

using config::kNoDscp;
using pipeline::TraceEvent;

EgressClassStage::EgressClassStage(std::shared_ptr<const QosTables> tables, std::vector<Scheduler*> scheds,
                                   std::shared_ptr<std::vector<Counter>> packets)
    : tables_(std::move(tables)), scheds_(std::move(scheds)), packets_(std::move(packets)) {}

void EgressClassStage::run_egress(pipeline::Forwarder& f, const pipeline::TxView& out) noexcept {
  Scheduler* sched = out.port < scheds_.size() ? scheds_[out.port] : nullptr;
  std::vector<Counter>& packets = *packets_;
  pipeline::TraceBuffer* rec = f.recording();
  for (uint16_t i = 0; i < out.n; ++i) {
    rte_mbuf* m = out.pkts[i];
    // The frame is untagged here unless emit() pushed a tag: look past it.
    const uint8_t* eth = rte_pktmbuf_mtod(m, const uint8_t*);
    uint32_t len = m->data_len;
    if (len >= 18 && eth[12] == 0x81 && eth[13] == 0x00) {
      eth += 4;
      len -= 4;
    }
    const uint8_t dscp = frame_dscp(eth, len);
    const uint8_t cls = tables_->class_of(dscp == kNoDscp ? 0 : dscp);
    if (cls == kNoClass) continue;
    packets[cls].inc();
    if (sched) sched->classify(m, cls);
    // After every output of the packet in this burst: the formatter shows it after the
    // output to this port it belongs to (trace_format.cpp).
    if (rec) [[unlikely]]
      rec->record(m, TraceEvent::kQosClass, out.port, -1, cls, sched ? 1u : 0u);
  }
}

}  // namespace ivs::qos
