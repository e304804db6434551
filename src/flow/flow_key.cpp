#include "flow/flow_key.hpp"

#include <arpa/inet.h>
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
