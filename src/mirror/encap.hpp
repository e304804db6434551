#pragma once
// Remote tools: a copy wrapped in the outer headers that carry it to an analysis host.
//  - ERSPAN type II (GRE protocol 0x88BE) and type III (0x22EB), GRE with a sequence
//    number, as Cisco switches and Linux's erspan tunnels send it;
//  - VXLAN (UDP, RFC 7348), the source port from the flow hash so a receiver that spreads
//    by 5-tuple keeps a flow together.
// The outer IPv4 packet is kept within 1500 bytes: a longer copy is truncated (ERSPAN sets
// its T bit; for VXLAN the inner frame is cut, as a snaplen would). Broker thread only.
#include <rte_mbuf.h>

#include <cstdint>

#include "config/model.hpp"

namespace ivs::mirror {

inline constexpr uint32_t kTunnelIpMtu = 1500;

struct EncapMeta {
  uint32_t orig_len;    // the frame as seen at the tap, before snaplen
  uint16_t port;        // tap port index (ERSPAN's index field)
  bool egress;          // seen as sent out of the port (ERSPAN III's D bit)
  uint64_t time_ns;     // when it was seen (ERSPAN III timestamp)
  uint32_t sequence;    // per tool, GRE sequence number
  uint32_t flow_hash;   // VXLAN source port
};

// Prepends the tunnel headers to `m` (which keeps ownership); false when the mbuf has no
// headroom for them (never for copies from the mirror pool).
bool encapsulate(rte_mbuf* m, const config::MirrorTool& tool, const EncapMeta& meta) noexcept;

// The outer headers' length for this tool.
uint32_t encap_overhead(const config::MirrorTool& tool) noexcept;

}  // namespace ivs::mirror
