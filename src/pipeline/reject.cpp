#include "pipeline/reject.hpp"

#include <algorithm>
#include <cstring>

#include "packet/checksum.hpp"
#include "packet/headers.hpp"

namespace ivs::pipeline {

using namespace ivs::packet;

namespace {
constexpr uint32_t kMinFrame = 60;

void swap_macs(uint8_t* e) {
  uint8_t tmp[6];
  std::memcpy(tmp, e, 6);
  std::memcpy(e, e + 6, 6);
  std::memcpy(e + 6, tmp, 6);
}

void write_ipv4(uint8_t* ip, uint32_t src, uint32_t dst, uint8_t proto, uint16_t total) {
  std::memset(ip, 0, 20);
  ip[0] = 0x45;
  store_be16(ip + 2, total);
  ip[8] = 64;
  ip[9] = proto;
  store_be32(ip + 12, src);
  store_be32(ip + 16, dst);
  store_be16(ip + 10, csum(ip, 20));
}

// Set the frame to `len` bytes (zero padded to the Ethernet minimum). Single segment only.
bool set_length(rte_mbuf* m, uint32_t len) {
  const uint32_t want = len < kMinFrame ? kMinFrame : len;
  if (want > m->data_len) {
    if (!rte_pktmbuf_append(m, static_cast<uint16_t>(want - m->data_len))) return false;
  } else if (want < m->data_len) {
    rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - want));
  }
  if (want > len) std::memset(rte_pktmbuf_mtod_offset(m, uint8_t*, len), 0, want - len);
  return true;
}

// ICMP error `type`/`code` with `rest` (bytes 4-7 of the ICMP header) answering the IPv4
// packet in `m`, from `src`, quoting its IP header and 8 bytes of its payload (RFC 792).
bool icmp4_error(rte_mbuf* m, const ParsedPacket& pp, uint8_t type, uint8_t code, uint32_t rest, uint32_t src) {
  uint8_t* e = rte_pktmbuf_mtod(m, uint8_t*);
  uint8_t* ip = e + pp.l3_offset;
  const uint32_t ihl = (ip[0] & 0x0f) * 4u;
  const uint32_t total = load_be16(ip + 2);
  uint8_t quote[60 + 8];
  const uint32_t qlen = std::min<uint32_t>(ihl + 8, std::min<uint32_t>(total, m->data_len - pp.l3_offset));
  std::memcpy(quote, ip, qlen);
  swap_macs(e);
  write_ipv4(ip, src, pp.src_ip, kProtoIcmp, static_cast<uint16_t>(20 + 8 + qlen));
  uint8_t* icmp = ip + 20;
  if (!set_length(m, pp.l3_offset + 28 + qlen)) return false;
  std::memset(icmp, 0, 8);
  icmp[0] = type;
  icmp[1] = code;
  store_be32(icmp + 4, rest);
  std::memcpy(icmp + 8, quote, qlen);
  store_be16(icmp + 2, csum(icmp, 8 + qlen));
  return true;
}

// ICMPv6 error `type`/`code` with `rest` answering the IPv6 packet in `m`, from `src6`
// (16 bytes; nullptr: the packet's destination), quoting as much of it as fits in the
// minimum MTU (RFC 4443 2.4(c)).
bool icmp6_error(rte_mbuf* m, const ParsedPacket& pp, uint8_t type, uint8_t code, uint32_t rest, const uint8_t* src6 = nullptr) {
  constexpr uint32_t kMinMtu = 1280, kHdrs = 40 + 8;
  uint8_t* e = rte_pktmbuf_mtod(m, uint8_t*);
  uint8_t* ip = e + pp.l3_offset;
  if (m->data_len < pp.l3_offset + 40u) return false;
  const uint32_t total = 40u + load_be16(ip + 4);
  uint32_t qlen = std::min<uint32_t>(total, kMinMtu - kHdrs);
  // The quote moves 48 bytes up: it must stay within the mbuf's buffer (the frame and its
  // tailroom: a small packet is quoted whole; a packet over an mtu of 1280 or more is
  // longer than its quote plus the headers).
  const uint32_t have = m->data_len - pp.l3_offset;
  const uint32_t room = have + rte_pktmbuf_tailroom(m);
  if (room < kHdrs + 8) return false;
  qlen = std::min({qlen, room - kHdrs, have});
  uint8_t src[16], dst[16];
  std::memcpy(src, src6 ? src6 : ip + 24, 16);  // (by default) the reply comes from the packet's destination
  std::memcpy(dst, ip + 8, 16);   // to its source
  std::memmove(ip + kHdrs, ip, qlen);
  swap_macs(e);
  const uint32_t plen = 8 + qlen;
  std::memset(ip, 0, 8);
  ip[0] = 0x60;
  store_be16(ip + 4, static_cast<uint16_t>(plen));
  ip[6] = kProtoIcmpv6;
  ip[7] = 64;
  std::memcpy(ip + 8, src, 16);
  std::memcpy(ip + 24, dst, 16);
  uint8_t* icmp = ip + 40;
  icmp[0] = type;
  icmp[1] = code;
  store_be16(icmp + 2, 0);
  store_be32(icmp + 4, rest);
  // Checksum over the pseudo-header (addresses, length, next header) and the message.
  uint8_t pseudo[8] = {};
  store_be32(pseudo, plen);
  pseudo[7] = kProtoIcmpv6;
  uint32_t sum = csum_partial(ip + 8, 32, csum_partial(pseudo, 8));
  store_be16(icmp + 2, static_cast<uint16_t>(~csum_fold(csum_partial(icmp, plen, sum))));
  return set_length(m, pp.l3_offset + 40 + plen);
}

bool ipv4_not_unicast_src(uint32_t a) {
  const uint32_t top = a >> 24;
  return top == 0 || top == 127 || top >= 224;  // 0/8 "this network", loopback, multicast, class E and broadcast
}
}  // namespace

ReplyBlock reply_blocked(const uint8_t* frame, const ParsedPacket& pp, bool multicast_dst_ok) noexcept {
  if ((frame[0] & 1) && !multicast_dst_ok) return ReplyBlock::kNotUnicast;  // sent as link-layer broadcast / multicast
  if (pp.ethertype == kEtherTypeIpv4) {
    if (ipv4_not_unicast_src(pp.src_ip) || (pp.dst_ip >> 28) >= 0xe) return ReplyBlock::kNotUnicast;  // 224/4, 240/4
  } else if (pp.ethertype == kEtherTypeIpv6) {
    const uint8_t* ip = frame + pp.l3_offset;
    static constexpr uint8_t kZero[16] = {};
    if (ip[8] == 0xff || std::memcmp(ip + 8, kZero, 16) == 0) return ReplyBlock::kNotUnicast;  // multicast / unspecified source
    if (ip[24] == 0xff && !multicast_dst_ok) return ReplyBlock::kNotUnicast;
  } else {
    return ReplyBlock::kNotUnicast;
  }
  if (pp.frag_offset != 0) return ReplyBlock::kFragment;
  if (pp.l4_offset) {
    if (pp.ip_proto == kProtoTcp && (pp.tcp_flags & 0x04)) return ReplyBlock::kAboutError;
    if (pp.ip_proto == kProtoIcmp && pp.ethertype == kEtherTypeIpv4) {
      const uint16_t t = pp.src_port;  // errors: unreachable, source quench, redirect, time exceeded, parameter problem
      if (t == 3 || t == 4 || t == 5 || t == 11 || t == 12 || t > 18) return ReplyBlock::kAboutError;
    }
    if (pp.ip_proto == kProtoIcmpv6 && pp.ethertype == kEtherTypeIpv6 && (pp.src_port < 128 || pp.src_port == 137))
      return ReplyBlock::kAboutError;  // ICMPv6 errors are types 0-127; 137 is a redirect (RFC 4443 2.4(e.1, e.2))
  }
  return ReplyBlock::kNone;
}

bool make_too_big_reply(rte_mbuf* m, const ParsedPacket& pp, uint32_t mtu, uint32_t src4) noexcept {
  if (m->nb_segs != 1) return false;
  if (pp.ethertype == kEtherTypeIpv4) return icmp4_error(m, pp, 3, 4, mtu & 0xffff, src4 ? src4 : pp.dst_ip);
  if (pp.ethertype == kEtherTypeIpv6) return icmp6_error(m, pp, 2, 0, mtu);
  return false;
}

bool make_time_exceeded_reply(rte_mbuf* m, const ParsedPacket& pp, uint32_t src4, const uint8_t* src6) noexcept {
  if (m->nb_segs != 1) return false;
  if (pp.ethertype == kEtherTypeIpv4 && src4) return icmp4_error(m, pp, 11, 0, 0, src4);
  if (pp.ethertype == kEtherTypeIpv6 && src6) return icmp6_error(m, pp, 3, 0, 0, src6);
  return false;
}

bool make_no_route_reply(rte_mbuf* m, const ParsedPacket& pp, const uint8_t* src6) noexcept {
  if (m->nb_segs != 1 || pp.ethertype != kEtherTypeIpv6 || !src6) return false;
  return icmp6_error(m, pp, 1, 0, 0, src6);
}

bool make_reject_reply(rte_mbuf* m, const ParsedPacket& pp) noexcept {
  if (pp.ethertype != kEtherTypeIpv4 || m->nb_segs != 1) return false;
  // Nothing answers a later fragment (RFC 1122 3.2.2: ICMP errors only about the first).
  if (pp.frag_offset != 0) return false;
  uint8_t* e = rte_pktmbuf_mtod(m, uint8_t*);
  uint8_t* ip = e + pp.l3_offset;
  const uint32_t ihl = (ip[0] & 0x0f) * 4u;
  const uint32_t total = load_be16(ip + 2);
  const uint32_t src = pp.src_ip, dst = pp.dst_ip;

  if (pp.ip_proto == kProtoTcp && pp.l4_offset) {
    const uint8_t* t = e + pp.l4_offset;
    const uint8_t flags = t[13];
    if (flags & 0x04) return false;  // never answer a RST
    const uint32_t seq = load_be32(t + 4), ack = load_be32(t + 8);
    const uint32_t hdrs = ihl + (t[12] >> 4) * 4u;
    const uint32_t payload = total > hdrs ? total - hdrs : 0;
    const uint16_t sport = load_be16(t), dport = load_be16(t + 2);
    uint8_t tcp[20] = {};
    store_be16(tcp, dport);
    store_be16(tcp + 2, sport);
    if (flags & 0x10) {  // ACK set: RST with seq = their ack
      store_be32(tcp + 4, ack);
      tcp[13] = 0x04;
    } else {
      store_be32(tcp + 8, seq + payload + ((flags & 0x02) ? 1 : 0) + ((flags & 0x01) ? 1 : 0));
      tcp[13] = 0x14;  // RST + ACK
    }
    tcp[12] = 5 << 4;
    // Checksum over the pseudo-header and the 20-byte header.
    uint8_t pseudo[12];
    store_be32(pseudo, dst);
    store_be32(pseudo + 4, src);
    pseudo[8] = 0;
    pseudo[9] = kProtoTcp;
    store_be16(pseudo + 10, 20);
    store_be16(tcp + 16, static_cast<uint16_t>(~csum_fold(csum_partial(tcp, 20, csum_partial(pseudo, 12)))));
    swap_macs(e);
    write_ipv4(ip, dst, src, kProtoTcp, 40);
    std::memcpy(ip + 20, tcp, 20);
    return set_length(m, pp.l3_offset + 40);
  }

  // (reply_blocked() keeps errors from answering errors; an ICMP packet of another kind
  // gets the unreachable like any other protocol.)
  return icmp4_error(m, pp, 3, 13, 0, dst);
}

}  // namespace ivs::pipeline
