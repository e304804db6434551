#pragma once
// The Ethernet frame at the start of an mbuf's first segment, where every header offset
// (ParsedPacket::l3_offset, l4_offset) counts from. One definition for every stage.
#include <rte_mbuf.h>

#include <cstdint>

namespace ivs::packet {

inline uint8_t* eth_of(rte_mbuf* m) noexcept { return rte_pktmbuf_mtod(m, uint8_t*); }
inline const uint8_t* eth_of(const rte_mbuf* m) noexcept { return rte_pktmbuf_mtod(m, const uint8_t*); }

}  // namespace ivs::packet
