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
  if ((frag & 0x1fff) != 0) return std::nullopt;  // non-first fragment: no L4 header here
  out.l4_offset = static_cast<uint16_t>(out.l3_offset + hlen);
  // L4 header fields must be in the first segment as well as within the IP payload.
  return parse_l4(ip + hlen, std::min<uint32_t>(total, avail) - hlen, out);
}

std::optional<DropReason> parse_ipv6(const uint8_t* ip, uint32_t avail, uint32_t frame_avail, ParsedPacket& out) noexcept {
  if (avail < kIpv6HeaderLen) return DropReason::kIpv6Truncated;
  if ((ip[0] >> 4) != 6) return DropReason::kIpv6Truncated;
  const uint16_t payload = load_be16(ip + 4);
  if (payload > frame_avail - kIpv6HeaderLen) return DropReason::kIpv6BadLength;
  out.dscp = static_cast<uint8_t>(((ip[0] & 0x0f) << 2) | (ip[1] >> 6));
  out.ip_proto = ip[6];  // extension headers are not walked: their protocol is the key
  out.ttl = ip[7];
  out.l4_offset = static_cast<uint16_t>(out.l3_offset + kIpv6HeaderLen);
  return parse_l4(ip + kIpv6HeaderLen, std::min<uint32_t>(payload, avail - kIpv6HeaderLen), out);
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
