#pragma once
// IPv6 Neighbour Discovery (RFC 4861), what the switch reads of it: neighbour
// solicitations (135) and advertisements (136), checked as a host checks them (7.1.1,
// 7.1.2: hop limit 255, code 0, ICMPv6 checksum, at least 24 octets, every option's
// length non-zero and within the message, no source link-layer option from ::), and
// their link-layer address option (source for a solicitation, target for an
// advertisement). Anything else is kNotNd; a message that fails a check is kMalformed
// (the caller drops it, counted as l3.nd.malformed: nothing is learned or answered from
// it, and it is not forwarded either).
//
// Thread: pure function, any thread. Never reads past `len`.
#include <cstdint>

#include "packet/parse.hpp"

namespace ivs::packet {

inline constexpr uint8_t kIcmpv6EchoRequest = 128, kIcmpv6EchoReply = 129;
inline constexpr uint8_t kNdSolicit = 135, kNdAdvert = 136;
// The neighbour discovery messages (RFC 4861 4): router solicitation 133 .. redirect 137.
inline constexpr uint8_t kNdRouterSolicit = 133, kNdRedirect = 137;
inline constexpr uint32_t kNdMinLen = 24;  // ICMPv6 header (4) + reserved/flags (4) + target (16)

struct NdMessage {
  enum Status : uint8_t { kNotNd, kMalformed, kOk } status = kNotNd;
  uint8_t type = 0;                  // kNdSolicit / kNdAdvert
  uint8_t flags = 0;                 // advertisement: R (0x80), S (0x40), O (0x20)
  const uint8_t* src = nullptr;      // the IPv6 source address (16 bytes)
  const uint8_t* target = nullptr;   // the target address (16 bytes)
  const uint8_t* lladdr = nullptr;   // the link-layer address option's MAC (6 bytes), or nullptr
};

// `frame`: the untagged frame of `len` readable bytes, parsed as `pp` (an IPv6 packet).
NdMessage parse_nd(const uint8_t* frame, uint32_t len, const ParsedPacket& pp) noexcept;

// The ICMPv6 checksum of the `icmp_len` octets at `icmp` under the IPv6 header `ip6`'s
// addresses (RFC 8200 8.1): 0 is stored as is; verify with icmp6_checksum(...) == 0.
uint16_t icmp6_checksum(const uint8_t* ip6, const uint8_t* icmp, uint32_t icmp_len) noexcept;

}  // namespace ivs::packet
