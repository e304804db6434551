#pragma once
// Port security as a module (pipeline/module.hpp; port_security.hpp says what it checks):
// its stage at AttachPoint::kIngress on the ports that have it on (after the channel's
// admission, before learning and the flow lookup: a spoofed frame teaches the switch
// nothing and creates no flow), its drop reasons (portsec/reasons.hpp), `ivctl show
// port-security` and its /metrics (portsec/control.cpp).
#include <memory>

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
  void add_control_methods(const pipeline::AddControlMethod& add) override;
  std::string metrics() const override;

  // `ivctl show port-security`: per port, on/off, the VMs it admits, its drops by reason.
  nlohmann::json view() const;

 private:
  // Shared with the stages (read-only once built; the ports and VMs are fixed at start:
  // a reload that changes them is refused, pipeline/datapath.cpp).
  std::shared_ptr<const PortSecurity> ps_;
  const forward::ForwardingTables& tables_;
  const pipeline::Datapath* dp_;  // nullptr in the unit rig: no views
};

// The check on one port's bursts (one per Forwarder).
class PortSecurityStage final : public pipeline::Stage {
 public:
  explicit PortSecurityStage(std::shared_ptr<const PortSecurity> ps) : ps_(std::move(ps)) {}
  bool runs_on(uint16_t port) const noexcept override { return ps_->enabled(port); }
  void run(pipeline::Forwarder& f, pipeline::Burst& b) noexcept override;

 private:
  std::shared_ptr<const PortSecurity> ps_;
};

}  // namespace ivs::portsec
