#include "policy/module.hpp"

#include <rte_cycles.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "flow/flow_snapshot.hpp"
#include "pipeline/datapath.hpp"
#include "policy/flow_recorder.hpp"

namespace ivs::policy {

std::expected<std::unique_ptr<pipeline::Module>, std::string> PolicyModule::create(const pipeline::ModuleEnv& env) {
  if (!env.flows || env.upcall_rings.empty()) return std::unique_ptr<pipeline::Module>{};
  const auto tables = env.tables.get();
  auto classifier = Classifier::compile(env.cfg, 1, [&tables](const std::string& port) { return tables->port_index(port); });
  if (!classifier) return std::unexpected(classifier.error());
  std::unique_ptr<PolicyModule> m(new PolicyModule(env.tables));
  // A chain's device is healthy while its ports have link (checked by the policy thread).
  auto port_up = env.port_up ? env.port_up : [](uint16_t) { return true; };
  m->slow_path_ = std::make_unique<SlowPath>(*env.flows, env.cfg.flows, std::move(*classifier), env.upcall_rings,
                                             env.reinject_rings, rte_get_tsc_hz(), std::move(port_up));
  if (env.cfg.flows.autovalidator) {  // test mode (policy/autovalidator.hpp)
    m->validator_ = std::make_unique<Autovalidator>();
    m->slow_path_->set_autovalidator(m->validator_.get());
    spdlog::warn("autovalidator on (flows.autovalidator, a test mode): every flow-cache hit is sampled for the policy thread to check");
  }
  if (env.cfg.sw.flow_restore && !env.cfg.sw.control_socket.empty()) {
    m->flows_file_ = flows_file_of(env.cfg);
    m->names_ = flow_names_of(env.cfg);
  }
  // The flow records (made before this module: flowexport/module.hpp) hook into the slow path.
  if (env.earlier)
    for (const auto& made : *env.earlier)
      if (auto* source = dynamic_cast<FlowRecorderSource*>(made.get())) m->slow_path_->set_recorder(source->flow_recorder());
  return m;
}

std::string flows_file_of(const config::Config& cfg) {
  const std::filesystem::path sock(cfg.sw.control_socket);
  return (sock.parent_path() / (cfg.sw.instance + ".flows")).string();
}

std::expected<void, std::string> PolicyModule::start() {
  // Before the policy thread and the datapath threads run: the flows of the last clean
  // stop, each decided again under this policy (SlowPath::restore_flows). The file is
  // removed once read, so that flows are never restored twice (after a crash, say).
  if (!flows_file_.empty()) {
    const uint64_t t0 = rte_get_tsc_cycles();
    auto saved = flow::read_flow_snapshot(flows_file_, slow_path_->table_capacity());
    if (saved) {
      const uint32_t n = slow_path_->restore_flows(*saved, names_);
      spdlog::info("start phase: flows restored: {} of {} saved at epoch {} ({} left out: a different verdict now, a port or "
                   "network gone, or on a chain) in {:.0f} ms",
                   n, saved->flows.size(), saved->epoch, saved->flows.size() - n,
                   static_cast<double>(rte_get_tsc_cycles() - t0) * 1e3 / static_cast<double>(rte_get_tsc_hz()));
    } else if (!saved.error().missing) {
      slow_path_->count_refused_file();
      spdlog::warn("flow restore: file refused, starting without its flows: {}", saved.error().message);
    }
    if (saved || !saved.error().missing) ::unlink(flows_file_.c_str());
  }
  slow_path_->start();
  return {};
}

void PolicyModule::stop() {
  slow_path_->stop();  // frees packets still waiting for a verdict
  // No datapath thread runs now: the established flows for the next start.
  if (!flows_file_.empty()) {
    const uint64_t t0 = rte_get_tsc_cycles();
    const flow::FlowSnapshot s = slow_path_->save_flows(names_);
    if (auto ok = flow::write_flow_snapshot(flows_file_, s); !ok)
      spdlog::warn("flow restore: flows not saved: {}", ok.error());
    else
      spdlog::info("stop phase: {} flows saved to {} in {:.0f} ms", s.flows.size(), flows_file_,
                   static_cast<double>(rte_get_tsc_cycles() - t0) * 1e3 / static_cast<double>(rte_get_tsc_hz()));
  }
  slow_path_->finish_records();  // every flow's last record
}

std::expected<std::function<void()>, std::string> PolicyModule::plan_policy(const config::Config& next, uint32_t epoch) {
  const auto tables = tables_.get();  // (a chain's port: its slot)
  auto classifier = Classifier::compile(next, epoch, [&tables](const std::string& port) { return tables->port_index(port); });
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
