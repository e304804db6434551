#pragma once
// Packet parser: one pass over the headers of a frame, every header length-checked
// before it is read. Produces the offsets and fields that forwarding needs now and the
// flow key needs later (addresses, protocol, ports, TCP flags, DSCP).
//
// Thread: pure function, any thread. Never reads past `len`.
#include <cstdint>
#include <optional>

#include "pipeline/drop_reason.hpp"

namespace ivs::packet {

// No default member initialisers: parse() value-initialises it (`out = {}`), and the
// forwarder's per-burst scratch of 64 of them must not be zeroed a second time.
struct ParsedPacket {
  uint16_t vlan_id;       // 0 = untagged (priority tags, VID 0, count as untagged)
  bool has_vlan;          // a 802.1Q tag is present at offset 12
  uint8_t vlan_pcp;
  uint16_t ethertype;     // after the VLAN tag, if any
  uint16_t l3_offset;     // 14 or 18
  uint16_t l4_offset;     // 0 when there is no L4 header (non-first fragment, other proto)
  uint8_t ip_proto;
  uint8_t ttl;            // IPv4 TTL / IPv6 hop limit
  uint8_t dscp;
  uint8_t tcp_flags;
  uint16_t src_port;      // TCP/UDP ports; ICMP: type in src_port, code in dst_port
  uint16_t dst_port;
  uint32_t src_ip;        // IPv4, host order; also ARP sender IP
  uint32_t dst_ip;        // IPv4, host order; also ARP target IP
  uint16_t arp_op;
  bool is_fragment;       // IPv4 MF set or offset != 0
  bool ipv4_has_options;
};

// Returns the drop reason when the frame is malformed, std::nullopt when it parsed.
// Protocols the switch does not look into (other ethertypes) parse fine with l3_offset set.
// `len` bytes at `data` are readable (the first segment); headers must lie within them.
// `frame_len` is the whole frame (all segments), against which IP lengths are checked.
std::optional<DropReason> parse(const uint8_t* data, uint32_t len, uint32_t frame_len, ParsedPacket& out) noexcept;
inline std::optional<DropReason> parse(const uint8_t* data, uint32_t len, ParsedPacket& out) noexcept {
  return parse(data, len, len, out);
}

}  // namespace ivs::packet
