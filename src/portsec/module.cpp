#include "portsec/module.hpp"

#include <rte_mbuf.h>

#include "forward/tables.hpp"
#include "pipeline/forwarder.hpp"

namespace ivs::portsec {

PortSecurityModule::PortSecurityModule(const pipeline::ModuleEnv& env)
    : ps_(std::make_shared<const PortSecurity>(PortSecurity::build(env.cfg))), tables_(env.tables), dp_(env.datapath) {}

std::expected<std::unique_ptr<pipeline::Module>, std::string> PortSecurityModule::create(const pipeline::ModuleEnv& env) {
  // Made with any config: its view and metrics list every port, on or off.
  return std::make_unique<PortSecurityModule>(env);
}

std::unique_ptr<pipeline::Stage> PortSecurityModule::make_stage(pipeline::AttachPoint at) const {
  if (at != pipeline::AttachPoint::kIngress) return nullptr;
  for (size_t p = 0; p < ps_->port_count(); ++p)
    if (ps_->enabled(static_cast<uint16_t>(p))) return std::make_unique<PortSecurityStage>(ps_);
  return nullptr;  // no port has it on: no stage, the fast path stays as it was
}

void PortSecurityStage::run(pipeline::Forwarder& f, pipeline::Burst& b) noexcept {
  // A burst comes from one port, and the Forwarder runs this stage only on a secured one
  // (runs_on). A host-VM channel's VLAN has its own admission (the channel's stage).
  const auto& tables = f.tables();
  const bool channels = !tables.channels().empty();  // (without any, no network is a channel's)
  for (uint16_t j = 0; j < b.n; ++j) {
    pipeline::Pkt& p = b.pkts[j];
    if (channels && tables.network(p.net).channel >= 0) continue;
    if (const auto r = ps_->check(p.in_port, p.net, rte_pktmbuf_mtod(p.m, const uint8_t*), p.m->data_len, b.pp[j])) {
      f.drop(p.in_port, p.m, *r);
      p.m = nullptr;
    }
  }
}

}  // namespace ivs::portsec
