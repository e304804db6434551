#include "flow/flow_key.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <fmt/format.h>

#include "packet/headers.hpp"

namespace ivs::flow {

using namespace ivs::packet;

namespace {
// Ports as keyed: TCP/UDP ports; ICMP echo request/reply: the identifier on both sides
// (so both directions meet); other ICMP: type and code.
void l4_ports(const uint8_t* frame, uint32_t len, const ParsedPacket& pp, bool v4, uint32_t ip_end, uint16_t& sport,
              uint16_t& dport) {
  sport = pp.src_port;
  dport = pp.dst_port;
  if ((pp.ip_proto == kProtoIcmp || pp.ip_proto == kProtoIcmpv6) && pp.l4_offset) {
    const uint8_t type = static_cast<uint8_t>(pp.src_port);
    const bool echo = v4 ? (type == 8 || type == 0) : (type == 128 || type == 129);
    // parse() checked 4 bytes of ICMP; the identifier needs 6 (a cut one keys on type/code).
    if (echo && pp.l4_offset + 6u <= ip_end && pp.l4_offset + 6u <= len) sport = dport = load_be16(frame + pp.l4_offset + 4);
  }
}
}  // namespace

bool make_key(const uint8_t* frame, uint32_t len, const ParsedPacket& pp, DirectedKey& dk) noexcept {
  const bool v4 = pp.ethertype == kEtherTypeIpv4;
  if (!v4 && pp.ethertype != kEtherTypeIpv6) return false;
  std::memset(&dk.key, 0, sizeof(dk.key));
  const uint8_t* ip = frame + pp.l3_offset;
  const uint8_t* src = ip + (v4 ? 12 : 8);
  const uint8_t* dst = ip + (v4 ? 16 : 24);
  const uint32_t alen = v4 ? 4 : 16;
  uint16_t sport, dport;
  l4_ports(frame, len, pp, v4, pp.l3_offset + (v4 ? load_be16(ip + 2) : 40u + load_be16(ip + 4)), sport, dport);
  // Canonical order: the lower (address, port) is endpoint 0. IPv4 compares the parsed
  // host-order addresses (no 16-byte compare on the common path).
  const int c = v4 ? (pp.src_ip > pp.dst_ip) - (pp.src_ip < pp.dst_ip) : std::memcmp(src, dst, 16);
  const int swap = (c > 0 || (c == 0 && sport > dport)) ? 1 : 0;
  dk.direction = static_cast<uint8_t>(swap);
  std::memcpy(dk.key.addr[swap], src, alen);
  std::memcpy(dk.key.addr[1 - swap], dst, alen);
  dk.key.port[swap] = sport;
  dk.key.port[1 - swap] = dport;
  dk.key.family = v4 ? 4 : 6;
  dk.key.proto = pp.ip_proto;
  return true;
}

namespace {
// Fills `dk` for a packet src -> dst (addresses `alen` bytes) with these ports.
void fill_key(const uint8_t* src, const uint8_t* dst, uint32_t alen, uint16_t sport, uint16_t dport, uint8_t proto,
              DirectedKey& dk) {
  std::memset(&dk.key, 0, sizeof(dk.key));
  const int c = std::memcmp(src, dst, alen);  // network order: the same order as host-order compares
  const int swap = (c > 0 || (c == 0 && sport > dport)) ? 1 : 0;
  dk.direction = static_cast<uint8_t>(swap);
  std::memcpy(dk.key.addr[swap], src, alen);
  std::memcpy(dk.key.addr[1 - swap], dst, alen);
  dk.key.port[swap] = sport;
  dk.key.port[1 - swap] = dport;
  dk.key.family = alen == 4 ? 4 : 6;
  dk.key.proto = proto;
}

bool is_icmp_error(bool v4, uint8_t type) {
  return v4 ? (type == 3 || type == 11 || type == 12) : (type >= 1 && type <= 4);
}
}  // namespace

bool make_related_key(const uint8_t* frame, uint32_t len, const ParsedPacket& pp, DirectedKey& dk) noexcept {
  const bool v4 = pp.ethertype == kEtherTypeIpv4;
  if (pp.l4_offset == 0 || pp.ip_proto != (v4 ? kProtoIcmp : kProtoIcmpv6) || !is_icmp_error(v4, static_cast<uint8_t>(pp.src_port)))
    return false;
  // The embedded packet starts after the 8-byte ICMP header; it must lie within the
  // outer IP payload and the readable bytes.
  const uint8_t* ip = frame + pp.l3_offset;
  const uint32_t ip_end = std::min<uint32_t>(len, pp.l3_offset + (v4 ? load_be16(ip + 2) : 40u + load_be16(ip + 4)));
  const uint32_t inner = pp.l4_offset + 8u;
  if (inner >= ip_end) return false;
  const uint8_t* in = frame + inner;
  const uint32_t avail = ip_end - inner;
  uint32_t hlen;
  uint8_t proto;
  if (v4) {
    if (avail < kIpv4MinHeaderLen || (in[0] >> 4) != 4 || (in[0] & 0x0f) < 5) return false;
    hlen = (in[0] & 0x0fu) * 4u;
    if ((load_be16(in + 6) & 0x1fff) != 0) return false;  // a non-first fragment: no ports to match
    proto = in[9];
  } else {
    if (avail < kIpv6HeaderLen || (in[0] >> 4) != 6) return false;
    hlen = kIpv6HeaderLen;
    proto = in[6];  // (extension headers in the embedded packet are not walked: no match)
  }
  uint16_t sport = 0, dport = 0;
  const uint8_t* l4 = in + hlen;
  const uint32_t l4_avail = avail > hlen ? avail - hlen : 0;
  if (proto == kProtoTcp || proto == kProtoUdp) {
    if (l4_avail < 4) return false;
    sport = load_be16(l4);
    dport = load_be16(l4 + 2);
  } else if (proto == kProtoIcmp || proto == kProtoIcmpv6) {
    // Only an echo request/reply has a flow to belong to (keyed by its identifier).
    const bool echo = proto == kProtoIcmp ? (l4_avail >= 6 && (l4[0] == 8 || l4[0] == 0))
                                          : (l4_avail >= 6 && (l4[0] == 128 || l4[0] == 129));
    if (!echo) return false;
    sport = dport = load_be16(l4 + 4);
  }
  const uint32_t alen = v4 ? 4 : 16;
  // An error goes back to the sender of the packet it quotes (RFC 792, 4443), as conntrack
  // requires: one addressed to anybody else is not related (else a guest could forge
  // errors quoting one of its allowed flows to reach any host, past the policy).
  if (std::memcmp(ip + (v4 ? 16 : 24), in + (v4 ? 12 : 8), alen) != 0) return false;
  fill_key(in + (v4 ? 12 : 8), in + (v4 ? 16 : 24), alen, sport, dport, proto, dk);
  dk.direction = static_cast<uint8_t>(1 - dk.direction);  // the error travels back to the sender
  return true;
}

std::string endpoint(const FlowKey& k, int side) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(k.family == 4 ? AF_INET : AF_INET6, k.addr[side], buf, sizeof(buf));
  return k.family == 6 ? fmt::format("[{}]:{}", buf, k.port[side]) : fmt::format("{}:{}", buf, k.port[side]);
}

std::string to_string(const FlowKey& k) {
  const char* p = k.proto == 6 ? "tcp" : k.proto == 17 ? "udp" : k.proto == 1 ? "icmp" : k.proto == 58 ? "icmp6" : nullptr;
  return fmt::format("{} {} <-> {}", p ? std::string(p) : fmt::format("proto-{}", k.proto), endpoint(k, 0), endpoint(k, 1));
}

}  // namespace ivs::flow
