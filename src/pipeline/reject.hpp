#pragma once
// Answers the switch makes in place of a packet: the mbuf that carried it becomes the
// answer to its sender (no allocation).
//  - Reject (a flow whose verdict is reject): TCP gets a RST (RFC 793 reset generation),
//    other IPv4 an ICMP destination unreachable, code 13 "communication administratively
//    prohibited", quoting the IP header and 8 bytes. IPv6 is dropped without an answer.
//  - Too big (a packet over the output port's mtu that may not be fragmented): IPv4 gets
//    ICMP destination unreachable, code 4 "fragmentation needed" with the next-hop MTU
//    (RFC 1191), IPv6 ICMPv6 packet too big with the MTU (RFC 4443 3.2), quoting as much
//    of the packet as fits in 1280 bytes.
// Whether an answer is due at all (never about an error, a later fragment, or to or from
// a multicast, broadcast or unspecified address) is reply_blocked()'s; the rate, the
// Forwarder's.
#include <rte_mbuf.h>

#include "packet/parse.hpp"

namespace ivs::pipeline {

enum class ReplyBlock : uint8_t {
  kNone,        // an answer may be sent
  kNotUnicast,  // from or to multicast / broadcast / unspecified / loopback, or link-layer multicast; not IP
  kFragment,    // a non-first fragment
  kAboutError,  // an ICMP error, redirect or unknown ICMP type, or a TCP RST
};
// `frame`: the untagged frame, parsed as `pp`. `multicast_dst_ok`: an IPv6 multicast
// destination does not block (RFC 4443 2.4(e.3): packet too big is sent for those).
ReplyBlock reply_blocked(const uint8_t* frame, const packet::ParsedPacket& pp, bool multicast_dst_ok = false) noexcept;

// Rewrites `m` (untagged frame, parsed as `pp`) into the reply; false when no reply is due.
bool make_reject_reply(rte_mbuf* m, const packet::ParsedPacket& pp) noexcept;

// Rewrites `m` into ICMP fragmentation needed (IPv4) / ICMPv6 packet too big (IPv6) with
// `mtu`, sent from `src4` (IPv4, host order; 0: the packet's destination) or, for IPv6,
// from the packet's destination. False when it cannot (not IP, several segments).
bool make_too_big_reply(rte_mbuf* m, const packet::ParsedPacket& pp, uint32_t mtu, uint32_t src4) noexcept;

// Rewrites `m` into ICMP time exceeded in transit (IPv4 type 11, from `src4`, host order)
// / ICMPv6 time exceeded, hop limit exceeded (type 3 code 0, from `src6`, 16 bytes): a
// routed packet whose TTL / hop limit ran out, answered from the gateway address of the
// sender's network. False when it cannot (no such address, not IP, several segments).
bool make_time_exceeded_reply(rte_mbuf* m, const packet::ParsedPacket& pp, uint32_t src4, const uint8_t* src6) noexcept;

// Rewrites the IPv6 packet `m` into ICMPv6 destination unreachable, no route (type 1
// code 0, RFC 4443 3.1), from `src6` (the sender's network's gateway6).
bool make_no_route_reply(rte_mbuf* m, const packet::ParsedPacket& pp, const uint8_t* src6) noexcept;

}  // namespace ivs::pipeline
