// The host-VM channel over the control socket (`ivctl show channels`) and /metrics: the
// mapping (id -> VLAN -> port, agent address), the messages each way, and the drops of
// the channel's checks on the agent's port.
#include <fmt/format.h>

#include <algorithm>

#include "channel/counter_fields.hpp"
#include "channel/module.hpp"
#include "channel/reasons.hpp"
#include "config/channel_reader.hpp"
#include "common/counter_metrics.hpp"
#include "pipeline/datapath.hpp"

namespace ivs::channel {

using nlohmann::json;

json ChannelModule::view() const {
  const auto& c = cfg_;
  json out;
  out["role"] = c.role == config::ChannelConfig::Role::kHost ? "host" : c.role == config::ChannelConfig::Role::kGuest ? "guest" : "none";
  out["channels"] = json::array();
  if (!c.enabled()) return out;
  out["address"] = {{"mac", c.mac.to_string()}, {"ip", c.ip.to_string()}, {"udp_port", c.udp_port}};
  out["max_message"] = c.max_message;
  out["rate_pps"] = c.rate_pps;
  out["burst"] = c.burst;
  out["ack_timeout_ms"] = c.ack_timeout_ms;
  out["retries"] = c.retries;
  const auto* svc = service_.get();
  if (svc) {
    out["socket"] = svc->socket_path();
    json& row = out;
    IVS_CHANNEL_SOCKET_FIELDS(IVS_FIELD_JSON)
  } else {
    out["uplink"] = c.uplink;
  }
  const auto snaps = svc ? svc->snapshot() : std::vector<channel::ChannelSnapshot>{};
  const auto ports = dp_->ports();
  const auto tables = tables_.get();  // (held through the loop)
  const auto& routes = tables->channels();
  for (size_t i = 0; i < c.map.size(); ++i) {
    const auto& b = c.map[i];
    const auto& r = routes[i];
    json ch{{"id", b.id}, {"vlan", b.vlan}, {"agent_mac", b.agent_mac.to_string()}, {"agent_ip", b.agent_ip.to_string()},
            {"network", config::channel_network_name(c, b)}, {"agent_port", tables->port_name(r.agent_port)},
            {"host_port", tables->port_name(r.host_port)}};
    if (!b.vm.empty()) ch["vm"] = b.vm;
    // The checks' drops on the agent's port: what this VM (or agent) sent that was refused.
    json drops = json::object();
    const auto agent = std::find_if(ports.begin(), ports.end(), [&](const pipeline::PortSnapshot& p) { return p.slot == r.agent_port; });
    for (size_t k = 0; k < kDrops.size(); ++k)
      drops[std::string(kDrops.reasons[k].name)] = agent != ports.end() ? agent->drops[kDrops.index(k)] : 0;
    ch["drops_at_agent_port"] = drops;
    if (svc) {
      const auto& r = snaps[i];
      json& row = ch;
      IVS_CHANNEL_FIELDS(IVS_FIELD_JSON)
    }
    out["channels"].push_back(ch);
  }
  return out;
}

std::string ChannelModule::metrics() const {
  if (!service_ || !dp_) return "";
  const json v = view();
  std::string out;
  control::append_metrics(out, kChannelSchema, v);
  control::append_metrics(out, kChannelSocketSchema, v);
  return out;
}

}  // namespace ivs::channel
