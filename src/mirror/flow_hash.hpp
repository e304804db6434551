#pragma once
// A symmetric flow hash for load-balanced tool groups: both directions of a flow (A->B and
// B->A) hash alike, so one tool instance sees the whole conversation, as an IDS needs.
// IPv4/IPv6 addresses and TCP/UDP ports when the copy holds them (behind a VLAN tag too),
// otherwise the MAC addresses. Broker thread; any frame, sliced or malformed.
#include <rte_mbuf.h>

#include <cstdint>

namespace ivs::mirror {

uint32_t symmetric_flow_hash(const rte_mbuf* m, uint32_t orig_len) noexcept;

}  // namespace ivs::mirror
