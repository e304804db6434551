#pragma once
// Port security as a module (pipeline/module.hpp; port_security.hpp says what it checks):
// its stage at AttachPoint::kIngress on the ports that have it on (after the channel's
// admission, before learning and the flow lookup: a spoofed frame teaches the switch
// nothing and creates no flow), its drop reasons (portsec/reasons.hpp), `ivctl show
// port-security` and its /metrics (portsec/control.cpp).
#include <atomic>
#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "pipeline/module.hpp"
#include "portsec/port_security.hpp"

namespace ivs::portsec {

class PortSecurityModule final : public pipeline::Module {
 public:
  explicit PortSecurityModule(const pipeline::ModuleEnv& env);
  static std::expected<std::unique_ptr<pipeline::Module>, std::string> create(const pipeline::ModuleEnv& env);

  std::string_view name() const noexcept override { return "port_security"; }
  std::unique_ptr<pipeline::Stage> make_stage(pipeline::AttachPoint at) const override;
  // The VMs a reload leaves (added, removed, changed): the next PortSecurity compiled here
  // (by slot, every slot of the port table), published by the part (a port's
  // port_security is fixed while it lives: a reload that changes it is refused,
  // config/runtime_changes.cpp).
  std::expected<std::function<void()>, std::string> plan_reload(const config::Config& next) override;
  void add_control_methods(const pipeline::AddControlMethod& add) override;
  std::string metrics() const override;

  // `ivctl show port-security`: per port, on/off, the VMs it admits, its drops by reason.
  nlohmann::json view() const;

 private:
  // The compiled checks the stages read: an atomic pointer each stage loads once per burst
  // (published_), owned by ps_ (the views' snapshot, under mu_). A reload stores the next,
  // waits for the Datapath's RCU grace period, then lets the old one go.
  std::shared_ptr<const PortSecurity> current() const {
    std::lock_guard lock(mu_);
    return ps_;
  }
  mutable std::mutex mu_;
  std::shared_ptr<const PortSecurity> ps_;
  std::atomic<const PortSecurity*> published_{nullptr};
  const pipeline::SharedTables& tables_;  // the tables now: a port's index is its slot
  size_t slots_;                          // the port table's (switch.max_ports)
  const pipeline::Datapath* dp_;  // nullptr in the unit rig: no views
};

// The check on one port's bursts (one per Forwarder): the published checks, loaded once
// per burst (one atomic load), so that a reload's VMs apply from the next burst on.
class PortSecurityStage final : public pipeline::Stage {
 public:
  explicit PortSecurityStage(const std::atomic<const PortSecurity*>* ps) : ps_(ps) {}
  bool runs_on(uint16_t port) const noexcept override { return ps_->load(std::memory_order_acquire)->enabled(port); }
  void run(pipeline::Forwarder& f, pipeline::Burst& b) noexcept override;

 private:
  const std::atomic<const PortSecurity*>* ps_;  // the module's, which outlives its stages
};

}  // namespace ivs::portsec
