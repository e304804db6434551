#pragma once
// The host-VM channel as a module (pipeline/module.hpp; docs/channels.md): the host end's
// service thread (role host), the datapath's admission checks at AttachPoint::kIngress
// (channel/stage.cpp), `ivctl show channels` and its /metrics (channel/control.cpp).
#include <memory>

#include "channel/service.hpp"
#include "config/model.hpp"
#include "pipeline/module.hpp"

namespace ivs::channel {

class ChannelModule final : public pipeline::Module {
 public:
  explicit ChannelModule(const pipeline::ModuleEnv& env);
  static std::expected<std::unique_ptr<pipeline::Module>, std::string> create(const pipeline::ModuleEnv& env);

  std::string_view name() const noexcept override { return "channel"; }
  std::expected<void, std::string> start() override;
  void stop() override;
  std::expected<std::function<void()>, std::string> plan_reload(const config::Config& next) override;
  std::unique_ptr<pipeline::Stage> make_stage(pipeline::AttachPoint at) const override;
  // A channel's VLAN on a port its mapping does not bind: channel.ingress.wrong_port.
  void claim_vlans(const ClaimVlan& claim) const override;
  void add_control_methods(const pipeline::AddControlMethod& add) override;
  std::string metrics() const override;

  // The host end's service (nullptr: no channels, or the guest role).
  const ChannelService* service() const { return service_.get(); }
  // `ivctl show channels`: mapping (id -> VLAN -> port, agent address), messages each
  // way, and the drops of the checks on each agent's port.
  nlohmann::json view() const;

 private:
  config::ChannelConfig cfg_;
  const pipeline::SharedTables& tables_;  // the forwarding tables now (a snapshot where read)
  const pipeline::Datapath* dp_;  // nullptr in the unit rig: no views
  std::unique_ptr<ChannelService> service_;
};

}  // namespace ivs::channel
