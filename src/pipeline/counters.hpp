#pragma once
// Counters kept by one datapath thread (single writer, see common/counter.hpp). The
// control thread sums them over threads for ivctl and /metrics.
#include <array>

#include "common/counter.hpp"
#include "common/drop_reason.hpp"

namespace ivs::pipeline {

// Per port, per datapath thread. Drops are counted on the ingress port, except tx.*
// drops, counted on the output port.
struct alignas(64) PortCounters {
  Counter rx_packets, rx_bytes, tx_packets, tx_bytes;
  std::array<Counter, kDropReasonCount> drops;
};

// Things the datapath did that are not drops. Names as shown in /metrics.
#define IVS_EVENTS(X)                                                                   \
  X(kFlooded, "l2.flood.packets", "packets flooded to a network (broadcast, multicast, unknown unicast)") \
  X(kRouted, "l3.route.packets", "packets routed between networks")                     \
  X(kArpReplies, "local.arp.replies", "ARP replies sent for gateway addresses")         \
  X(kArpConsumed, "local.arp.consumed", "ARP replies addressed to the switch, learned from and consumed") \
  X(kEchoReplies, "local.icmp.echo_replies", "ICMP echo replies sent from gateway addresses") \
  X(kArpRequests, "l3.arp.requests_sent", "ARP requests sent to resolve a routed destination") \
  X(kEmcHits, "flow.cache.emc_hits", "packets whose flow was found in the thread's exact-match cache") \
  X(kFlowTableHits, "flow.cache.table_hits", "packets whose flow was found in the flow table (exact-match cache miss)") \
  X(kUpcalls, "flow.upcalls", "first packets of unknown flows sent to the policy thread") \
  X(kRejectReplies, "policy.reject.replies", "TCP RSTs / ICMP unreachables sent for rejected flows") \
  X(kIcmpRelated, "policy.related.packets", "ICMP errors forwarded with the allowed flow they quote (conntrack's related)") \
  X(kLearnQueued, "l2.learn.queued", "MAC/neighbour learn events handed to the control thread") \
  X(kLearnQueueFull, "l2.learn.queue_full", "learn events lost because the queue was full") \
  X(kChainToDevice, "chain.to_device", "packets of pending flows sent, unmodified, to a chain's inline device") \
  X(kChainReturned, "chain.returned", "packets of pending flows the device passed back (seen by the tap sensor)") \
  X(kChainVerified, "chain.verified", "flows verified by the tap sensor: from now on shortcut") \
  X(kChainShortcut, "chain.shortcut", "packets of verified flows routed by the switch itself (MACs rewritten)") \
  X(kTxFragments, "tx.fragments", "IPv4 fragments made for af_packet ports whose mtu the packet exceeded (ports.mtu)") \
  X(kTracePackets, "trace.live.packets", "packets traced by ivctl trace --live as they were forwarded") \
  X(kTraceRecordsLost, "trace.live.records_lost", "live trace records not written: the thread's trace buffer was full") \
  X(kTooBigReplies, "tx.mtu_exceeded.icmp_sent", "ICMP fragmentation needed (IPv4 with DF) / ICMPv6 packet too big sent to the sender of a packet over the output port's mtu") \
  X(kReplyNotUnicast, "reply.suppressed.not_unicast", "no reject reply / ICMP error: the packet came from or went to a multicast, broadcast, unspecified or loopback address, or a link-layer multicast (RFC 1122 3.2.2, RFC 4443 2.4(e))") \
  X(kReplyFragment, "reply.suppressed.fragment", "no reject reply / ICMP error for a non-first fragment (RFC 1122 3.2.2)") \
  X(kReplyAboutError, "reply.suppressed.error", "no reject reply / ICMP error answering an ICMP error, an ICMP redirect or unknown type, or a TCP RST (no storms)") \
  X(kReplyRateLimited, "reply.rate_limited", "reject replies / ICMP errors not sent: over the datapath thread's rate (1000 per second, bursts of 50)") \
  X(kRouted6, "l3.route6.packets", "IPv6 packets routed between networks") \
  X(kNdAdverts, "local.nd.advertisements", "neighbour advertisements sent for gateway6 and the gateway link-local addresses") \
  X(kNdConsumed, "local.nd.consumed", "neighbour advertisements addressed to the switch (learned from, then consumed)") \
  X(kEcho6Replies, "local.icmpv6.echo_replies", "ICMPv6 echo replies sent from gateway6 / gateway link-local addresses") \
  X(kNdSolicits, "l3.nd.solicitations_sent", "neighbour solicitations sent to resolve a routed IPv6 destination") \
  X(kTimeExceededSent, "l3.route.time_exceeded_sent", "ICMP / ICMPv6 time exceeded sent for routed packets whose TTL / hop limit ran out") \
  X(kUnreachableSent, "l3.route6.unreachable_sent", "ICMPv6 destination unreachable (no route) sent for routed IPv6 packets") \
  X(kRoutedStatic, "l3.route.static.packets", "routed packets sent to a static route's next hop (config routes; also counted in l3.route.packets; per next hop: ivswitch_route_packets_total)") \
  X(kEcmpHopSkipped, "l3.route.ecmp.next_hop_skipped", "an ECMP route's next hop passed over because its MAC is unknown (never resolved by ARP, or aged out) or it is down (asked by ARP and silent for 3 s), counted per next hop passed over each time a next hop is chosen: by a flow direction's first routed packet, by a packet whose kept next hop lost its MAC or went down, by every packet without a flow entry; an ARP request is sent for the first unknown one passed over (at most one per millisecond per datapath thread)") \
  X(kNextHopProbes, "l3.route.ecmp.next_hop_probes", "ARP requests sent to an ECMP route's next hop in use that the switch had not heard from for a second (at most one per second per next hop; unanswered for 3 s, it is down)")

enum class Event : uint8_t {
#define IVS_X(id, name, help) id,
  IVS_EVENTS(IVS_X)
#undef IVS_X
  kCount
};
inline constexpr size_t kEventCount = static_cast<size_t>(Event::kCount);
struct EventInfo {
  std::string_view name, help;
};
inline constexpr std::array<EventInfo, kEventCount> kEventInfo{{
#define IVS_X(id, name, help) {name, help},
    IVS_EVENTS(IVS_X)
#undef IVS_X
}};

// Room for the static routes' next hops' packet counters (forward::kMaxNextHops, checked
// in forwarder_l3.cpp); here as a number: ivctl includes this file without the core's.
inline constexpr size_t kNextHopCounters = 64;

struct alignas(64) PmdCounters {
  Counter iterations;
  Counter busy_cycles;   // TSC cycles of iterations that moved packets
  Counter idle_cycles;   // TSC cycles of empty polls (sleep excluded)
  Counter packets;       // packets received and processed
  Counter sleeps;
  Counter sleep_us;
  std::array<Counter, kEventCount> events;
  std::array<Counter, kNextHopCounters> next_hop_packets;  // by forward::ForwardingTables::next_hops() index
  void event(Event e, uint64_t n = 1) noexcept { events[static_cast<size_t>(e)].add(n); }
};

}  // namespace ivs::pipeline
