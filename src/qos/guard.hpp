#pragma once
// The QoS guard's per-packet work on the way in (docs/qos.md), the QoS module's stage at
// AttachPoint::kFlow (pipeline/module.hpp): a packet from its sender on a flow whose
// packets leave the switch is checked against the DSCP its flow was assigned (decided
// once per flow by the policy thread, kept in the flow entry's module slot,
// qos/flow_state.hpp; or carried by a packet whose flow the full table refused),
// rewritten under enforce, sampled when it mismatches, and metered. Not packets coming
// back from a chain's device (their sender is the device). The way out (class by DSCP,
// the schedulers) is the module's stage at the egress point (qos/egress_stage.hpp).
//
// Thread: one stage per Forwarder, run by its thread only; its counters are read by the
// control thread (single writer, common/counter.hpp).
#include <rte_meter.h>

#include <memory>
#include <vector>

#include "pipeline/module.hpp"
#include "qos/decision.hpp"
#include "qos/qos_counters.hpp"
#include "qos/qos_tables.hpp"

namespace ivs::flow {
struct FlowEntry;
}
namespace ivs::packet {
struct ParsedPacket;
}
namespace ivs::pipeline {
struct Pkt;
}

namespace ivs::qos {

class GuardStage final : public pipeline::Stage {
 public:
  // `tables`: the module's (classes, meters); `counters`: this stage's, which the module
  // sums for `ivctl show qos` and /metrics; `ports`: the number of ports (one meter
  // instance per ingress port and meter: only the thread polling a port touches it).
  GuardStage(std::shared_ptr<const QosTables> tables, std::shared_ptr<QosCounters> counters, size_t ports);
  void run(pipeline::Forwarder& f, pipeline::Burst& b) noexcept override;
  const QosCounters& counters() const noexcept { return *counters_; }

 private:
  // A mismatch, a meter or a trace (the DSCP was counted already); false when a meter
  // dropped the packet.
  bool act(pipeline::Forwarder& f, const pipeline::Pkt& p, packet::ParsedPacket& pp, const Decision& d, flow::FlowEntry* fe,
           uint8_t direction) noexcept;

  std::shared_ptr<const QosTables> tables_;
  std::shared_ptr<QosCounters> counters_;
  std::vector<rte_meter_trtcm> meters_;  // [in_port * meters + meter]
};

}  // namespace ivs::qos
