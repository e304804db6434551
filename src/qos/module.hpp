#pragma once
// The QoS guard as a module (pipeline/module.hpp; docs/qos.md). What the module gives the
// core: the guard on the way in, its stage after the flow lookup (AttachPoint::kFlow,
// qos/guard.hpp: DSCP seen vs assigned, rewrite under enforce, mismatch samples, meters),
// with its own tables (classes, meters: compiled from the config once, they change only
// with a restart) and per-thread counters, which it sums for `ivctl show qos` (show.qos)
// and the QoS /metrics families (qos/control.cpp). The per-flow state is the flow entry's
// opaque slot, read through qos/flow_state.hpp; the assignments (qos.assign) are compiled
// into the policy (QosPlan) and reload with it, and show.qos reads them from the
// Datapath's config, which a reload updates. Still in the core until the egress move: the
// class by DSCP on output and the schedulers the Datapath owns and the Pmd drains
// (qos/forwarder_qos.cpp, DatapathContext::qos).
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/module.hpp"
#include "qos/qos_counters.hpp"
#include "qos/qos_tables.hpp"

namespace ivs::qos {

class QosModule final : public pipeline::Module {
 public:
  static constexpr std::string_view kName = "qos";
  // Bound of show.qos's `limit` (the answer is built in memory whole).
  static constexpr uint64_t kMaxMismatchLimit = 1000;
  QosModule(const pipeline::ModuleEnv& env, std::shared_ptr<const QosTables> tables);
  static std::expected<std::unique_ptr<pipeline::Module>, std::string> create(const pipeline::ModuleEnv& env);
  std::string_view name() const noexcept override { return kName; }
  // The guard's stage after the flow lookup, with a `qos` section; none otherwise.
  std::unique_ptr<pipeline::Stage> make_stage(pipeline::AttachPoint at) const override;
  // show.qos, when there is a datapath to read (not in the unit rig).
  void add_control_methods(const pipeline::AddControlMethod& add) override;
  std::string metrics() const override;
  // `ivctl trace`'s names of meters and classes (the assignments are the policy's).
  pipeline::TraceNamer trace_namer() const override;

  const QosTables& tables() const { return *tables_; }
  // The guard's counters summed over the stages of the datapath threads (not trace's).
  GuardSums sums() const;
  // `ivctl show qos`: assignments, per-VM DSCP counters, meters, classes, scheduled ports,
  // and the `mismatch_limit` most recent mismatching flow directions.
  nlohmann::json view(size_t mismatch_limit) const;
  // How many stages' counters it keeps (tests: traces must not pile up).
  size_t counter_sets() const {
    std::lock_guard lock(mu_);
    return counters_.size();
  }

 private:
  const pipeline::Datapath* dp_;
  std::shared_ptr<const QosTables> tables_;
  size_t ports_ = 0, vms_ = 0;
  // Each stage's counters, in the order the stages were made. Under mu_: made on the
  // threads building Forwarders, summed on control threads.
  mutable std::mutex mu_;
  mutable std::vector<std::shared_ptr<QosCounters>> counters_;
};

}  // namespace ivs::qos
