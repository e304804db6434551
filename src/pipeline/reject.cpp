#include "pipeline/reject.hpp"

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
}  // namespace

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

  if (pp.ip_proto == kProtoIcmp && pp.l4_offset && pp.src_port != 8) return false;  // no error about an error
  // ICMP unreachable quoting the original IP header and 8 bytes of its payload.
  uint8_t quote[60 + 8];
  const uint32_t qlen = std::min<uint32_t>(ihl + 8, std::min<uint32_t>(total, m->data_len - pp.l3_offset));
  std::memcpy(quote, ip, qlen);
  swap_macs(e);
  write_ipv4(ip, dst, src, kProtoIcmp, static_cast<uint16_t>(20 + 8 + qlen));
  uint8_t* icmp = ip + 20;
  if (!set_length(m, pp.l3_offset + 28 + qlen)) return false;
  std::memset(icmp, 0, 8);
  icmp[0] = 3;   // destination unreachable
  icmp[1] = 13;  // communication administratively prohibited
  std::memcpy(icmp + 8, quote, qlen);
  store_be16(icmp + 2, csum(icmp, 8 + qlen));
  return true;
}

}  // namespace ivs::pipeline
