#pragma once
// The policy as a module (pipeline/module.hpp; issue 17, "the core knows no job"): the
// compiled policy (rules, chains, QoS assignment: policy::Classifier, epoch 1 at start),
// the policy thread that decides new flows and revalidates old ones (policy::SlowPath),
// and its test mode (policy::Autovalidator), all made from the config here. What the
// core asks of it (pipeline/upcall_handler.hpp): the wake-up its datapath threads write
// after an upcall, the autovalidator's sampler, trace's decision for a new flow (the same
// decide() the thread uses) and a reload's new policy. The upcall and reinject rings and
// the flow table are the core's, given in ModuleEnv.
//
// Registered last (src/modules/registry.cpp): its thread starts after every other
// module's and, in reverse order, stops first, ending every flow's records (stop +
// finish_records) while the flow records' exporter (flowexport/module.hpp) still runs;
// made last, it finds that exporter's recorder among the modules made before it
// (ModuleEnv::earlier, policy::FlowRecorderSource) and hooks it into the slow path.
//
// Views of other areas (ivctl show policy/flows/chains, QoS's, /metrics) reach the slow
// path through policy::slow_path_of(datapath).
#include <memory>

#include "pipeline/module.hpp"
#include "pipeline/upcall_handler.hpp"
#include "policy/autovalidator.hpp"
#include "policy/slow_path.hpp"

namespace ivs::pipeline {
class Datapath;
}

namespace ivs::policy {

class PolicyModule final : public pipeline::Module, public pipeline::UpcallHandler {
 public:
  static constexpr std::string_view kName = "policy";
  // nullptr (nothing to do) when the env has no flow table and rings (a test's modules).
  static std::expected<std::unique_ptr<pipeline::Module>, std::string> create(const pipeline::ModuleEnv& env);

  // pipeline::Module
  std::string_view name() const noexcept override { return kName; }
  std::expected<void, std::string> start() override;
  void stop() override;
  pipeline::UpcallHandler* upcall_handler() noexcept override { return this; }

  // pipeline::UpcallHandler
  pipeline::Wakeup& wakeup() noexcept override { return slow_path_->wakeup(); }
  pipeline::CacheHitSampler* cache_hit_sampler() noexcept override { return validator_.get(); }
  pipeline::MissDecision decide_miss(const pipeline::Upcall& u, flow::FlowEntry& entry, uint32_t now_s) const override {
    return slow_path_->decide_miss(u, entry, now_s);
  }
  std::expected<std::function<void()>, std::string> plan_policy(const config::Config& next, uint32_t epoch) override;
  void with_policy(const std::function<void(const pipeline::TraceNamer& names, uint32_t epoch)>& fn) const override;

  SlowPath& slow_path() const { return *slow_path_; }
  Autovalidator* autovalidator() const { return validator_.get(); }

 private:
  explicit PolicyModule(const pipeline::SharedTables& tables) : tables_(tables) {}
  // The forwarding tables now: the chains' ports are compiled to their slots.
  const pipeline::SharedTables& tables_;
  std::unique_ptr<Autovalidator> validator_;  // before the slow path: it outlives it
  std::unique_ptr<SlowPath> slow_path_;
  // Flow restore (switch.flow_restore): the file, empty when off, and the names the
  // saved flows' ports and networks are found by.
  std::string flows_file_;
  FlowNames names_;
};
// Where a switch keeps its flows across a restart: beside its control socket.
std::string flows_file_of(const config::Config& cfg);

// The running datapath's slow path (its policy module's). For the views outside the core.
const SlowPath& slow_path_of(const pipeline::Datapath& dp);

}  // namespace ivs::policy
