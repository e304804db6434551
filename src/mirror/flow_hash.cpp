#include "mirror/flow_hash.hpp"

#include <rte_hash_crc.h>

#include <algorithm>
#include <cstring>

#include "packet/parse.hpp"

namespace ivs::mirror {

namespace {
// The two endpoints in a fixed order (the smaller first), then hashed together.
// Copied to aligned buffers first: rte_hash_crc loads 4 and 8 bytes at a time, and packet
// fields sit at any alignment.
uint32_t hash_pair(const uint8_t* a, const uint8_t* b, uint32_t len, uint32_t seed) noexcept {
  if (std::memcmp(a, b, len) > 0) std::swap(a, b);
  alignas(8) uint8_t lo[16], hi[16];
  std::memcpy(lo, a, len);
  std::memcpy(hi, b, len);
  return rte_hash_crc(hi, len, rte_hash_crc(lo, len, seed));
}
}  // namespace

uint32_t symmetric_flow_hash(const rte_mbuf* m, uint32_t orig_len) noexcept {
  const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = m->data_len;
  if (len < 14) return 0;
  packet::ParsedPacket pp;
  const bool parsed = !packet::parse(d, len, std::max(orig_len, len), pp);
  if (parsed && pp.ethertype == 0x0800 && pp.l3_offset + 20u <= len) {
    uint32_t h = hash_pair(d + pp.l3_offset + 12, d + pp.l3_offset + 16, 4, pp.ip_proto);
    if (pp.l4_offset && (pp.ip_proto == 6 || pp.ip_proto == 17) && pp.l4_offset + 4u <= len)
      h = hash_pair(d + pp.l4_offset, d + pp.l4_offset + 2, 2, h);
    return h;
  }
  const uint16_t l3 = parsed ? pp.l3_offset : 14;
  const uint16_t et = parsed ? pp.ethertype : 0;
  if (et == 0x86DD && l3 + 40u <= len) {
    // Parsed: the transport protocol and header behind any extension headers; a frame
    // that did not parse is hashed by its addresses and first Next Header only.
    const uint8_t next = parsed ? pp.ip_proto : d[l3 + 6];
    uint32_t h = hash_pair(d + l3 + 8, d + l3 + 24, 16, next);
    if (parsed && pp.l4_offset && (next == 6 || next == 17) && pp.l4_offset + 4u <= len)
      h = hash_pair(d + pp.l4_offset, d + pp.l4_offset + 2, 2, h);
    return h;
  }
  return hash_pair(d, d + 6, 6, et);
}

}  // namespace ivs::mirror
