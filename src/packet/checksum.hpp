#pragma once
// Internet checksum helpers. Incremental update follows RFC 1624 (eqn. 3):
//   HC' = ~(~HC + ~m + m')
// so a router changing one 16-bit word (TTL+protocol) does not re-sum the header.
#include <cstdint>

#include "packet/headers.hpp"

namespace ivs::packet {

inline uint16_t csum_fold(uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// One's-complement sum of `len` bytes (big-endian words), not inverted.
inline uint32_t csum_partial(const uint8_t* p, uint32_t len, uint32_t sum = 0) noexcept {
  for (; len > 1; p += 2, len -= 2) sum += load_be16(p);
  if (len) sum += static_cast<uint32_t>(p[0]) << 8;
  return sum;
}

// The checksum to store in a header whose checksum field is zero.
inline uint16_t csum(const uint8_t* p, uint32_t len) noexcept {
  return static_cast<uint16_t>(~csum_fold(csum_partial(p, len)));
}

// Header checksum verifies when the one's-complement sum including the field is 0xffff.
inline bool csum_ok(const uint8_t* p, uint32_t len) noexcept { return csum_fold(csum_partial(p, len)) == 0xffff; }

// Incremental update of a stored checksum when a 16-bit word changes from old_w to new_w.
inline uint16_t csum_update16(uint16_t stored, uint16_t old_w, uint16_t new_w) noexcept {
  uint32_t sum = static_cast<uint16_t>(~stored);
  sum += static_cast<uint16_t>(~old_w);
  sum += new_w;
  return static_cast<uint16_t>(~csum_fold(sum));
}

}  // namespace ivs::packet
