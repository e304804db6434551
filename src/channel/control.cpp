// The host-VM channel over the control socket (`ivctl show channels`) and /metrics: the
// mapping (id -> VLAN -> port, agent address), the messages each way, and the drops of
// the channel's checks on the agent's port.
#include <fmt/format.h>

#include "channel/module.hpp"
#include "config/channel_reader.hpp"
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
    out["clients"] = svc->clients();
    out["bad_requests"] = svc->bad_requests();
    out["bad_frames"] = svc->bad_frames();
  } else {
    out["uplink"] = c.uplink;
  }
  const auto snaps = svc ? svc->snapshot() : std::vector<channel::ChannelSnapshot>{};
  const auto ports = dp_->ports();
  const auto& routes = tables_.channels();
  for (size_t i = 0; i < c.map.size(); ++i) {
    const auto& b = c.map[i];
    const auto& r = routes[i];
    json ch{{"id", b.id}, {"vlan", b.vlan}, {"agent_mac", b.agent_mac.to_string()}, {"agent_ip", b.agent_ip.to_string()},
            {"network", config::channel_network_name(c, b)}, {"agent_port", tables_.port_name(r.agent_port)},
            {"host_port", tables_.port_name(r.host_port)}};
    if (!b.vm.empty()) ch["vm"] = b.vm;
    // The checks' drops on the agent's port: what this VM (or agent) sent that was refused.
    json drops = json::object();
    for (size_t k = 0; k < kDropReasonCount; ++k) {
      const auto name = kDropReasonInfo[k].name;
      if (name.starts_with("channel.")) drops[std::string(name)] = ports[r.agent_port].drops[k];
    }
    ch["drops_at_agent_port"] = drops;
    if (svc) {
      const auto& s = snaps[i];
      ch["to_vm"] = {{"sent", s.sent}, {"bytes", s.sent_bytes}, {"acked", s.acked}, {"retries", s.retries}, {"failed", s.failed},
                     {"send_errors", s.send_errors}, {"pending_acks", s.pending_acks}};
      ch["from_vm"] = {{"received", s.received}, {"bytes", s.received_bytes}, {"delivered", s.delivered}, {"replies", s.replies},
                       {"no_listener", s.no_listener}, {"duplicates", s.duplicates}, {"acks", s.acks_received}};
    }
    out["channels"].push_back(ch);
  }
  return out;
}

std::string ChannelModule::metrics() const {
  if (!service_ || !dp_) return "";
  const json v = view();
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  family("ivswitch_channel_to_vm_total", "counter", "Host-VM channel: messages to each VM's agent (sent, acked, retries, failed, send_errors).");
  for (const auto& ch : v["channels"])
    for (const auto& [what, n] : ch["to_vm"].items())
      if (what != "bytes" && what != "pending_acks")
        out += fmt::format("ivswitch_channel_to_vm_total{{vm=\"{}\",what=\"{}\"}} {}\n", ch["vm"].get<std::string>(), what, n.get<uint64_t>());
  family("ivswitch_channel_from_vm_total", "counter", "Host-VM channel: messages from each VM's agent (received, delivered, replies, no_listener, duplicates, acks).");
  for (const auto& ch : v["channels"])
    for (const auto& [what, n] : ch["from_vm"].items())
      if (what != "bytes")
        out += fmt::format("ivswitch_channel_from_vm_total{{vm=\"{}\",what=\"{}\"}} {}\n", ch["vm"].get<std::string>(), what, n.get<uint64_t>());
  family("ivswitch_channel_pending_acks", "gauge", "Host-VM channel: messages to the VM waiting for the agent's ack.");
  for (const auto& ch : v["channels"])
    out += fmt::format("ivswitch_channel_pending_acks{{vm=\"{}\"}} {}\n", ch["vm"].get<std::string>(), ch["to_vm"]["pending_acks"].get<uint64_t>());
  family("ivswitch_channel_clients", "gauge", "Host daemons connected to the channel socket.");
  out += fmt::format("ivswitch_channel_clients {}\n", v["clients"].get<size_t>());
  return out;
}

}  // namespace ivs::channel
