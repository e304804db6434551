#pragma once
// The IPv6 answers the switch makes for its own addresses (gateway6 and the gateway
// link-local address of each IPv6-routed network), and the neighbour solicitations it
// sends to resolve a routed destination. Each rewrites the mbuf it is given in place (the
// solicitation: the dropped packet's mbuf), so nothing is allocated. The IPv4 ones
// (ARP, echo) are the Forwarder's (forwarder_l3.cpp); the ND checks, packet/nd.hpp's.
#include <rte_mbuf.h>

#include "common/net_types.hpp"
#include "packet/nd.hpp"
#include "packet/parse.hpp"

namespace ivs::pipeline {

// The solicitation in `m` (untagged, parsed as `pp`, checked as `nd`) becomes the
// advertisement that `nd.target` is at `mac` (RFC 4861 7.2.4): router and override flags,
// solicited unless the solicitation came from :: (duplicate address detection: then to
// all nodes, ff02::1), the target link-layer address option; from the target address.
// False when it cannot (several segments).
bool make_neighbor_advert(rte_mbuf* m, const packet::ParsedPacket& pp, const packet::NdMessage& nd, const MacAddr& mac) noexcept;

// The ICMPv6 echo request in `m` becomes its reply from the address it was sent to, with
// `mac` as the frame's source (checksum updated: only the type changes under the same
// pseudo-header). False when it cannot (several segments).
bool make_echo6_reply(rte_mbuf* m, const packet::ParsedPacket& pp, const MacAddr& mac) noexcept;

// `m` (any single-segment mbuf of the pool, its content dropped) becomes a neighbour
// solicitation for `target` from `src` at `mac`, to target's solicited-node multicast
// address (RFC 4861 7.2.2). False when it cannot.
bool make_neighbor_solicit(rte_mbuf* m, const uint8_t* src, const MacAddr& mac, const uint8_t* target) noexcept;

}  // namespace ivs::pipeline
