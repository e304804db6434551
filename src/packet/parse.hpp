#pragma once
// Packet parser: one pass over the headers of a frame, every header length-checked
// before it is read. Produces the offsets and fields that forwarding needs now and the
// flow key needs later (addresses, protocol, ports, TCP flags, DSCP).
//
// IPv6 extension headers are walked, as the Linux stack and OVS do, so that the flow is
// keyed by the real transport header: Hop-by-Hop (0, first only), Routing (43),
// Fragment (44, once), Destination Options (60), AH (51, length in 4-octet units + 2),
// Mobility (135), HIP (139), Shim6 (140). ESP (50) and No Next Header (59) end the walk
// and are the protocol (no ports). Limits: at most kMaxIpv6ExtHeaders headers, all of
// them (and the transport header) in the first segment; beyond that:
// parse.ipv6.ext_chain_too_long. A header longer than the payload, a second Fragment
// header or a Hop-by-Hop header not first: parse.ipv6.ext_malformed.
//
// Fragments (IPv4, and IPv6 with a Fragment header that is not atomic): the fragment's
// offset, id and data length are returned; a non-first fragment has no L4 fields
// (l4_offset 0; for IPv6, ip_proto is the Fragment header's Next Header). A first
// fragment without its whole transport header (TCP 20, UDP 8, ICMP 4 bytes; IPv6: the
// whole header chain, RFC 7112) and a TCP fragment at offset 8 (RFC 1858) are dropped as
// frag.ingress.tiny_first. Which flow a later fragment belongs to is not the parser's
// business: flow/frag_table.hpp.
//
// Thread: pure function, any thread. Never reads past `len`.
#include <cstdint>
#include <optional>

#include "common/drop_reason.hpp"

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
  bool is_fragment;       // IPv4 MF set or offset != 0; IPv6 Fragment header with M set or offset != 0
  bool ipv4_has_options;
  bool more_fragments;    // MF (IPv4) / M (IPv6): not the last fragment
  uint16_t frag_offset;   // in 8-octet units; 0 for the first fragment and unfragmented packets
  uint16_t frag_len;      // fragment data octets in this packet (after the IPv4 / IPv6 Fragment header)
  uint32_t frag_id;       // IPv4 identification / IPv6 Fragment header identification
};

// Extension headers walked at most (docs/security.md): a longer chain is dropped.
inline constexpr unsigned kMaxIpv6ExtHeaders = 8;

// Returns the drop reason when the frame is malformed, std::nullopt when it parsed.
// Protocols the switch does not look into (other ethertypes) parse fine with l3_offset set.
// `len` bytes at `data` are readable (the first segment); headers must lie within them.
// `frame_len` is the whole frame (all segments), against which IP lengths are checked.
std::optional<DropReason> parse(const uint8_t* data, uint32_t len, uint32_t frame_len, ParsedPacket& out) noexcept;
inline std::optional<DropReason> parse(const uint8_t* data, uint32_t len, ParsedPacket& out) noexcept {
  return parse(data, len, len, out);
}

}  // namespace ivs::packet
