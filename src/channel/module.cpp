#include "channel/module.hpp"

#include "channel/reasons.hpp"
#include "channel/stage.hpp"

namespace ivs::channel {

ChannelModule::ChannelModule(const pipeline::ModuleEnv& env) : cfg_(env.cfg.channel), tables_(env.tables), dp_(env.datapath) {
  // The service needs the open `channel` port's rings, hence a datapath (not the rig).
  if (dp_ && cfg_.role == config::ChannelConfig::Role::kHost) service_ = std::make_unique<ChannelService>(cfg_);
}

std::expected<std::unique_ptr<pipeline::Module>, std::string> ChannelModule::create(const pipeline::ModuleEnv& env) {
  return std::make_unique<ChannelModule>(env);
}

std::expected<void, std::string> ChannelModule::start() {
  if (service_) return service_->start();
  return {};
}

void ChannelModule::stop() {
  if (service_) service_->stop();
}

std::expected<std::function<void()>, std::string> ChannelModule::plan_reload(const config::Config& next) {
  // Channels are networks, ports and static entries compiled at start: never changed by
  // a reload, never silently ignored.
  if (!(cfg_ == next.channel)) return std::unexpected("channels differ");
  return std::function<void()>{};
}

std::unique_ptr<pipeline::Stage> ChannelModule::make_stage(pipeline::AttachPoint at) const {
  const auto tables = tables_.get();  // (the channels are the start's whatever the ports do)
  if (at != pipeline::AttachPoint::kIngress || !tables->channel_address().enabled) return nullptr;
  return std::make_unique<ChannelStage>(tables->channels().size());
}

void ChannelModule::claim_vlans(const ClaimVlan& claim) const {
  const auto tables = tables_.get();
  if (!tables->channel_address().enabled) return;
  for (size_t i = 0; i < tables->network_count(); ++i)
    if (const auto& n = tables->network(static_cast<int16_t>(i)); n.channel >= 0) claim(n.vlan, kDrops(Drop::kWrongPort));
}

void ChannelModule::add_control_methods(const pipeline::AddControlMethod& add) {
  if (!dp_) return;
  add("show.channels", [this](const nlohmann::json&) -> Result<nlohmann::json> { return view(); });
}

}  // namespace ivs::channel
