#pragma once
// The forwarding tables compiled from the topology (forward/topology.hpp, compiled from
// the configuration by config/core_specs.cpp): which networks exist, which
// port carries which network (tagged or untagged), the gateway addresses the switch
// owns, and the routes between networks (DPDK rte_lpm, next hop = network index).
//
// Immutable once built; shared read-only by every datapath thread. A new config builds
// a new object (later: published by RCU swap).
#include <array>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/net_types.hpp"
#include "forward/topology.hpp"

struct rte_lpm;
struct rte_lpm6;

namespace ivs::forward {

inline constexpr int16_t kNoNetwork = -1;
enum class Membership : uint8_t { kNone, kUntagged, kTagged };

struct NetworkInfo {
  std::string name;
  uint16_t vlan = 0;
  std::optional<Ipv4Prefix> subnet;
  std::optional<Ipv4Addr> gateway;
  MacAddr gateway_mac;
  std::vector<uint16_t> ports;  // member ports, ascending
  int16_t channel = -1;         // a host-VM channel's network: index into channels()
  // The flow key's zone (flow/flow_key.hpp): networks with a subnet or subnet6 share zone 0 (their
  // subnets may not overlap, and the switch routes and shortcuts flows between them);
  // a network without a subnet is an address space of its own (index + 1), so the same
  // 5-tuple in two such networks is two flows with two verdicts.
  uint16_t zone = 0;
  // IPv6 routing: the on-link prefix and the switch's address in it (gateway6 set: the
  // switch routes IPv6 for this network); gateway6_ll, the switch's link-local address
  // here (EUI-64 of gateway_mac), answered for as gateway6 is.
  std::optional<IpPrefix> subnet6;
  std::optional<IpPrefix> gateway6;
  std::array<uint8_t, 16> gateway6_ll{};
};

// One host-VM channel as the datapath checks it (docs/channels.md). The agent side is
// where the agent's frames enter (host: the VM's port; guest: the agent's port); the host
// side is where frames for the agent enter (host: the internal channel port; guest: the
// uplink). Frames between them must be channel messages between these addresses.
struct ChannelRoute {
  uint32_t id = 0;              // metadata id, checked in every message
  MacAddr agent_mac;
  uint32_t agent_ip = 0;        // host order
  uint16_t agent_port = 0, host_port = 0;
  int16_t network = -1;
  uint16_t vlan = 0;
};
struct ChannelAddress {
  bool enabled = false;         // a `channels` section exists
  MacAddr mac;                  // the channel's own address
  uint32_t ip = 0;              // host order
  uint16_t udp_port = 0;
  uint32_t rate_pps = 0, burst = 0;
};

// A static route's next hop: its address, the routed network it lies in (where the switch
// resolves it by ARP, from that network's gateway), and its index among all next hops
// (its packet counters: pipeline/counters.hpp's PmdCounters::next_hop_packets).
struct NextHop {
  Ipv4Addr ip;
  int16_t network = kNoNetwork;
  bool ecmp = false;  // one of an ECMP route's: checked for liveness (pipeline/next_hop_liveness.hpp)
};
// A static route: its next hops are next_hops()[first, first + count); count > 1: ECMP.
struct StaticRoute {
  Ipv4Prefix prefix;
  uint16_t first = 0, count = 0;
};
// What the longest matching prefix of a destination names: a connected network (the
// network's subnet; route < 0), a static route (route >= 0; network: kNoNetwork), or
// nothing (both negative).
struct RouteHit {
  int16_t network = kNoNetwork;
  int32_t route = -1;
  bool found() const noexcept { return network != kNoNetwork || route >= 0; }
};

// ECMP: which of a route's `count` next hops the flow whose symmetric hash is `flow_hash`
// starts from (the high bits of the hash, scaled: an even spread without a division).
inline uint16_t ecmp_pick(uint32_t flow_hash, uint16_t count) noexcept {
  return static_cast<uint16_t>((uint64_t{flow_hash} * count) >> 32);
}

class ForwardingTables {
 public:
  static std::expected<std::unique_ptr<ForwardingTables>, std::string> build(const TopologySpec& topo);
  ~ForwardingTables();

  // The network an ingress frame belongs to: untagged (or VID 0) frames go to the port's
  // access/native network, tagged ones to the network of their VLAN if the port carries it.
  int16_t ingress_network(uint16_t port, bool tagged, uint16_t vid) const noexcept {
    if (!tagged) return untagged_net_[port];
    const int16_t net = net_by_vlan_[vid & 0xfff];
    return net != kNoNetwork && membership(port, net) == Membership::kTagged ? net : kNoNetwork;
  }
  Membership membership(uint16_t port, int16_t net) const noexcept {
    return membership_[static_cast<size_t>(port) * networks_.size() + static_cast<size_t>(net)];
  }
  // Network whose (routed) subnet contains the address, or kNoNetwork (a static route's
  // destination too: the connected networks only).
  int16_t route(uint32_t dst_ip) const noexcept {
    const RouteHit h = lookup(dst_ip);
    return h.network;
  }
  // The longest prefix holding `dst_ip` (host order): a connected network's subnet or a
  // static route (config `routes`; their prefixes lie outside every subnet, so the
  // connected networks come first).
  RouteHit lookup(uint32_t dst_ip) const noexcept;
  const std::vector<StaticRoute>& static_routes() const noexcept { return static_routes_; }
  const std::vector<NextHop>& next_hops() const noexcept { return next_hops_; }
  const StaticRoute& static_route(int32_t r) const noexcept { return static_routes_[static_cast<size_t>(r)]; }
  const NextHop& next_hop(size_t i) const noexcept { return next_hops_[i]; }
  // Calls f(index) for each ECMP next hop at address `ip` (host order): an ARP frame from
  // it is a sign of life. A 64-bit filter first, so other senders cost one test.
  template <typename F>
  void for_each_ecmp_hop_at(uint32_t ip, F&& f) const noexcept {
    if (!(ecmp_hop_bits_ >> agent_ip_bit(ip) & 1)) return;
    for (size_t i = 0; i < next_hops_.size(); ++i)
      if (next_hops_[i].ecmp && next_hops_[i].ip.value == ip) f(i);
  }
  // Network whose (routed) subnet6 contains the IPv6 address `a` (16 bytes), or kNoNetwork.
  int16_t route6(const uint8_t* a) const noexcept;
  // Whether IPv6 address `a`, received in network `net`, is the switch's own: a gateway6
  // of any network, or `net`'s gateway link-local address (packets to the switch itself).
  bool is_gateway6(int16_t net, const uint8_t* a) const noexcept {
    const auto& n = networks_[static_cast<size_t>(net)];
    if (!routes6_) return false;
    if (n.gateway6 && std::memcmp(n.gateway6_ll.data(), a, 16) == 0) return true;
    for (const auto& o : networks_)
      if (o.gateway6 && std::memcmp(o.gateway6->bytes.data(), a, 16) == 0) return true;
    return false;
  }
  bool routes_ipv6() const noexcept { return routes6_; }
  // Network whose gateway IP this is, or kNoNetwork (packets to the switch itself).
  int16_t gateway_network(uint32_t ip) const noexcept {
    for (size_t i = 0; i < networks_.size(); ++i)
      if (networks_[i].gateway && networks_[i].gateway->value == ip) return static_cast<int16_t>(i);
    return kNoNetwork;
  }

  const NetworkInfo& network(int16_t net) const { return networks_[static_cast<size_t>(net)]; }
  const ChannelAddress& channel_address() const { return channel_addr_; }
  const std::vector<ChannelRoute>& channels() const { return channels_; }
  // A channel's VLAN (whoever carries it): frames tagged with it on another port are
  // counted as channel frames on a port the mapping does not bind.
  // An agent's IP (host order): ordinary traffic to it is refused. A 64-bit filter first,
  // so that other packets pay one shift and test.
  bool is_agent_ip(uint32_t ip) const noexcept {
    if (!(agent_ip_bits_ >> agent_ip_bit(ip) & 1)) return false;
    for (const auto& c : channels_)
      if (c.agent_ip == ip) return true;
    return false;
  }
  static unsigned agent_ip_bit(uint32_t ip) noexcept { return (ip * 2654435761u) >> 26; }
  bool is_channel_vlan(uint16_t vid) const noexcept {
    const int16_t net = net_by_vlan_[vid & 0xfff];
    return net != kNoNetwork && networks_[static_cast<size_t>(net)].channel >= 0;
  }
  size_t network_count() const { return networks_.size(); }
  size_t port_count() const { return port_names_.size(); }
  const std::string& port_name(uint16_t port) const { return port_names_[port]; }
  int port_index(std::string_view name) const;

 private:
  ForwardingTables() = default;
  std::vector<NetworkInfo> networks_;
  std::vector<std::string> port_names_;
  std::vector<Membership> membership_;  // [port * networks + net]
  std::vector<int16_t> untagged_net_;   // per port
  std::array<int16_t, 4096> net_by_vlan_{};
  rte_lpm* lpm_ = nullptr;  // next hop: a network index, or kStaticBit | a static route's index
  static constexpr uint32_t kStaticBit = 1u << 23;  // (rte_lpm keeps 24 bits of next hop)
  std::vector<StaticRoute> static_routes_;
  std::vector<NextHop> next_hops_;
  rte_lpm6* lpm6_ = nullptr;  // the routed networks' subnet6 (nullptr: no network routes IPv6)
  bool routes6_ = false;
  ChannelAddress channel_addr_;
  std::vector<ChannelRoute> channels_;
  uint64_t agent_ip_bits_ = 0;
  uint64_t ecmp_hop_bits_ = 0;  // (for_each_ecmp_hop_at's filter)
};

// --- keys and values of the learned tables (FDB, neighbours) ---------------------------

struct FdbKey {  // 8 bytes, no padding: hashed as raw bytes
  uint16_t network;
  uint8_t mac[6];
};
static_assert(sizeof(FdbKey) == 8);

struct FdbEntry {
  uint16_t port = 0;
  bool is_static = false;
  static FdbEntry decode(uint64_t v) { return FdbEntry{static_cast<uint16_t>(v & 0xffff), (v >> 16 & 1) != 0}; }
  uint64_t encode() const { return uint64_t{port} | (uint64_t{is_static} << 16); }
};

struct NeighborEntry {  // keyed by IPv4 address (host order), or IPv6 address (16 bytes, network order)
  MacAddr mac;
  bool is_static = false;
  static NeighborEntry decode(uint64_t v) {
    NeighborEntry e;
    for (int i = 5; i >= 0; --i, v >>= 8) e.mac.bytes[i] = static_cast<uint8_t>(v);
    e.is_static = (v & 1) != 0;
    return e;
  }
  uint64_t encode() const { return mac.as_u64() | (uint64_t{is_static} << 48); }
};

// What a datapath thread tells the control thread to learn (fixed size for rte_ring).
// kNeighbor6: an IPv6 neighbour (ip6) learned from neighbour discovery.
struct LearnEvent {
  enum Kind : uint8_t { kMac = 1, kNeighbor = 2, kNeighbor6 = 3 };
  uint8_t kind;
  uint8_t mac[6];
  uint8_t pad;
  uint16_t network;
  uint16_t port;
  uint32_t ip;
  uint8_t ip6[16];
};
static_assert(sizeof(LearnEvent) == 32);

class ConcurrentTable;
// The configured VMs as static MAC-table entries and neighbours (never aged or moved by
// traffic; a reload reconciles them: forward/static_entries.hpp).
void install_static_entries(const TopologySpec& topo, const ForwardingTables& tables, ConcurrentTable& fdb,
                            ConcurrentTable& neighbors);

}  // namespace ivs::forward
