// The jobs plugged into the core (pipeline/module.hpp), in order: creation, start and the
// /metrics text follow it, stop runs in reverse. The one shared file a new job adds a
// line to; the core folders include none of these headers (scripts/check-layers.sh).
#include "channel/module.hpp"
#include "ethertypes/module.hpp"
#include "flowexport/module.hpp"
#include "mirror/module.hpp"
#include "pipeline/module.hpp"

namespace ivs::pipeline {

const std::vector<ModuleInfo>& registered_modules() {
  static const std::vector<ModuleInfo> modules{
      {"mirror", &mirror::MirrorModule::create},  // first: its /metrics families where they always were
      {"channel", &channel::ChannelModule::create},
      {"flow_export", &flowexport::FlowExportModule::create},
      {"ethertypes", &ethertypes::EthertypesModule::create},
  };
  return modules;
}

}  // namespace ivs::pipeline
