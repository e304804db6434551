#pragma once
// What the forwarding tables are built from: the networks, which port carries which, the
// host-VM channels' addresses and the configured VMs (static MAC-table entries and
// neighbours). The config compiles it (config/core_specs.cpp: topology_spec); the core
// never reads the config itself (issue 17: the core is given compiled state).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net_types.hpp"

namespace ivs::forward {

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
  std::vector<Network> networks;
  std::vector<Port> ports;  // in port order (port index = position)
  Channel channel;
  std::vector<Host> hosts;
};

}  // namespace ivs::forward
