#include "flowexport/module.hpp"

namespace ivs::flowexport {

std::expected<std::unique_ptr<pipeline::Module>, std::string> FlowExportModule::create(const pipeline::ModuleEnv& env) {
  std::unique_ptr<FlowExportModule> m(new FlowExportModule());
  m->cfg_ = env.cfg.flow_export;
  // The configured collectors are resolved now (an unknown host refuses the start);
  // without a flow_export section the exporter waits for `ivctl flow-export add`.
  m->exporter_ = std::make_unique<Exporter>(env.cfg.flow_export);
  if (auto ok = m->exporter_->open(); !ok) return std::unexpected("flow_export: " + ok.error());
  m->recorder_ = std::make_unique<EntryRecorder>(env.cfg, *m->exporter_);
  return m;
}

std::expected<void, std::string> FlowExportModule::start() {
  exporter_->start();
  return {};
}

void FlowExportModule::stop() { exporter_->stop(); }  // sends what is queued

std::expected<std::function<void()>, std::string> FlowExportModule::plan_reload(const config::Config& next) {
  // Never silently ignored: collectors change at runtime (ivctl flow-export add/del).
  if (!(cfg_ == next.flow_export)) return std::unexpected("flow_export differs (collectors: ivctl flow-export add/del; the rest needs a restart)");
  return std::function<void()>{};
}

}  // namespace ivs::flowexport
