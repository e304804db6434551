#include "pipeline/nd_reply.hpp"

#include <cstring>

#include "packet/checksum.hpp"
#include "packet/headers.hpp"

namespace ivs::pipeline {

using namespace ivs::packet;

namespace {
constexpr uint32_t kNdLen = 32;  // NS / NA with one link-layer address option: 24 + 8

// The frame is exactly `len` bytes (at least 60, zero padded), single segment.
bool frame_length(rte_mbuf* m, uint32_t len) {
  const uint32_t want = len < 60 ? 60 : len;
  if (want > m->data_len) {
    if (!rte_pktmbuf_append(m, static_cast<uint16_t>(want - m->data_len))) return false;
  } else if (want < m->data_len) {
    rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - want));
  }
  if (want > len) std::memset(rte_pktmbuf_mtod_offset(m, uint8_t*, len), 0, want - len);
  return true;
}

// An IPv6 header with ICMPv6 payload of `plen` octets, hop limit `hops`, then the ND
// message body: type, flags, target and a link-layer option (type `opt`) with `mac`.
void write_nd(uint8_t* ip, const uint8_t* src, const uint8_t* dst, uint8_t type, uint8_t flags, const uint8_t* target,
              uint8_t opt, const MacAddr& mac) {
  std::memset(ip, 0, kIpv6HeaderLen + kNdLen);
  ip[0] = 0x60;
  store_be16(ip + 4, kNdLen);
  ip[6] = kProtoIcmpv6;
  ip[7] = 255;  // RFC 4861: receivers drop ND with any other hop limit
  std::memcpy(ip + 8, src, 16);
  std::memcpy(ip + 24, dst, 16);
  uint8_t* icmp = ip + kIpv6HeaderLen;
  icmp[0] = type;
  icmp[4] = flags;
  std::memcpy(icmp + 8, target, 16);
  icmp[24] = opt;
  icmp[25] = 1;  // 8 octets
  mac.store(icmp + 26);
  store_be16(icmp + 2, icmp6_checksum(ip, icmp, kNdLen));
}
}  // namespace

bool make_neighbor_advert(rte_mbuf* m, const ParsedPacket& pp, const NdMessage& nd, const MacAddr& mac) noexcept {
  if (m->nb_segs != 1 || nd.status != NdMessage::kOk || nd.type != kNdSolicit) return false;
  uint8_t target[16], to[16];
  std::memcpy(target, nd.target, 16);
  static constexpr uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const bool dad = ipv6_is_unspecified(nd.src);
  std::memcpy(to, dad ? kAllNodes : nd.src, 16);
  if (!frame_length(m, pp.l3_offset + kIpv6HeaderLen + kNdLen)) return false;
  uint8_t* e = rte_pktmbuf_mtod(m, uint8_t*);
  if (dad) {
    static constexpr uint8_t kAllNodesMac[6] = {0x33, 0x33, 0, 0, 0, 1};
    std::memcpy(e, kAllNodesMac, 6);
  } else {
    std::memcpy(e, e + 6, 6);  // back to the sender's MAC
  }
  mac.store(e + 6);
  const uint8_t flags = static_cast<uint8_t>(0x80 | (dad ? 0 : 0x40) | 0x20);  // Router, Solicited, Override
  write_nd(e + pp.l3_offset, target, to, kNdAdvert, flags, target, 2, mac);
  return true;
}

bool make_echo6_reply(rte_mbuf* m, const ParsedPacket& pp, const MacAddr& mac) noexcept {
  if (m->nb_segs != 1 || !pp.l4_offset) return false;
  uint8_t* e = rte_pktmbuf_mtod(m, uint8_t*);
  uint8_t* ip = e + pp.l3_offset;
  uint8_t* icmp = e + pp.l4_offset;
  std::memcpy(e, e + 6, 6);
  mac.store(e + 6);
  uint8_t tmp[16];
  std::memcpy(tmp, ip + 8, 16);
  std::memcpy(ip + 8, ip + 24, 16);
  std::memcpy(ip + 24, tmp, 16);
  ip[7] = 64;
  const uint16_t old_w = load_be16(icmp);
  icmp[0] = kIcmpv6EchoReply;
  store_be16(icmp + 2, csum_update16(load_be16(icmp + 2), old_w, load_be16(icmp)));
  return true;
}

bool make_neighbor_solicit(rte_mbuf* m, const uint8_t* src, const MacAddr& mac, const uint8_t* target) noexcept {
  if (m->nb_segs != 1) return false;
  uint8_t t[16];
  std::memcpy(t, target, 16);  // (it may lie in the packet this mbuf carried)
  rte_pktmbuf_reset(m);
  uint8_t* e = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(kEthHeaderLen + kIpv6HeaderLen + kNdLen)));
  if (!e) return false;
  // The solicited-node multicast address ff02::1:ffXX:XXXX and its MAC 33:33:ff:XX:XX:XX.
  uint8_t dst[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13], t[14], t[15]};
  const uint8_t dmac[6] = {0x33, 0x33, 0xff, t[13], t[14], t[15]};
  std::memcpy(e, dmac, 6);
  mac.store(e + 6);
  store_be16(e + 12, kEtherTypeIpv6);
  write_nd(e + kEthHeaderLen, src, dst, kNdSolicit, 0, t, 1, mac);
  return true;
}

}  // namespace ivs::pipeline
