#include "policy/module.hpp"

#include <rte_cycles.h>
#include <spdlog/spdlog.h>

#include "pipeline/datapath.hpp"
#include "policy/flow_recorder.hpp"

namespace ivs::policy {

std::expected<std::unique_ptr<pipeline::Module>, std::string> PolicyModule::create(const pipeline::ModuleEnv& env) {
  if (!env.flows || env.upcall_rings.empty()) return std::unique_ptr<pipeline::Module>{};
  auto classifier = Classifier::compile(env.cfg, 1);
  if (!classifier) return std::unexpected(classifier.error());
  std::unique_ptr<PolicyModule> m(new PolicyModule());
  // A chain's device is healthy while its ports have link (checked by the policy thread).
  auto port_up = env.port_up ? env.port_up : [](uint16_t) { return true; };
  m->slow_path_ = std::make_unique<SlowPath>(*env.flows, env.cfg.flows, std::move(*classifier), env.upcall_rings,
                                             env.reinject_rings, rte_get_tsc_hz(), std::move(port_up));
  if (env.cfg.flows.autovalidator) {  // test mode (policy/autovalidator.hpp)
    m->validator_ = std::make_unique<Autovalidator>();
    m->slow_path_->set_autovalidator(m->validator_.get());
    spdlog::warn("autovalidator on (flows.autovalidator, a test mode): every flow-cache hit is sampled for the policy thread to check");
  }
  // The flow records (made before this module: flowexport/module.hpp) hook into the slow path.
  if (env.earlier)
    for (const auto& made : *env.earlier)
      if (auto* source = dynamic_cast<FlowRecorderSource*>(made.get())) m->slow_path_->set_recorder(source->flow_recorder());
  return m;
}

std::expected<void, std::string> PolicyModule::start() {
  slow_path_->start();
  return {};
}

void PolicyModule::stop() {
  slow_path_->stop();            // frees packets still waiting for a verdict
  slow_path_->finish_records();  // every flow's last record (no datapath thread runs now)
}

std::expected<std::function<void()>, std::string> PolicyModule::plan_policy(const config::Config& next, uint32_t epoch) {
  auto classifier = Classifier::compile(next, epoch);
  if (!classifier) return std::unexpected(classifier.error());
  // (held by a shared_ptr: a std::function is copyable)
  auto held = std::make_shared<std::unique_ptr<Classifier>>(std::move(*classifier));
  return [this, held] { slow_path_->publish(std::move(*held)); };
}

void PolicyModule::with_policy(const std::function<void(const pipeline::TraceNamer& names, uint32_t epoch)>& fn) const {
  slow_path_->with_policy([&](const Classifier& pol, const std::vector<Counter>&) {
    const pipeline::TraceNamer names = [&pol](std::string_view kind, int64_t index, uint32_t epoch) { return pol.trace_name(kind, index, epoch); };
    fn(names, pol.epoch());
  });
}

const SlowPath& slow_path_of(const pipeline::Datapath& dp) {
  // Always made by a running datapath (Datapath::create refuses to start without it).
  return static_cast<const PolicyModule*>(dp.module(PolicyModule::kName))->slow_path();
}

}  // namespace ivs::policy
