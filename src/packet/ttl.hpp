#pragma once
// The TTL / hop limit decrement of a packet forwarded between networks (RFC 1812 5.3.1,
// RFC 8200 3), used by routing and by the chain shortcut. IPv4: TTL and protocol share
// one 16-bit word, so the header checksum is updated incrementally from that word
// (RFC 1624 eqn. 3) instead of re-summing 20-60 bytes.
#include <cstdint>

#include "packet/checksum.hpp"
#include "packet/headers.hpp"

namespace ivs::packet {

// l3: the IPv4 or IPv6 header, as ethertype says. The caller has dropped a packet whose
// TTL / hop limit is <= 1 (it is not forwarded), so this never wraps.
inline void decrement_ttl(uint8_t* l3, uint16_t ethertype) noexcept {
  if (ethertype != kEtherTypeIpv4) {
    --l3[7];  // IPv6 hop limit: no header checksum
    return;
  }
  const uint16_t old_w = load_be16(l3 + 8);
  --l3[8];
  store_be16(l3 + 10, csum_update16(load_be16(l3 + 10), old_w, load_be16(l3 + 8)));
}

}  // namespace ivs::packet
