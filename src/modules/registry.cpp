// The jobs plugged into the core (pipeline/module.hpp) and the config sections they read
// themselves (config/job_sections.hpp), each in order: creation, start and the
// /metrics text follow it, stop runs in reverse; so does the numbering of their drop
// reasons and trace events, after the core's (a job's entry names its blocks). The one shared file a new job adds a
// line to; the core folders include none of these headers (scripts/check-layers.sh).
#include "channel/module.hpp"
#include "channel/reasons.hpp"
#include "config/job_sections.hpp"
#include "ethertypes/config.hpp"
#include "ethertypes/module.hpp"
#include "flowexport/module.hpp"
#include "mirror/module.hpp"
#include "pipeline/module.hpp"
#include "policy/module.hpp"
#include "portsec/module.hpp"
#include "portsec/reasons.hpp"
#include "qos/module.hpp"

namespace ivs::pipeline {

const std::vector<ModuleInfo>& registered_modules() {
  static const std::vector<ModuleInfo> modules{
      // QoS, then the mirrors: their /metrics families where they were before the moves.
      {"qos", &qos::QosModule::create},
      {"mirror", &mirror::MirrorModule::create},
      {"channel", &channel::ChannelModule::create, &channel::kDrops, &channel::kTraceEvents},
      // After the channel: a channel's VLAN is admitted by the channel's stage, not here.
      {"port_security", &portsec::PortSecurityModule::create, &portsec::kDrops},
      {"flow_export", &flowexport::FlowExportModule::create},
      {"ethertypes", &ethertypes::EthertypesModule::create},
      // Last: the policy thread starts after every other module's thread and stops first,
      // ending every flow's records while the exporter still runs; made last, it finds the
      // flow records' recorder among the modules made before it.
      {"policy", &policy::PolicyModule::create},
  };
  return modules;
}

}  // namespace ivs::pipeline

namespace ivs::config {

const std::vector<JobSectionReader>& job_section_readers() {
  static const std::vector<JobSectionReader> readers{
      {kEthertypesKey, &read_ethertypes},
  };
  return readers;
}

}  // namespace ivs::config
