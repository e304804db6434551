#pragma once
// Builds Ethernet frames for tests: Ethernet (+ optional VLAN) / IPv4 or ARP / UDP, TCP
// or ICMP, with correct lengths and checksums unless a test breaks them on purpose.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/net_types.hpp"
#include "packet/checksum.hpp"
#include "packet/headers.hpp"

namespace ivs::test {

using Bytes = std::vector<uint8_t>;

inline MacAddr mac(const char* s) { return *MacAddr::parse(s); }
inline uint32_t ip4(const char* s) { return Ipv4Addr::parse(s)->value; }

struct Eth {
  MacAddr dst, src;
  int vlan = -1;  // -1: untagged
};

inline Bytes eth_header(const Eth& e, uint16_t type) {
  Bytes b(12);
  e.dst.store(b.data());
  e.src.store(b.data() + 6);
  if (e.vlan >= 0) {
    b.insert(b.end(), {0x81, 0x00, static_cast<uint8_t>(e.vlan >> 8), static_cast<uint8_t>(e.vlan & 0xff)});
  }
  b.push_back(static_cast<uint8_t>(type >> 8));
  b.push_back(static_cast<uint8_t>(type & 0xff));
  return b;
}

inline Bytes ipv4(const Eth& e, uint32_t src, uint32_t dst, uint8_t proto, const Bytes& l4, uint8_t ttl = 64,
                  uint8_t tos = 0) {
  Bytes f = eth_header(e, packet::kEtherTypeIpv4);
  Bytes iph(20);
  iph[0] = 0x45;
  iph[1] = tos;
  packet::store_be16(&iph[2], static_cast<uint16_t>(20 + l4.size()));
  packet::store_be16(&iph[4], 0x1234);
  iph[8] = ttl;
  iph[9] = proto;
  packet::store_be32(&iph[12], src);
  packet::store_be32(&iph[16], dst);
  packet::store_be16(&iph[10], packet::csum(iph.data(), 20));
  f.insert(f.end(), iph.begin(), iph.end());
  f.insert(f.end(), l4.begin(), l4.end());
  while (f.size() < 60) f.push_back(0);  // Ethernet padding
  return f;
}

// IPv6 with a fixed 40-byte header (no extension headers); addresses as 16 bytes.
inline Bytes ipv6(const Eth& e, const std::array<uint8_t, 16>& src, const std::array<uint8_t, 16>& dst, uint8_t next,
                  const Bytes& l4, uint8_t hop_limit = 64) {
  Bytes f = eth_header(e, packet::kEtherTypeIpv6);
  Bytes h(40);
  h[0] = 0x60;
  h[4] = static_cast<uint8_t>(l4.size() >> 8);
  h[5] = static_cast<uint8_t>(l4.size() & 0xff);
  h[6] = next;
  h[7] = hop_limit;
  std::copy(src.begin(), src.end(), h.begin() + 8);
  std::copy(dst.begin(), dst.end(), h.begin() + 24);
  f.insert(f.end(), h.begin(), h.end());
  f.insert(f.end(), l4.begin(), l4.end());
  return f;
}

// IPv4 fragment: `part` is this fragment's share of the datagram's payload (for the first,
// it starts with the transport header), at `offset` 8-octet units, MF = `more`.
inline Bytes ipv4_fragment(const Eth& e, uint32_t src, uint32_t dst, uint8_t proto, const Bytes& part, uint16_t id,
                           uint16_t offset, bool more, uint8_t ttl = 64) {
  Bytes f = ipv4(e, src, dst, proto, part, ttl);
  uint8_t* iph = &f[e.vlan >= 0 ? 18 : 14];
  packet::store_be16(iph + 4, id);
  packet::store_be16(iph + 6, static_cast<uint16_t>(offset | (more ? 0x2000 : 0)));
  packet::store_be16(iph + 10, 0);
  packet::store_be16(iph + 10, packet::csum(iph, 20));
  return f;
}

// An IPv6 extension header of `type` whose Next Header is `next`: (len + 1) * 8 octets,
// AH (51) (len + 2) * 4; options headers (0, 60) carry one PadN option.
inline Bytes ipv6_ext(uint8_t type, uint8_t next, uint8_t len = 0) {
  const size_t n = type == 51 ? (len + 2u) * 4u : (len + 1u) * 8u;
  Bytes h(n, 0);
  h[0] = next;
  h[1] = len;
  if (type == 0 || type == 60) {
    h[2] = 1;  // PadN
    h[3] = static_cast<uint8_t>(n - 4);
  }
  return h;
}
// An IPv6 Fragment header: `offset` in 8-octet units, M = `more`.
inline Bytes ipv6_frag(uint8_t next, uint16_t offset, bool more, uint32_t id) {
  Bytes h(8, 0);
  h[0] = next;
  packet::store_be16(&h[2], static_cast<uint16_t>(offset << 3 | (more ? 1 : 0)));
  packet::store_be32(&h[4], id);
  return h;
}
inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
inline std::array<uint8_t, 16> ip6(uint8_t last) {
  std::array<uint8_t, 16> a{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
  return a;
}

inline Bytes udp(uint16_t sport, uint16_t dport, size_t payload = 18) {
  Bytes u(8 + payload, 0);
  packet::store_be16(&u[0], sport);
  packet::store_be16(&u[2], dport);
  packet::store_be16(&u[4], static_cast<uint16_t>(u.size()));
  return u;  // UDP checksum 0 = none (IPv4)
}

inline Bytes tcp(uint16_t sport, uint16_t dport, uint8_t flags) {
  Bytes t(20, 0);
  packet::store_be16(&t[0], sport);
  packet::store_be16(&t[2], dport);
  t[12] = 5 << 4;
  t[13] = flags;
  return t;
}

inline Bytes icmp_echo(uint8_t type = 8, uint16_t id = 7, uint16_t seq = 1) {
  Bytes c(16, 0xab);
  c[0] = type;
  c[1] = 0;
  c[2] = c[3] = 0;
  packet::store_be16(&c[4], id);
  packet::store_be16(&c[6], seq);
  packet::store_be16(&c[2], packet::csum(c.data(), static_cast<uint32_t>(c.size())));
  return c;
}

inline Bytes arp(const Eth& e, uint16_t op, MacAddr sha, uint32_t spa, MacAddr tha, uint32_t tpa) {
  Bytes f = eth_header(e, packet::kEtherTypeArp);
  Bytes a(28);
  packet::store_be16(&a[0], 1);
  packet::store_be16(&a[2], packet::kEtherTypeIpv4);
  a[4] = 6;
  a[5] = 4;
  packet::store_be16(&a[6], op);
  sha.store(&a[8]);
  packet::store_be32(&a[14], spa);
  tha.store(&a[18]);
  packet::store_be32(&a[24], tpa);
  f.insert(f.end(), a.begin(), a.end());
  while (f.size() < 60) f.push_back(0);
  return f;
}

}  // namespace ivs::test
