#pragma once
// Reader of the `channels` section (docs/channels.md, docs/config.md), its cross-checks,
// and the expansion of each channel into what the rest of the switch already knows: a
// network of its own (VLAN = the channel's), carried tagged by the VM's port (host) or
// the uplink (guest), plus the host role's internal `channel` port. After expansion,
// policy, QoS and mirrors see channel traffic as traffic of the network `channel-<vm>`
// (host) or `channel-<id>` (guest).
#include <yaml-cpp/yaml.h>

#include "config/model.hpp"
#include "config/reader.hpp"

namespace ivs::config {

void read_channels(const YAML::Node& node, ChannelConfig& out, std::vector<YAML::Node>& map_nodes, Diagnostics& d);
void check_channels(const Config& cfg, const YAML::Node& node, const std::vector<YAML::Node>& map_nodes, Diagnostics& d);
// Adds the channel networks, memberships and the internal port. Only on a valid config.
void expand_channels(Config& cfg);
// The channel network's name for map entry `b`.
std::string channel_network_name(const ChannelConfig& c, const ChannelBinding& b);
// True when a port without network is fine: the guest role's uplink or an agent port.
bool is_channel_only_port(const ChannelConfig& c, const std::string& port);

}  // namespace ivs::config
