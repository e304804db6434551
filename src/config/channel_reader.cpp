#include "config/channel_reader.hpp"

#include <fmt/format.h>

#include <map>
#include <set>

#include "config/paths.hpp"

namespace ivs::config {

namespace {
constexpr uint32_t kMaxMessage = 1500 - 20 - 8 - 20;  // IPv4 + UDP + channel header in a 1500-byte MTU
}

void read_channels(const YAML::Node& node, ChannelConfig& c, std::vector<YAML::Node>& map_nodes, Diagnostics& d) {
  MapReader r(node, "channels", d);
  std::string role = "host";
  r.choice("role", role, {"host", "guest"});
  c.role = role == "guest" ? ChannelConfig::Role::kGuest : ChannelConfig::Role::kHost;
  if (c.role == ChannelConfig::Role::kHost) {
    if (r.string("socket", c.socket))
      if (auto why = socket_path_problem(c.socket)) r.error_at_key("socket", *why);
  } else {
    r.string("uplink", c.uplink, true);
  }
  c.mac = MacAddr{{0x02, 0x49, 0x56, 0xff, 0xff, 0xfe}};
  r.mac("mac", c.mac);
  std::optional<Ipv4Addr> ip = Ipv4Addr{0xa9fe4d01};  // 169.254.77.1
  r.ipv4("ip", ip);
  c.ip = *ip;
  r.u32("udp_port", c.udp_port, 1, 65535);
  r.u32("max_message", c.max_message, 1, kMaxMessage);
  r.u32("rate_pps", c.rate_pps, 1, 1000000);
  r.u32("burst", c.burst, 1, 1000000);
  r.u32("ack_timeout_ms", c.ack_timeout_ms, 10, 60000);
  r.u32("retries", c.retries, 0, 100);
  auto map = r.child("map");
  if (!map) {
    if (r.valid()) r.error(node, "channels: 'map' is required (the channels: id, VLAN, agent MAC/IP, and the VM or agent port)");
  } else if (!map->IsSequence()) {
    d.error(*map, "channels.map: expected a list");
  } else {
    for (size_t i = 0; i < map->size(); ++i) {
      const YAML::Node item = (*map)[i];
      MapReader m(item, fmt::format("channels.map[{}]", i), d);
      ChannelBinding b;
      m.u32("id", b.id, 1, UINT32_MAX, true);
      uint32_t vlan = 0;
      if (m.u32("vlan", vlan, 1, 4094, true)) b.vlan = static_cast<uint16_t>(vlan);
      if (c.role == ChannelConfig::Role::kHost) m.string("vm", b.vm, true);
      else m.string("port", b.port, true);
      m.mac("agent_mac", b.agent_mac, true);
      std::optional<Ipv4Addr> aip;
      if (m.ipv4("agent_ip", aip, true)) b.agent_ip = *aip;
      m.finish();
      c.map.push_back(b);
      map_nodes.push_back(item);
    }
  }
  r.finish();
}

bool is_channel_only_port(const ChannelConfig& c, const std::string& port) {
  if (c.role != ChannelConfig::Role::kGuest) return false;
  if (port == c.uplink) return true;
  for (const auto& b : c.map)
    if (b.port == port) return true;
  return false;
}

std::string channel_network_name(const ChannelConfig& c, const ChannelBinding& b) {
  return c.role == ChannelConfig::Role::kHost ? fmt::format("{}{}", kChannelNetworkPrefix, b.vm)
                                              : fmt::format("{}{}", kChannelNetworkPrefix, b.id);
}

void check_channels(const Config& cfg, const YAML::Node& node, const std::vector<YAML::Node>& map_nodes, Diagnostics& d) {
  // (reserved network and port names are checked with the networks and ports: validate.cpp)
  const ChannelConfig& c = cfg.channel;
  if (!c.enabled()) return;
  const bool host = c.role == ChannelConfig::Role::kHost;
  if (!host && !c.uplink.empty() && !cfg.find_port(c.uplink))
    d.error(value_line(node, "uplink"), fmt::format("channels.uplink: port '{}' is not defined in 'ports'", c.uplink));
  if (c.mac.is_multicast() || c.mac.is_zero())
    d.error(value_line(node, "mac"), fmt::format("channels.mac: {} must be a unicast address", c.mac.to_string()));
  for (const auto& vm : cfg.vms)
    if (vm.ip && *vm.ip == c.ip)
      d.error(value_line(node, "ip"), fmt::format("channels.ip: {} is the IP of VM '{}'", c.ip.to_string(), vm.name));
  for (const auto& n : cfg.networks)
    if (n.gateway && *n.gateway == c.ip)
      d.error(value_line(node, "ip"), fmt::format("channels.ip: {} is the gateway of network '{}'", c.ip.to_string(), n.name));
  std::map<uint32_t, size_t> ids, ips;
  std::map<uint16_t, size_t> vlans;
  std::map<uint64_t, size_t> macs;
  std::map<std::string, size_t> owners;  // VM (host) or agent port (guest)
  for (size_t i = 0; i < c.map.size(); ++i) {
    const auto& b = c.map[i];
    const YAML::Node& n = map_nodes[i];
    auto dup = [&](auto& seen, auto key, const char* field, const std::string& what) {
      auto [it, fresh] = seen.emplace(key, i);
      if (!fresh) d.error(value_line(n, field), fmt::format("channels.map[{}]: {} is already used by channels.map[{}]", i, what, it->second));
    };
    dup(ids, b.id, "id", fmt::format("id {}", b.id));
    dup(vlans, b.vlan, "vlan", fmt::format("VLAN {}", b.vlan));
    dup(macs, b.agent_mac.as_u64(), "agent_mac", fmt::format("agent_mac {}", b.agent_mac.to_string()));
    dup(ips, b.agent_ip.value, "agent_ip", fmt::format("agent_ip {}", b.agent_ip.to_string()));
    for (const auto& net : cfg.networks)
      if (net.vlan == b.vlan)
        d.error(value_line(n, "vlan"), fmt::format("channels.map[{}]: VLAN {} is already used by network '{}'", i, b.vlan, net.name));
    if (b.agent_mac.is_multicast() || b.agent_mac.is_zero() || b.agent_mac == c.mac)
      d.error(value_line(n, "agent_mac"), fmt::format("channels.map[{}]: agent_mac {} must be a unicast address other than the channel's", i, b.agent_mac.to_string()));
    if (b.agent_ip == c.ip)
      d.error(value_line(n, "agent_ip"), fmt::format("channels.map[{}]: agent_ip {} is the channel's own IP", i, b.agent_ip.to_string()));
    for (const auto& vm : cfg.vms)
      if (vm.ip && *vm.ip == b.agent_ip)
        d.error(value_line(n, "agent_ip"), fmt::format("channels.map[{}]: agent_ip {} is the IP of VM '{}'", i, b.agent_ip.to_string(), vm.name));
    if (host) {
      const VmConfig* vm = nullptr;
      for (const auto& v : cfg.vms)
        if (v.name == b.vm) vm = &v;
      if (!b.vm.empty() && !vm) d.error(value_line(n, "vm"), fmt::format("channels.map[{}]: VM '{}' is not defined in 'vms'", i, b.vm));
      if (vm) {
        dup(owners, b.vm, "vm", fmt::format("VM '{}'", b.vm));
        // The checks tell an agent by its port: two channels on one port could pose as each other.
        for (size_t j = 0; j < i; ++j)
          for (const auto& other : cfg.vms)
            if (other.name == c.map[j].vm && other.name != vm->name && other.port == vm->port)
              d.error(value_line(n, "vm"), fmt::format("channels.map[{}]: VM '{}' shares port '{}' with VM '{}' of channels.map[{}]; a port carries one channel", i, b.vm, vm->port, other.name, j));
      }
    } else if (!b.port.empty()) {
      const PortConfig* p = cfg.find_port(b.port);
      if (!p) {
        d.error(value_line(n, "port"), fmt::format("channels.map[{}]: port '{}' is not defined in 'ports'", i, b.port));
      } else if (b.port == c.uplink) {
        d.error(value_line(n, "port"), fmt::format("channels.map[{}]: the agent's port cannot be the uplink", i));
      } else if (!p->access_network.empty() || !p->trunk_networks.empty()) {
        d.error(value_line(n, "port"), fmt::format("channels.map[{}]: port '{}' is in a network; an agent's port carries only its channel (remove its 'network'/'trunk')", i, b.port));
      }
      dup(owners, b.port, "port", fmt::format("port '{}'", b.port));
    }
  }
}

void expand_channels(Config& cfg) {
  ChannelConfig& c = cfg.channel;
  if (!c.enabled()) return;
  const bool host = c.role == ChannelConfig::Role::kHost;
  if (host && c.socket.empty()) c.socket = fmt::format("/run/ivswitch/{}-channel.sock", cfg.sw.instance);
  PortConfig endpoint;
  if (host) {
    endpoint.name = std::string(kChannelPortName);
    endpoint.type = PortType::kChannel;
  }
  for (size_t i = 0; i < c.map.size(); ++i) {
    const auto& b = c.map[i];
    NetworkConfig net;
    net.name = channel_network_name(c, b);
    net.vlan = b.vlan;
    net.channel = static_cast<int16_t>(i);
    cfg.networks.push_back(net);
    if (host) {
      endpoint.trunk_networks.push_back(net.name);
      for (auto& vm : cfg.vms)
        if (vm.name == b.vm)
          for (auto& p : cfg.ports)
            if (p.name == vm.port) p.trunk_networks.push_back(net.name);
    } else {
      for (auto& p : cfg.ports) {
        if (p.name == c.uplink) p.trunk_networks.push_back(net.name);
        if (p.name == b.port) p.access_network = net.name;
      }
    }
  }
  if (host) cfg.ports.push_back(endpoint);
}

}  // namespace ivs::config
