#pragma once
// Every packet the switch does not transmit is dropped with exactly one reason, and every
// reason has a counter per port (ivctl show ports, /metrics
// ivswitch_port_drops_total{reason=...}). Names follow area.stage.reason.
//
// Two kinds of reasons, one numbering:
//   - the core's (parse, l2, l3, local, flow, frag, tx, ...) and those of the jobs not yet
//     moved into a module (policy, chain, QoS): IVS_DROP_REASONS below, DropReason::k...;
//   - a module's, declared in its own folder (channel/reasons.hpp, portsec/reasons.hpp)
//     as a DropReasonBlock named in its registration (src/modules/registry.cpp). The
//     block's reasons are numbered after the core's, in registration order: a module's
//     reason is its block's base + its local index, fixed once, when the table below is
//     built (before any module or datapath thread exists: make_modules builds it).
// The datapath sees only the small integer: per-port drop counters stay a flat array
// indexed by it, no name or lookup per packet. Names and help (ivctl, /metrics, trace,
// docs/counters.md's check) come from drop_reasons(), the whole table.
// Here in src/common, not src/pipeline: the parser (src/packet, below the pipeline) returns
// these reasons, and one numbering for both keeps the parse's return what the drop
// counters index (no mapping per packet).
// To add a reason: a line here (a core reason) or in the job's block; counters, CLI and
// metrics pick it up. docs/counters.md lists every reason (a unit test checks).
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ivs {

#define IVS_DROP_REASONS(X)                                                                  \
  X(kRuntFrame, "parse.eth.runt", "frame shorter than an Ethernet header")                   \
  X(kVlanTruncated, "parse.vlan.truncated", "VLAN tag cut short")                            \
  X(kStackedVlan, "parse.vlan.stacked", "802.1ad or stacked VLAN tags (not supported)")    \
  X(kIpv4Truncated, "parse.ipv4.truncated", "IPv4 header cut short")                         \
  X(kIpv4BadHeader, "parse.ipv4.bad_header", "IPv4 version/IHL invalid")                     \
  X(kIpv4BadLength, "parse.ipv4.bad_length", "IPv4 total length inconsistent with frame")    \
  X(kIpv6Truncated, "parse.ipv6.truncated", "IPv6 header cut short")                         \
  X(kIpv6BadLength, "parse.ipv6.bad_length", "IPv6 payload length exceeds frame")            \
  X(kL4Truncated, "parse.l4.truncated", "TCP/UDP/ICMP header cut short")                     \
  X(kArpMalformed, "parse.arp.malformed", "ARP packet not Ethernet/IPv4 or cut short")       \
  X(kBadSrcMac, "l2.ingress.bad_src_mac", "source MAC is multicast/broadcast or zero")       \
  X(kVlanNotAllowed, "l2.ingress.vlan_not_allowed", "VLAN (or untagged) not allowed on port") \
  X(kSrcMacSpoofed, "l2.ingress.static_mac_elsewhere", "source MAC is a configured VM's MAC on another port") \
  X(kSamePort, "l2.forward.same_port", "destination is on the ingress port")                 \
  X(kFloodEmpty, "l2.flood.no_other_port", "flood with no other port in the network")        \
  X(kTtlExpired, "l3.route.ttl_expired", "routed IPv4 packet with TTL <= 1 (an ICMP time exceeded is sent back)")                 \
  X(kIpv4BadChecksum, "l3.route.bad_checksum", "routed IPv4 packet with a bad header checksum") \
  X(kNoRoute, "l3.route.no_route", "no network contains the destination IP")                 \
  X(kNotRoutable, "l3.route.not_routable", "sent to a gateway MAC but not routable (not IP; no gateway / gateway6 in the network; IPv6 link-local or multicast)") \
  X(kNeighborUnresolved, "l3.route.neighbor_unresolved", "destination MAC unknown; an ARP request was sent instead") \
  X(kPolicyDenied, "policy.denied", "the flow's policy verdict is drop")                     \
  X(kRelatedDenied, "policy.related_denied", "ICMP error quoting a packet of a denied or rejected flow") \
  X(kPolicyRejected, "policy.rejected", "the flow's verdict is reject (a TCP RST / ICMP unreachable was sent back)") \
  X(kChainTtlExpired, "chain.shortcut.ttl_expired", "shortcut packet between networks with TTL/hop limit <= 1") \
  X(kChainNoEntry, "chain.no_flow_entry", "inspected flow without a flow entry (table full), fail-closed") \
  X(kQosMeterDrop, "qos.meter.drop", "a meter's colour action is drop (qos.meters)")        \
  X(kQosQueueFull, "qos.queue.full", "class queue of a scheduled port full: tail drop (counted on the output port)") \
  X(kUpcallRateLimited, "flow.upcall.rate_limited", "new flow over the port's upcall rate (flows.upcall_rate)") \
  X(kUpcallQueueFull, "flow.upcall.queue_full", "the policy thread's queue was full")        \
  X(kLocalUnhandled, "local.unhandled", "addressed to the switch but not ARP or ICMP echo")  \
  X(kTxFull, "tx.queue_full", "output queue full (counted on the output port)")              \
  X(kTxLinkDown, "tx.link_down", "output port has no peer (counted on the output port)")    \
  X(kCopyFailed, "flood.copy_failed", "no mbuf for a flood copy (pool exhausted)")                 \
  X(kVlanPushFailed, "l2.egress.vlan_push_failed", "no room to push the VLAN tag (counted on the output port)") \
  X(kIpv6BadHeader, "parse.ipv6.bad_header", "IPv6 ethertype but IP version not 6")            \
  X(kIpv6ExtChainTooLong, "parse.ipv6.ext_chain_too_long", "more than 8 IPv6 extension headers, or the chain not within the first segment") \
  X(kIpv6ExtMalformed, "parse.ipv6.ext_malformed", "IPv6 extension header beyond the payload, a second Fragment header, Hop-by-Hop not first, or a bad fragment length") \
  X(kFragTiny, "frag.ingress.tiny_first", "first fragment without its whole transport header (IPv6: header chain), or a TCP fragment at offset 8 (RFC 1858)") \
  X(kFragOverlap, "frag.ingress.overlap", "fragment overlapping another of its datagram (the datagram's later fragments are dropped too)") \
  X(kFragNoFirst, "frag.ingress.no_first", "non-first fragment whose first fragment was not seen (reordered, expired, or never sent)") \
  X(kFragTableFull, "frag.ingress.table_full", "first fragment while this thread's fragment table is full, or a datagram in more than 8 separate pieces") \
  X(kRxTruncated, "rx.truncated", "frame cut by the port: larger than the af_packet ring slot its mtu sizes (kernel-reassembled IPv4, jumbo frame)") \
  X(kTxTooBig, "tx.mtu_exceeded", "frame larger than the output port's mtu that cannot be fragmented (IPv6, DF set, not IP; counted on the output port)") \
  X(kHopLimitExpired, "l3.route6.hop_limit_expired", "routed IPv6 packet with hop limit <= 1 (an ICMPv6 time exceeded is sent back)") \
  X(kNoRoute6, "l3.route6.no_route", "no network's subnet6 contains the routed IPv6 destination (an ICMPv6 unreachable is sent back)") \
  X(kNeighbor6Unresolved, "l3.route6.neighbor_unresolved", "IPv6 destination MAC unknown; a neighbour solicitation was sent instead") \
  X(kNdMalformed, "l3.nd.malformed", "neighbour solicitation/advertisement failing RFC 4861's checks (hop limit 255, code, checksum, length, options) in a network with a gateway6") \
  X(kNextHopUnresolved, "l3.route.next_hop_unresolved", "routed by a static route none of whose next hops has a known MAC (or, an ECMP route, is up); an ARP request was sent for one instead (the packet is not queued)")

enum class DropReason : uint8_t {
#define IVS_X(id, name, help) id,
  IVS_DROP_REASONS(IVS_X)
#undef IVS_X
  kCoreCount  // the first module's reason
};

inline constexpr size_t kCoreDropReasonCount = static_cast<size_t>(DropReason::kCoreCount);
// The room for reasons, core and modules: the length of the per-port counter arrays.
// Building the table fails loudly (drop_reasons()) when the registered reasons exceed it.
inline constexpr size_t kDropReasonCount = 96;

struct DropReasonInfo {
  std::string_view name;
  std::string_view help;
};

inline constexpr std::array<DropReasonInfo, kCoreDropReasonCount> kCoreDropReasonInfo{{
#define IVS_X(id, name, help) {name, help},
    IVS_DROP_REASONS(IVS_X)
#undef IVS_X
}};

// A job's drop reasons, declared in its folder:
//   enum class ChannelDrop : uint8_t { kWrongPort, ... };            (local indices 0..n-1)
//   inline constexpr DropReasonInfo kChannelDropInfo[] = {{"channel.ingress.wrong_port", "..."}, ...};
//   inline constinit DropReasons<ChannelDrop> kChannelDrops{kChannelDropInfo};
// and named in its registration. `base` is written once, while drop_reasons() builds the
// table, and only read after: a stage asks for kChannelDrops(ChannelDrop::kWrongPort),
// one add.
struct DropReasonBlock {
  std::span<const DropReasonInfo> reasons;
  uint8_t base = 0;  // its first reason's number (set when the table is built)
  DropReason at(size_t local) const noexcept { return static_cast<DropReason>(base + local); }
  size_t index(size_t local) const noexcept { return base + local; }
  size_t size() const noexcept { return reasons.size(); }
};
template <class Local>
struct DropReasons : DropReasonBlock {
  constexpr explicit DropReasons(std::span<const DropReasonInfo> r) : DropReasonBlock{r, 0} {}
  DropReason operator()(Local l) const noexcept { return at(static_cast<size_t>(l)); }
};

// Every reason: the core's, then each registered module's block in registration order.
class DropReasonTable {
 public:
  size_t size() const noexcept { return n_; }
  // An index beyond the registered reasons (a stale or corrupt record) reads as "".
  const DropReasonInfo& operator[](size_t i) const noexcept { return i < n_ ? info_[i] : none_; }
  // Appends a block and numbers it; false when the room (kDropReasonCount) is exceeded.
  bool add(DropReasonBlock& b) noexcept {
    if (n_ + b.reasons.size() > kDropReasonCount) return false;
    b.base = static_cast<uint8_t>(n_);
    for (const auto& r : b.reasons) info_[n_++] = r;
    return true;
  }
  DropReasonTable() {
    for (const auto& r : kCoreDropReasonInfo) info_[n_++] = r;
  }

 private:
  std::array<DropReasonInfo, kDropReasonCount> info_{};
  size_t n_ = 0;
  DropReasonInfo none_{};
};

namespace detail {
// Adds the registered modules' blocks to the table. Set, before main, by the module
// registry's part of the core (pipeline/module.cpp); nullptr in a program without modules
// (ivctl includes this header for its tables and never reads the table).
inline void (*add_module_drop_reasons)(DropReasonTable&) = nullptr;
}  // namespace detail

// The whole table, built on first use (thread-safe), then fixed.
inline const DropReasonTable& drop_reasons() {
  static const DropReasonTable table = [] {
    DropReasonTable t;
    if (detail::add_module_drop_reasons) detail::add_module_drop_reasons(t);
    return t;
  }();
  return table;
}

inline std::string_view drop_reason_name(DropReason r) { return drop_reasons()[static_cast<size_t>(r)].name; }

}  // namespace ivs
