#include "mirror/encap.hpp"

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

namespace ivs::mirror {

namespace {
constexpr uint16_t kGreProtoErspan2 = 0x88BE, kGreProtoErspan3 = 0x22EB;
constexpr uint16_t kGreFlagSequence = 0x1000;
constexpr uint32_t kGreLen = 8;  // flags/protocol + sequence
constexpr uint32_t kVxlanLen = 8;

uint32_t erspan_len(const config::MirrorTool& t) { return t.erspan_version == 3 ? 12 : 8; }

void put16(uint8_t* p, uint16_t v) { v = rte_cpu_to_be_16(v); std::memcpy(p, &v, 2); }
void put32(uint8_t* p, uint32_t v) { v = rte_cpu_to_be_32(v); std::memcpy(p, &v, 4); }
}  // namespace

uint32_t encap_overhead(const config::MirrorTool& t) noexcept {
  const uint32_t outer = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr);
  return t.kind == config::MirrorTool::kErspan ? outer + kGreLen + erspan_len(t) : outer + sizeof(rte_udp_hdr) + kVxlanLen;
}

bool encapsulate(rte_mbuf* m, const config::MirrorTool& t, const EncapMeta& meta) noexcept {
  const uint32_t overhead = encap_overhead(t);
  // Keep the outer IP packet within the tunnel MTU: cut the copy's tail.
  const uint32_t max_inner = kTunnelIpMtu + sizeof(rte_ether_hdr) - overhead;
  bool truncated = meta.orig_len > m->pkt_len;
  if (m->pkt_len > max_inner) {
    if (m->nb_segs > 1 || rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - max_inner)) != 0) return false;
    truncated = true;
  }
  const uint32_t inner_len = m->pkt_len;
  // The inner ethertype may lie in a second segment (read it across: tests/fuzz/encap_fuzz.cpp
  // found the first segment read past its data).
  uint8_t type_copy[2];
  const auto* type = inner_len >= 14 ? static_cast<const uint8_t*>(rte_pktmbuf_read(m, 12, 2, type_copy)) : nullptr;
  const bool inner_tagged = type && type[0] == 0x81 && type[1] == 0x00;
  auto* h = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, static_cast<uint16_t>(overhead)));
  if (!h) return false;

  auto* eth = reinterpret_cast<rte_ether_hdr*>(h);
  t.remote_mac.store(eth->dst_addr.addr_bytes);
  t.local_mac.store(eth->src_addr.addr_bytes);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);

  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->type_of_service = 0;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(overhead - sizeof(rte_ether_hdr) + inner_len));
  ip->packet_id = rte_cpu_to_be_16(static_cast<uint16_t>(meta.sequence));
  ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
  ip->time_to_live = 64;
  ip->next_proto_id = t.kind == config::MirrorTool::kErspan ? IPPROTO_GRE : IPPROTO_UDP;
  ip->src_addr = t.local_ip.to_be();
  ip->dst_addr = t.remote_ip.to_be();
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  uint8_t* p = reinterpret_cast<uint8_t*>(ip + 1);

  if (t.kind == config::MirrorTool::kVxlan) {
    auto* udp = reinterpret_cast<rte_udp_hdr*>(p);
    udp->src_port = rte_cpu_to_be_16(static_cast<uint16_t>(49152 + meta.flow_hash % 16384));  // RFC 7348 5.
    udp->dst_port = rte_cpu_to_be_16(static_cast<uint16_t>(t.udp_port));
    udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_udp_hdr) + kVxlanLen + inner_len));
    udp->dgram_cksum = 0;  // allowed for IPv4 (RFC 7348)
    p += sizeof(rte_udp_hdr);
    put32(p, 0x08000000u);  // I flag: the VNI is valid
    put32(p + 4, t.vni << 8);
    return true;
  }

  put16(p, kGreFlagSequence);
  put16(p + 2, t.erspan_version == 3 ? kGreProtoErspan3 : kGreProtoErspan2);
  put32(p + 4, meta.sequence);
  p += kGreLen;
  // Both types start with: Ver(4) VLAN(12) | COS(3) En/BSO(2) T(1) Session(10).
  const uint32_t ver = t.erspan_version == 3 ? 2 : 1;
  const uint32_t en = t.erspan_version == 3 ? 0 : (inner_tagged ? 3 : 0);  // II: "VLAN tag preserved in frame"
  put16(p, static_cast<uint16_t>(ver << 12));
  put16(p + 2, static_cast<uint16_t>((en << 11) | (truncated ? 1u << 10 : 0) | (t.session & 0x3ff)));
  if (t.erspan_version == 3) {
    put32(p + 4, static_cast<uint32_t>(meta.time_ns / 100));  // granularity 01: 100 ns units
    // SGT(16) | P(1) FT(5) HWID(6) D(1) Gra(2) O(1): frame type 0 (Ethernet), Gra 01.
    put16(p + 8, 0);
    put16(p + 10, static_cast<uint16_t>((meta.egress ? 1u << 3 : 0) | (1u << 1)));
  } else {
    put32(p + 4, meta.port & 0xfffff);  // Reserved(12) | Index(20): the tap port
  }
  return true;
}

}  // namespace ivs::mirror
