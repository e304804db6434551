#include "packet/parse.hpp"

#include <algorithm>

#include "packet/headers.hpp"

namespace ivs::packet {
namespace {

std::optional<DropReason> parse_l4(const uint8_t* l4, uint32_t avail, ParsedPacket& out) noexcept {
  switch (out.ip_proto) {
    case kProtoTcp:
      if (avail < 20) return DropReason::kL4Truncated;
      out.src_port = load_be16(l4);
      out.dst_port = load_be16(l4 + 2);
      out.tcp_flags = l4[13];
      return std::nullopt;
    case kProtoUdp:
      if (avail < 8) return DropReason::kL4Truncated;
      out.src_port = load_be16(l4);
      out.dst_port = load_be16(l4 + 2);
      return std::nullopt;
    case kProtoIcmp:
    case kProtoIcmpv6:
      if (avail < 4) return DropReason::kL4Truncated;
      out.src_port = l4[0];  // type
      out.dst_port = l4[1];  // code
      return std::nullopt;
    default:
      out.l4_offset = 0;  // a protocol we do not parse: no L4 fields
      return std::nullopt;
  }
}

// A first fragment's transport header must be whole in it: a cut one is a tiny fragment.
std::optional<DropReason> parse_l4_of(const uint8_t* l4, uint32_t avail, ParsedPacket& out) noexcept {
  auto r = parse_l4(l4, avail, out);
  if (r == DropReason::kL4Truncated && out.is_fragment) return DropReason::kFragTiny;
  return r;
}

std::optional<DropReason> parse_ipv4(const uint8_t* ip, uint32_t avail, uint32_t frame_avail, ParsedPacket& out) noexcept {
  if (avail < kIpv4MinHeaderLen) return DropReason::kIpv4Truncated;
  const uint8_t version = ip[0] >> 4, ihl = ip[0] & 0x0f;
  if (version != 4 || ihl < 5) return DropReason::kIpv4BadHeader;
  const uint32_t hlen = ihl * 4u;
  if (avail < hlen) return DropReason::kIpv4Truncated;
  const uint16_t total = load_be16(ip + 2);
  // Ethernet pads short frames, so the frame may be longer than total length; never shorter.
  if (total < hlen || total > frame_avail) return DropReason::kIpv4BadLength;
  out.dscp = ip[1] >> 2;
  out.ttl = ip[8];
  out.ip_proto = ip[9];
  out.src_ip = load_be32(ip + 12);
  out.dst_ip = load_be32(ip + 16);
  out.ipv4_has_options = hlen > kIpv4MinHeaderLen;
  const uint16_t frag = load_be16(ip + 6);
  out.is_fragment = (frag & 0x3fff) != 0;
  if (out.is_fragment) {
    out.frag_id = load_be16(ip + 4);
    out.frag_offset = frag & 0x1fff;
    out.more_fragments = (frag & 0x2000) != 0;
    out.frag_len = static_cast<uint16_t>(total - hlen);
    // Every fragment but the last carries a multiple of 8 octets; none ends past 65535.
    if ((out.more_fragments && out.frag_len % 8 != 0) || out.frag_offset * 8u + out.frag_len > 65535u)
      return DropReason::kIpv4BadLength;
    // RFC 1858: a TCP fragment at offset 8 can rewrite the first fragment's flags.
    if (out.frag_offset == 1 && out.ip_proto == kProtoTcp) return DropReason::kFragTiny;
    if (out.frag_offset != 0) return std::nullopt;  // non-first fragment: no L4 header here
  }
  out.l4_offset = static_cast<uint16_t>(out.l3_offset + hlen);
  // L4 header fields must be in the first segment as well as within the IP payload.
  return parse_l4_of(ip + hlen, std::min<uint32_t>(total, avail) - hlen, out);
}

bool is_ipv6_ext(uint8_t next) noexcept {
  switch (next) {
    case 0: case 43: case 44: case 51: case 60: case 135: case 139: case 140: return true;
    default: return false;
  }
}

std::optional<DropReason> parse_ipv6(const uint8_t* ip, uint32_t avail, uint32_t frame_avail, ParsedPacket& out) noexcept {
  if (avail < kIpv6HeaderLen) return DropReason::kIpv6Truncated;
  if ((ip[0] >> 4) != 6) return DropReason::kIpv6BadHeader;
  const uint16_t payload = load_be16(ip + 4);
  if (payload > frame_avail - kIpv6HeaderLen) return DropReason::kIpv6BadLength;
  out.dscp = static_cast<uint8_t>(((ip[0] & 0x0f) << 2) | (ip[1] >> 6));
  out.ttl = ip[7];
  // Walk the extension headers to the upper-layer header. `end` is the end of this
  // packet's IPv6 payload; what is read must also lie in the first segment (`avail`).
  const uint32_t end = kIpv6HeaderLen + payload;
  uint32_t off = kIpv6HeaderLen;
  uint8_t next = ip[6];
  bool fragment_seen = false;
  for (unsigned n = 0; is_ipv6_ext(next); ++n) {
    if (n == kMaxIpv6ExtHeaders) return DropReason::kIpv6ExtChainTooLong;
    if (next == 0 && n != 0) return DropReason::kIpv6ExtMalformed;  // Hop-by-Hop comes first or not at all
    // Every extension header has Next Header and a length (or, Fragment, fixed 8 octets)
    // in its first 8 octets.
    if (off + 8 > end) return out.is_fragment ? DropReason::kFragTiny : DropReason::kIpv6ExtMalformed;
    if (off + 8 > avail) return DropReason::kIpv6ExtChainTooLong;
    const uint8_t* h = ip + off;
    uint32_t hlen;
    if (next == 44) {
      if (fragment_seen) return DropReason::kIpv6ExtMalformed;
      fragment_seen = true;
      hlen = 8;
      const uint16_t fo = load_be16(h + 2);
      if ((fo & 0xfff9) != 0) {  // an atomic fragment (offset 0, M clear) is a whole packet (RFC 6946)
        out.is_fragment = true;
        out.frag_offset = fo >> 3;
        out.more_fragments = (fo & 1) != 0;
        out.frag_id = load_be32(h + 4);
        out.frag_len = static_cast<uint16_t>(end - (off + 8));
        if ((out.more_fragments && out.frag_len % 8 != 0) || out.frag_offset * 8u + out.frag_len > 65535u)
          return DropReason::kIpv6ExtMalformed;
        if (out.frag_offset != 0) {  // non-first fragment: what follows is not a header
          if (out.frag_offset == 1 && h[0] == kProtoTcp) return DropReason::kFragTiny;
          out.ip_proto = h[0];
          return std::nullopt;
        }
      }
    } else {
      hlen = next == 51 ? (h[1] + 2u) * 4u : (h[1] + 1u) * 8u;
      if (off + hlen > end) return out.is_fragment ? DropReason::kFragTiny : DropReason::kIpv6ExtMalformed;
    }
    next = h[0];
    off += hlen;
  }
  out.ip_proto = next;
  if (off > avail) return DropReason::kIpv6ExtChainTooLong;  // the chain filled the first segment
  if (next == 50 || next == 59) return std::nullopt;  // ESP / No Next Header: no ports to read
  out.l4_offset = static_cast<uint16_t>(out.l3_offset + off);
  return parse_l4_of(ip + off, std::min(end, avail) - off, out);
}

std::optional<DropReason> parse_arp(const uint8_t* arp, uint32_t avail, ParsedPacket& out) noexcept {
  if (avail < kArpLen) return DropReason::kArpMalformed;
  // htype 1 (Ethernet), ptype IPv4, hlen 6, plen 4
  if (load_be16(arp) != 1 || load_be16(arp + 2) != kEtherTypeIpv4 || arp[4] != 6 || arp[5] != 4)
    return DropReason::kArpMalformed;
  out.arp_op = load_be16(arp + 6);
  out.src_ip = load_be32(arp + 14);
  out.dst_ip = load_be32(arp + 24);
  return std::nullopt;
}

}  // namespace

std::optional<DropReason> parse(const uint8_t* data, uint32_t len, uint32_t frame_len, ParsedPacket& out) noexcept {
  out = ParsedPacket{};
  if (len < kEthHeaderLen) return DropReason::kRuntFrame;
  uint16_t type = load_be16(data + 12);
  uint32_t off = kEthHeaderLen;
  if (type == kEtherTypeQinQ) return DropReason::kStackedVlan;  // 802.1ad service tag
  if (type == kEtherTypeVlan) {
    if (len < kEthHeaderLen + kVlanTagLen) return DropReason::kVlanTruncated;
    const uint16_t tci = load_be16(data + 14);
    out.has_vlan = true;
    out.vlan_id = tci & 0x0fff;
    out.vlan_pcp = static_cast<uint8_t>(tci >> 13);
    type = load_be16(data + 16);
    off += kVlanTagLen;
    if (type == kEtherTypeVlan || type == kEtherTypeQinQ) return DropReason::kStackedVlan;
  }
  out.ethertype = type;
  out.l3_offset = static_cast<uint16_t>(off);
  const uint32_t avail = len - off;
  const uint32_t frame_avail = (frame_len < len ? len : frame_len) - off;
  switch (type) {
    case kEtherTypeIpv4: return parse_ipv4(data + off, avail, frame_avail, out);
    case kEtherTypeIpv6: return parse_ipv6(data + off, avail, frame_avail, out);
    case kEtherTypeArp: return parse_arp(data + off, avail, out);
    default: return std::nullopt;
  }
}

}  // namespace ivs::packet
