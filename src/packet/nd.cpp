#include "packet/nd.hpp"

#include "packet/checksum.hpp"
#include "packet/headers.hpp"

namespace ivs::packet {

uint16_t icmp6_checksum(const uint8_t* ip6, const uint8_t* icmp, uint32_t icmp_len) noexcept {
  uint8_t pseudo[8] = {};
  store_be32(pseudo, icmp_len);
  pseudo[7] = kProtoIcmpv6;
  const uint32_t sum = csum_partial(ip6 + 8, 32, csum_partial(pseudo, 8));
  return static_cast<uint16_t>(~csum_fold(csum_partial(icmp, icmp_len, sum)));
}

NdMessage parse_nd(const uint8_t* frame, uint32_t len, const ParsedPacket& pp) noexcept {
  NdMessage nd;
  if (pp.ethertype != kEtherTypeIpv6 || pp.ip_proto != kProtoIcmpv6 || !pp.l4_offset || pp.is_fragment) return nd;
  if (pp.src_port != kNdSolicit && pp.src_port != kNdAdvert) return nd;
  nd.type = static_cast<uint8_t>(pp.src_port);
  nd.status = NdMessage::kMalformed;
  const uint8_t* ip = frame + pp.l3_offset;
  // parse() checked the payload against the frame; the message must also be readable here.
  const uint32_t end = pp.l3_offset + kIpv6HeaderLen + load_be16(ip + 4);
  if (end > len || pp.l4_offset + kNdMinLen > end) return nd;
  const uint8_t* icmp = frame + pp.l4_offset;
  const uint32_t icmp_len = end - pp.l4_offset;
  if (ip[7] != 255 || icmp[1] != 0) return nd;  // not from an on-link node (7.1.1), or an unknown code
  if (icmp6_checksum(ip, icmp, icmp_len) != 0) return nd;
  nd.src = ip + 8;
  nd.flags = icmp[4];
  nd.target = icmp + 8;
  if (nd.target[0] == 0xff) return nd;  // 7.1.1: the target is never multicast
  const uint8_t want = nd.type == kNdSolicit ? 1 : 2;  // source / target link-layer address
  for (uint32_t off = kNdMinLen; off < icmp_len;) {
    if (icmp_len - off < 8) return nd;  // an option is at least 8 octets
    const uint32_t olen = icmp[off + 1] * 8u;
    if (olen == 0 || olen > icmp_len - off) return nd;
    if (icmp[off] == want && olen == 8) nd.lladdr = icmp + off + 2;  // (Ethernet: exactly one unit)
    off += olen;
  }
  static constexpr uint8_t kZero[16] = {};
  const bool unspecified = std::memcmp(nd.src, kZero, 16) == 0;
  if (nd.type == kNdSolicit && unspecified && nd.lladdr) return nd;  // 7.1.1: DAD carries no source option
  nd.status = NdMessage::kOk;
  return nd;
}

}  // namespace ivs::packet
