#include "portsec/module.hpp"

#include <rte_mbuf.h>

#include <utility>

#include "forward/tables.hpp"
#include "pipeline/datapath.hpp"
#include "pipeline/forwarder.hpp"

namespace ivs::portsec {

PortSecurityModule::PortSecurityModule(const pipeline::ModuleEnv& env)
    : tables_(env.tables), slots_(env.port_slots()), dp_(env.datapath) {
  ps_ = std::make_shared<const PortSecurity>(PortSecurity::build(env.cfg, *tables_.get(), slots_));
  published_.store(ps_.get(), std::memory_order_release);
}

std::expected<std::function<void()>, std::string> PortSecurityModule::plan_reload(const config::Config& next) {
  auto ps = std::make_shared<const PortSecurity>(PortSecurity::build(next, *tables_.get(), slots_));
  const auto running = current();
  if (ps->port_count() != running->port_count()) return std::unexpected("port security: the ports differ");
  // A port that stays (the same port in the same slot) keeps its port security: its
  // Forwarders chose its stages when their rx list first named it (runs_on). A slot that
  // takes a port added by this reload is asked again with the rx list that names it.
  for (size_t p = 0; p < ps->port_count(); ++p) {
    const auto slot = static_cast<uint16_t>(p);
    if (!running->port(slot).port.empty() && running->port(slot).port == ps->port(slot).port &&
        ps->enabled(slot) != running->enabled(slot))
      return std::unexpected("port security: a port's port_security differs");
  }
  return [this, ps = std::move(ps)]() mutable {
    published_.store(ps.get(), std::memory_order_release);
    if (dp_) dp_->synchronize();  // no datapath thread (nor a trace) reads the old checks now
    std::shared_ptr<const PortSecurity> old;
    {
      std::lock_guard lock(mu_);
      old = std::exchange(ps_, std::move(ps));
    }
  };
}

std::expected<std::unique_ptr<pipeline::Module>, std::string> PortSecurityModule::create(const pipeline::ModuleEnv& env) {
  // Made with any config: its view and metrics list every port, on or off.
  return std::make_unique<PortSecurityModule>(env);
}

std::unique_ptr<pipeline::Stage> PortSecurityModule::make_stage(pipeline::AttachPoint at) const {
  if (at != pipeline::AttachPoint::kIngress) return nullptr;
  const auto ps = current();
  for (size_t p = 0; p < ps->port_count(); ++p) {
    // A port that has it on; or a free slot, which a reload may fill with a port that has
    // it on: the Forwarder's stages are made once, so the stage is there for it, and runs
    // on no port until then (runs_on: the other ports keep the fast path).
    const auto slot = static_cast<uint16_t>(p);
    if (ps->enabled(slot) || ps->port(slot).port.empty()) return std::make_unique<PortSecurityStage>(&published_);
  }
  return nullptr;  // no port has it on and no slot is free: no stage, the fast path stays as it was
}

void PortSecurityStage::run(pipeline::Forwarder& f, pipeline::Burst& b) noexcept {
  // A burst comes from one port, and the Forwarder runs this stage only on a secured one
  // (runs_on). A host-VM channel's VLAN has its own admission (the channel's stage).
  const auto& tables = f.tables();
  const PortSecurity* ps = ps_->load(std::memory_order_acquire);  // once per burst
  const bool channels = !tables.channels().empty();  // (without any, no network is a channel's)
  for (uint16_t j = 0; j < b.n; ++j) {
    pipeline::Pkt& p = b.pkts[j];
    if (channels && tables.network(p.net).channel >= 0) continue;
    if (const auto r = ps->check(p.in_port, p.net, rte_pktmbuf_mtod(p.m, const uint8_t*), p.m->data_len, b.pp[j])) {
      f.drop(p.in_port, p.m, *r);
      p.m = nullptr;
    }
  }
}

}  // namespace ivs::portsec
