#include "flowexport/module.hpp"

#include "mirror/module.hpp"

namespace ivs::flowexport {

std::expected<std::unique_ptr<pipeline::Module>, std::string> FlowExportModule::create(const pipeline::ModuleEnv& env) {
  std::unique_ptr<FlowExportModule> m(new FlowExportModule());
  m->cfg_ = env.cfg.flow_export;
  // The configured collectors are resolved now (an unknown host refuses the start);
  // without a flow_export section the exporter waits for `ivctl flow-export add`.
  m->exporter_ = std::make_unique<Exporter>(env.cfg.flow_export);
  if (auto ok = m->exporter_->open(); !ok) return std::unexpected("flow_export: " + ok.error());
  m->recorder_ = std::make_unique<EntryRecorder>(env.cfg, *m->exporter_);
  // The flow records name a flow's mirrors: the mirror module (made before) tells the
  // recorder each set it publishes. (The recorder lives as long as the mirror module: the
  // Datapath destroys its modules together, after every thread stopped.)
  if (auto* mirrors = dynamic_cast<mirror::MirrorModule*>(pipeline::find_module(env, mirror::MirrorModule::kName)))
    mirrors->on_published([rec = m->recorder_.get()](std::shared_ptr<const mirror::MirrorSet> set) { rec->set_mirrors(std::move(set)); });
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
