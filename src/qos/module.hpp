#pragma once
// The QoS guard as a module (pipeline/module.hpp; docs/qos.md), issue 17's move in
// progress. What the module gives the core today: `ivctl show qos` (show.qos) and the
// QoS /metrics families (qos/control.cpp). Still in the core until the rest of the move:
// the per-packet guard (qos/forwarder_qos.cpp defines Forwarder members, fed by
// DatapathContext::qos), the tables and schedulers the Datapath owns, and the reload of
// qos.assign (Datapath::reload_policy). The per-flow state is already the module's: the
// flow entry's opaque slot, read through qos/flow_state.hpp.
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/module.hpp"

namespace ivs::qos {

class QosModule final : public pipeline::Module {
 public:
  static constexpr std::string_view kName = "qos";
  // Bound of show.qos's `limit` (the answer is built in memory whole).
  static constexpr uint64_t kMaxMismatchLimit = 1000;
  explicit QosModule(const pipeline::ModuleEnv& env) : dp_(env.datapath) {}
  static std::expected<std::unique_ptr<pipeline::Module>, std::string> create(const pipeline::ModuleEnv& env) {
    // Made even without a `qos` section: show.qos then says the guard is off.
    return std::make_unique<QosModule>(env);
  }
  std::string_view name() const noexcept override { return kName; }
  // show.qos, when there is a datapath to read (not in the unit rig).
  void add_control_methods(const pipeline::AddControlMethod& add) override;
  std::string metrics() const override;

  // `ivctl show qos`: assignments, per-VM DSCP counters, meters, classes, scheduled ports,
  // and the `mismatch_limit` most recent mismatching flow directions.
  static nlohmann::json view(const pipeline::Datapath& dp, size_t mismatch_limit);

 private:
  const pipeline::Datapath* dp_;
};

}  // namespace ivs::qos
