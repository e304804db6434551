#pragma once
// What src/dpdk is given to open a port: the port's kind and the few settings its device
// needs, compiled by the caller from the config (config/core_specs.hpp), so src/dpdk
// knows no config. Plain data, any thread.
#include <cstdint>
#include <string>

namespace ivs::dpdk {

// The most ports a switch can have (switch.max_ports' bound): every port is an ethdev
// (a vhost-user port's pcapng stand-in too), and DPDK 22.11 as built here has
// RTE_MAX_ETHPORTS = 32 of them (checked in port.cpp).
inline constexpr unsigned kMaxPorts = 32;

// kChannel: the host end of the host-VM channel, a pair of rings the switch makes itself.
enum class PortKind { kVhostUser, kTap, kAfPacket, kAfXdp, kPcap, kRing, kNull, kChannel };

struct PortSpec {
  std::string name;              // in messages
  PortKind kind = PortKind::kNull;
  std::string interface;         // tap, af_packet, af_xdp: the kernel interface
  uint32_t mtu = 1500;           // af_packet: sizes the ring's slots
  std::string rx_file, tx_file;  // pcap
  std::string vhost_path;        // vhost-user: the socket
  bool vhost_client = false;     // vhost-user: the switch connects (else it listens)
};

}  // namespace ivs::dpdk
