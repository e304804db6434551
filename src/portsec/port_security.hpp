#pragma once
// Port security, as OpenStack/OVN users know it: a VM's port accepts only what that VM
// may legitimately send. Checked at ingress once the frame's network is known and before
// MAC learning, so a spoofed frame teaches the switch nothing and creates no flow.
//
//   source MAC   one of the port's VMs on that network           portsec.mac_not_allowed
//   IPv4 source  the VM's `ip` or an `allowed_addresses` entry;  portsec.ip_not_allowed
//                0.0.0.0 only for a DHCP client (UDP 68 -> 67)
//   ARP          sender MAC = the frame's source MAC; sender IP  portsec.arp_spoofed
//                one of the VM's, or 0.0.0.0 (an RFC 5227 probe)
//   IPv6 source  an allowed address, the link-local address      portsec.ip_not_allowed
//                derived from the VM's MAC (EUI-64), or :: for
//                duplicate address detection and MLD reports
//   ND           advertisements only for the VM's own addresses; portsec.nd_spoofed
//                link-layer address options only with its MAC
//   RA guard     router advertisements / redirects only from a   portsec.ra_guard
//                VM with `router: true`
//   DHCP guard   DHCP (UDP from 67) / DHCPv6 (UDP from 547)      portsec.dhcp_guard
//                server messages only from `dhcp_server: true`
//
// A VM that lists no address at all (no `ip`, no `allowed_addresses`) is held to its MAC
// and the guards only: the switch cannot know what it may use. Frames on a host-VM
// channel's VLAN are admitted by the channel's own checks instead (docs/channels.md).
//
// Thread: built by the control thread, then read-only; check() runs on datapath threads
// (no allocation, no lock; every header it reads is length-checked).
#include <array>
#include <cstring>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net_types.hpp"
#include "config/model.hpp"
#include "packet/parse.hpp"
#include "common/drop_reason.hpp"

namespace ivs::forward {
class ForwardingTables;
}
namespace ivs::portsec {

// What one VM may send from its port.
struct VmGuard {
  std::string name;
  int16_t network = -1;                  // index into config.networks
  MacAddr mac;
  bool restrict_ip = false;              // the VM lists addresses: sources are checked
  std::vector<IpPrefix> v4, v6;          // `ip` and `allowed_addresses`, by family
  std::array<uint8_t, 16> link_local{};  // fe80::/64 + EUI-64 of `mac`
  bool router = false, dhcp_server = false;
  // The same, compiled for the per-packet checks (build() fills them): the MAC as the
  // integer mac48() reads from a frame, and each IPv4 entry as a host-order (net, mask)
  // pair, so that a frame is checked with integer compares rather than byte-wise prefix
  // matching and memcmp calls (port security was ~12% of a cached packet's instructions).
  uint64_t mac_key = 0;
  struct V4Range {
    uint32_t net = 0, mask = 0;
  };
  std::vector<V4Range> v4_ranges;
};

// The 6 bytes at `p` (a MAC address) as an integer, for equality tests only.
inline uint64_t mac48(const uint8_t* p) noexcept {
  uint32_t hi;
  uint16_t lo;
  std::memcpy(&hi, p, 4);
  std::memcpy(&lo, p + 4, 2);
  return (static_cast<uint64_t>(lo) << 32) | hi;
}

struct PortGuard {
  std::string port;  // the port in the slot ("": a free slot)
  bool enabled = false;
  std::vector<VmGuard> vms;              // usually one
};

class PortSecurity {
 public:
  PortSecurity() = default;
  // Per slot of the port table (a port's index in `tables`), `slots` of them (the
  // table's capacity, at least the tables' port count): a port added into a free slot
  // later finds its entry. A port of `cfg` the tables lack is left out.
  static PortSecurity build(const config::Config& cfg, const forward::ForwardingTables& tables, size_t slots);

  bool enabled(uint16_t port) const noexcept { return port < ports_.size() && ports_[port].enabled; }
  const PortGuard& port(uint16_t port) const { return ports_[port]; }
  size_t port_count() const { return ports_.size(); }  // the slots

  // The reason to drop a frame received on a secured `port` in network `net`, or nullopt
  // to admit it. `eth` points at the Ethernet header (VLAN tag already removed, `pp`
  // parsed and adjusted accordingly), `len` bytes readable.
  std::optional<DropReason> check(uint16_t port, int16_t net, const uint8_t* eth, uint32_t len,
                                  const packet::ParsedPacket& pp) const noexcept;

 private:
  std::vector<PortGuard> ports_;
};

// The IPv6 link-local address a host derives from its MAC (RFC 4291 appendix A).
std::array<uint8_t, 16> eui64_link_local(const MacAddr& mac);

}  // namespace ivs::portsec
