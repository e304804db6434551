#pragma once
// What the forwarding tables are built from: the networks, which port carries which, the
// host-VM channels' addresses and the configured VMs (static MAC-table entries and
// neighbours). The config compiles it (config/core_specs.cpp: topology_spec); the core
// never reads the config itself (issue 17: the core is given compiled state).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net_types.hpp"

namespace ivs::forward {

// Bounds of the static routes (config/route_checks.cpp refuses more): routes, next hops of
// one route (ECMP width: a flow's choice is one byte of its entry), and next hops in all
// (each has a packet counter per datapath thread: pipeline/counters.hpp).
inline constexpr size_t kMaxStaticRoutes = 512;
inline constexpr size_t kMaxEcmpHops = 16;
inline constexpr size_t kMaxNextHops = 64;

struct TopologySpec {
  struct Network {
    std::string name;
    uint16_t vlan = 0;
    std::optional<Ipv4Prefix> subnet;
    std::optional<Ipv4Addr> gateway;  // set: the switch routes for this network
    MacAddr gateway_mac;              // the switch's own MAC on it
    int16_t channel = -1;             // a channel's network: index into channel.map
    std::optional<IpPrefix> subnet6;  // the on-link IPv6 prefix (family 6)
    std::optional<IpPrefix> gateway6;  // set: the switch routes IPv6 for this network
  };
  // A port's membership: exactly one of access_network or trunk_networks is set.
  struct Port {
    std::string name;
    std::string access_network;
    std::vector<std::string> trunk_networks;
    std::string native_network;  // a trunk's untagged network ("" = none)
  };
  // One channel mapping, its ports by name (ForwardingTables resolves them).
  struct ChannelBinding {
    uint32_t id = 0;
    MacAddr agent_mac;
    Ipv4Addr agent_ip;
    uint16_t vlan = 0;
    std::string agent_port;  // where the agent's frames enter
    std::string host_port;   // where frames for the agent enter
  };
  struct Channel {
    bool enabled = false;  // a `channels` section exists
    MacAddr mac;           // the channel's own address
    Ipv4Addr ip;
    uint16_t udp_port = 0;
    uint32_t rate_pps = 0, burst = 0;
    std::vector<ChannelBinding> map;
  };
  // A configured VM: a static MAC-table entry in its network, and a static neighbour
  // when it has an IPv4 address.
  struct Host {
    std::string network, port;
    MacAddr mac;
    std::optional<Ipv4Addr> ip;
    std::vector<IpPrefix> addresses;  // allowed_addresses: its IPv6 ones (/128) are static IPv6 neighbours
  };
  // A static route: `prefix` via one next hop or several (ECMP), each inside a network
  // with a subnet and gateway (config/route_checks.cpp).
  struct Route {
    Ipv4Prefix prefix;
    std::vector<Ipv4Addr> via;
  };
  std::vector<Network> networks;
  std::vector<Route> routes;
  std::vector<Port> ports;  // in port order (port index = position)
  Channel channel;
  std::vector<Host> hosts;
};

}  // namespace ivs::forward
