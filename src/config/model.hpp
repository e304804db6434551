#pragma once
// The configuration after it has been read and validated: plain immutable data.
// Produced only by config::load_file / load_string (loader.hpp); everything in it has
// been checked (types, ranges, references, duplicates, overlaps), so consumers do not
// re-validate. docs/config.md documents every field.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net_types.hpp"

namespace ivs::config {

enum class PortType { kVhostUser, kTap, kAfPacket, kAfXdp, kPcap, kRing, kNull };
enum class HugepageMode { kAuto, kOn, kOff };

std::string_view port_type_name(PortType t);

struct SwitchConfig {
  std::string instance = "ivswitch";    // names the DPDK file prefix and default socket
  std::vector<unsigned> cores;          // datapath CPUs; empty = one PMD on the last allowed CPU
  std::string control_socket;           // default /run/ivswitch/<instance>.sock
  std::string metrics_address = "127.0.0.1:9464";  // host:port; "" disables /metrics
  HugepageMode hugepages = HugepageMode::kAuto;
  uint32_t fdb_size = 65536;
  uint32_t fdb_aging_seconds = 300;
  uint32_t neighbor_size = 16384;
  uint32_t idle_sleep_max_us = 500;     // longest nap of an idle datapath thread
  std::string log_level = "info";
};

struct PortConfig {
  std::string name;
  PortType type = PortType::kNull;
  int line = 0;                         // where the port is declared (for runtime errors)
  // type-specific
  std::string path;                     // vhost-user socket
  bool vhost_client = false;            // vhost-user: mode client (switch connects)
  std::string interface;                // tap / af_packet / af_xdp
  std::string rx_file, tx_file;         // pcap
  // membership: exactly one of access_network or trunk_networks is set
  std::string access_network;
  std::vector<std::string> trunk_networks;
  std::string native_network;           // trunk: the network carried untagged ("" = none)
  std::optional<unsigned> core;         // which datapath CPU polls this port
};

struct NetworkConfig {
  std::string name;
  uint16_t vlan = 0;
  std::optional<Ipv4Prefix> subnet;
  std::optional<Ipv4Addr> gateway;      // set => the switch routes for this network
  MacAddr gateway_mac;                  // the switch's own MAC on this network
};

struct VmConfig {
  std::string name;
  std::string port;
  std::string network;                  // resolved: the port's access network when omitted
  MacAddr mac;
  std::optional<Ipv4Addr> ip;
};

struct Config {
  std::string file;
  SwitchConfig sw;
  std::vector<PortConfig> ports;
  std::vector<NetworkConfig> networks;
  std::vector<VmConfig> vms;

  const NetworkConfig* find_network(std::string_view name) const;
  const PortConfig* find_port(std::string_view name) const;
};

// The default gateway MAC of a network: locally administered 02:49:56 ("IV"), then the VLAN.
MacAddr default_gateway_mac(uint16_t vlan);

}  // namespace ivs::config
