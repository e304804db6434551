#include "portsec/port_security.hpp"

#include "portsec/reasons.hpp"

#include <algorithm>
#include <cstring>

#include "forward/tables.hpp"
#include "packet/headers.hpp"

namespace ivs::portsec {

using namespace ivs::packet;

namespace {

constexpr uint16_t kDhcpServerPort = 67, kDhcpClientPort = 68, kDhcp6ServerPort = 547;
constexpr uint8_t kIcmp6MldReport = 131, kIcmp6RouterAdvert = 134, kIcmp6NeighborSolicit = 135,
                  kIcmp6NeighborAdvert = 136, kIcmp6Redirect = 137, kIcmp6Mld2Report = 143;
constexpr uint8_t kNdOptSourceLinkAddr = 1, kNdOptTargetLinkAddr = 2;
constexpr uint32_t kNdHeaderLen = 24;  // ICMPv6 header (4), flags/reserved (4), target (16)

bool any_contains(const std::vector<IpPrefix>& list, const uint8_t* addr) noexcept {
  for (const auto& p : list)
    if (p.contains(addr)) return true;
  return false;
}

// 16-byte compares as two integer loads each (a library memcmp call per packet otherwise).
bool same16(const uint8_t* a, const uint8_t* b) noexcept {
  uint64_t a0, a1, b0, b1;
  std::memcpy(&a0, a, 8);
  std::memcpy(&a1, a + 8, 8);
  std::memcpy(&b0, b, 8);
  std::memcpy(&b1, b + 8, 8);
  return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

bool is_unspecified(const uint8_t* a) noexcept {
  static constexpr uint8_t kZero[16] = {};
  return same16(a, kZero);
}

// May the VM use this IPv6 address as its own (source, or the target it advertises)?
bool own_ipv6(const VmGuard& vm, const uint8_t* a) noexcept {
  return !vm.restrict_ip || same16(a, vm.link_local.data()) || any_contains(vm.v6, a);
}

bool udp_from(const ParsedPacket& pp, uint16_t port) noexcept {
  return pp.ip_proto == kProtoUdp && pp.l4_offset != 0 && pp.src_port == port;
}

// `ip` in host order (as ParsedPacket keeps it).
bool own_ipv4(const VmGuard& vm, uint32_t ip) noexcept {
  for (const auto& r : vm.v4_ranges)
    if ((ip & r.mask) == r.net) return true;
  return false;
}

std::optional<DropReason> check_ipv4(const VmGuard& vm, const ParsedPacket& pp) noexcept {
  if (udp_from(pp, kDhcpServerPort) && !vm.dhcp_server) return kDrops(Drop::kDhcp);
  if (!vm.restrict_ip) return std::nullopt;
  if (own_ipv4(vm, pp.src_ip)) return std::nullopt;
  if (pp.src_ip == 0 && udp_from(pp, kDhcpClientPort) && pp.dst_port == kDhcpServerPort) return std::nullopt;
  return kDrops(Drop::kIp);
}

std::optional<DropReason> check_arp(const VmGuard& vm, const uint8_t* eth, const ParsedPacket& pp) noexcept {
  // parse() checked the 28 bytes of an Ethernet/IPv4 ARP; the sender MAC is at offset 8.
  if (mac48(eth + pp.l3_offset + 8) != vm.mac_key) return kDrops(Drop::kArp);
  if (!vm.restrict_ip || pp.src_ip == 0) return std::nullopt;
  return own_ipv4(vm, pp.src_ip) ? std::nullopt : std::optional(kDrops(Drop::kArp));
}

// Neighbour solicitations and advertisements: an advertisement only for the VM's own
// address, link-layer address options only with the VM's MAC. `avail` bounds the ICMPv6
// message (the IPv6 payload, within the readable bytes).
std::optional<DropReason> check_nd(const VmGuard& vm, const uint8_t* icmp, uint32_t avail, uint8_t type) noexcept {
  if (avail < kNdHeaderLen) return kDrops(Drop::kNd);
  if (type == kIcmp6NeighborAdvert && !own_ipv6(vm, icmp + 8)) return kDrops(Drop::kNd);
  // Options: (type, length in units of 8 bytes, value); a zero length is malformed
  // (RFC 4861 4.6) and would never advance. Each step moves at least 8 bytes: bounded.
  for (uint32_t off = kNdHeaderLen; off + 2 <= avail;) {
    const uint8_t opt = icmp[off], units = icmp[off + 1];
    if (units == 0 || off + units * 8u > avail) return kDrops(Drop::kNd);
    if ((opt == kNdOptSourceLinkAddr || opt == kNdOptTargetLinkAddr) && mac48(icmp + off + 2) != vm.mac_key)
      return kDrops(Drop::kNd);
    off += units * 8u;
  }
  return std::nullopt;
}

std::optional<DropReason> check_ipv6(const VmGuard& vm, const uint8_t* eth, uint32_t len, const ParsedPacket& pp) noexcept {
  const uint8_t* ip = eth + pp.l3_offset;  // parse() checked the 40-byte header
  const uint8_t* src = ip + 8;
  const bool icmp6 = pp.ip_proto == kProtoIcmpv6 && pp.l4_offset != 0;
  const uint8_t type = icmp6 ? static_cast<uint8_t>(pp.src_port) : 0;
  if (icmp6 && (type == kIcmp6RouterAdvert || type == kIcmp6Redirect) && !vm.router) return kDrops(Drop::kRa);
  if (udp_from(pp, kDhcp6ServerPort) && !vm.dhcp_server) return kDrops(Drop::kDhcp);
  if (icmp6 && (type == kIcmp6NeighborSolicit || type == kIcmp6NeighborAdvert)) {
    // The whole message must be in the first segment: options beyond it would go unread.
    const uint32_t ip_end = pp.l3_offset + kIpv6HeaderLen + load_be16(ip + 4);
    if (ip_end > len) return kDrops(Drop::kNd);
    const uint32_t avail = ip_end > pp.l4_offset ? ip_end - pp.l4_offset : 0;
    if (auto r = check_nd(vm, eth + pp.l4_offset, avail, type)) return r;
  }
  if (is_unspecified(src))  // a host without an address yet: only DAD and MLD reports
    return icmp6 && (type == kIcmp6NeighborSolicit || type == kIcmp6MldReport || type == kIcmp6Mld2Report)
               ? std::nullopt
               : std::optional(kDrops(Drop::kIp));
  return own_ipv6(vm, src) ? std::nullopt : std::optional(kDrops(Drop::kIp));
}

}  // namespace

std::array<uint8_t, 16> eui64_link_local(const MacAddr& mac) {
  const auto& m = mac.bytes;
  return {0xfe, 0x80, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(m[0] ^ 0x02), m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]};
}

PortSecurity PortSecurity::build(const config::Config& cfg, const forward::ForwardingTables& tables, size_t slots) {
  PortSecurity ps;
  ps.ports_.resize(std::max(slots, tables.port_count()));
  for (const auto& p : cfg.ports)
    if (const int slot = tables.port_index(p.name); slot >= 0) {
      ps.ports_[static_cast<size_t>(slot)].port = p.name;
      ps.ports_[static_cast<size_t>(slot)].enabled = p.port_security.value_or(false);
    }
  for (const auto& vm : cfg.vms) {
    const int slot = tables.port_index(vm.port);
    const config::NetworkConfig* net = cfg.find_network(vm.network);
    if (slot < 0 || !net) continue;  // (the validator refused such a file)
    VmGuard g;
    g.name = vm.name;
    g.network = static_cast<int16_t>(net - cfg.networks.data());
    g.mac = vm.mac;
    g.mac_key = mac48(vm.mac.bytes.data());
    g.link_local = eui64_link_local(vm.mac);
    g.router = vm.router;
    g.dhcp_server = vm.dhcp_server;
    if (vm.ip) {
      IpPrefix p;
      p.family = 4;
      p.len = 32;
      store_be32(p.bytes.data(), vm.ip->value);
      g.v4.push_back(p);
    }
    for (const auto& a : vm.allowed_addresses) (a.family == 4 ? g.v4 : g.v6).push_back(a);
    for (const auto& p : g.v4) {
      const uint32_t mask = p.len == 0 ? 0 : ~uint32_t{0} << (32 - p.len);
      g.v4_ranges.push_back({load_be32(p.bytes.data()) & mask, mask});
    }
    g.restrict_ip = !g.v4.empty() || !g.v6.empty();
    ps.ports_[static_cast<size_t>(slot)].vms.push_back(std::move(g));
  }
  return ps;
}

std::optional<DropReason> PortSecurity::check(uint16_t port, int16_t net, const uint8_t* eth, uint32_t len,
                                              const ParsedPacket& pp) const noexcept {
  const VmGuard* vm = nullptr;
  const uint64_t src_mac = mac48(eth + 6);
  for (const auto& v : ports_[port].vms)
    if (v.mac_key == src_mac && v.network == net) {
      vm = &v;
      break;
    }
  if (!vm) return kDrops(Drop::kMac);
  switch (pp.ethertype) {
    case kEtherTypeIpv4: return check_ipv4(*vm, pp);
    case kEtherTypeArp: return check_arp(*vm, eth, pp);
    case kEtherTypeIpv6: return check_ipv6(*vm, eth, len, pp);
    default: return std::nullopt;  // other protocols: the MAC is the VM's
  }
}

}  // namespace ivs::portsec
