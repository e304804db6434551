#pragma once
// Rejecting a packet in place: the mbuf that carried it becomes the answer to its sender
// (no allocation). TCP gets a RST (RFC 793 reset generation), other IPv4 an ICMP
// destination unreachable, code 13 "communication administratively prohibited", quoting
// the IP header and 8 bytes. Never answers a RST, an ICMP error, or IPv6 (dropped).
#include <rte_mbuf.h>

#include "packet/parse.hpp"

namespace ivs::pipeline {

// Rewrites `m` (untagged frame, parsed as `pp`) into the reply; false when no reply is due.
bool make_reject_reply(rte_mbuf* m, const packet::ParsedPacket& pp) noexcept;

}  // namespace ivs::pipeline
