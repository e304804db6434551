#pragma once
// QoS on the way out (docs/qos.md), the QoS module's stage at the egress point
// (AttachPoint::kEgress, pipeline/module.hpp): once per port per burst, each packet queued
// for output gets its class from its DSCP (qos.classes; not IP: DSCP 0), counted per
// class, and, on a scheduled port (qos.egress), its class's rte_sched queue written into
// the mbuf for the port's scheduler (qos/scheduler.hpp), which the core sends the batch to.
// Made only with classes (qos.classes): without a `qos` section or without classes there
// is no stage and the egress point pays nothing for QoS.
//
// Thread: one stage per Forwarder, run by its thread only; the counters are read by the
// control thread (single writer, common/counter.hpp).
#include <memory>
#include <vector>

#include "common/counter.hpp"
#include "pipeline/module.hpp"
#include "qos/qos_tables.hpp"

namespace ivs::qos {

class Scheduler;

class EgressClassStage final : public pipeline::Stage {
 public:
  // `scheds`: by port, its scheduler or nullptr (empty: none); `packets`: this stage's
  // packets out by class, which the module sums for the datapath threads' stages.
  EgressClassStage(std::shared_ptr<const QosTables> tables, std::vector<Scheduler*> scheds,
                   std::shared_ptr<std::vector<Counter>> packets);
  void run_egress(pipeline::Forwarder& f, const pipeline::TxView& out) noexcept override;

 private:
  std::shared_ptr<const QosTables> tables_;
  std::vector<Scheduler*> scheds_;
  std::shared_ptr<std::vector<Counter>> packets_;
};

}  // namespace ivs::qos
