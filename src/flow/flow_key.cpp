#include "flow/flow_key.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include "packet/headers.hpp"

namespace ivs::flow {

using namespace ivs::packet;

std::optional<DirectedKey> make_key(const uint8_t* frame, uint32_t len, const ParsedPacket& pp) noexcept {
  const bool v4 = pp.ethertype == kEtherTypeIpv4, v6 = pp.ethertype == kEtherTypeIpv6;
  if (!v4 && !v6) return std::nullopt;
  uint8_t src[16] = {}, dst[16] = {};
  const uint8_t* ip = frame + pp.l3_offset;
  if (v4) {
    std::memcpy(src, ip + 12, 4);
    std::memcpy(dst, ip + 16, 4);
  } else {
    std::memcpy(src, ip + 8, 16);
    std::memcpy(dst, ip + 24, 16);
  }
  uint16_t sport = pp.src_port, dport = pp.dst_port;
  const bool icmp = pp.ip_proto == kProtoIcmp || pp.ip_proto == kProtoIcmpv6;
  if (icmp && pp.l4_offset) {
    const uint8_t type = static_cast<uint8_t>(pp.src_port);
    const bool echo = v4 ? (type == 8 || type == 0) : (type == 128 || type == 129);
    // parse() checked 4 bytes of ICMP; the identifier needs 6 (a cut one keys on type/code).
    const uint32_t ip_end = pp.l3_offset + (v4 ? load_be16(ip + 2) : 40u + load_be16(ip + 4));
    if (echo && pp.l4_offset + 6u <= ip_end && pp.l4_offset + 6u <= len)
      sport = dport = load_be16(frame + pp.l4_offset + 4);
  }
  DirectedKey dk{};
  std::memset(&dk.key, 0, sizeof(dk.key));
  const int c = std::memcmp(src, dst, 16);
  dk.direction = (c > 0 || (c == 0 && sport > dport)) ? 1 : 0;
  const int a = dk.direction, b = 1 - a;  // a: the side the source goes to
  std::memcpy(dk.key.addr[a], src, 16);
  std::memcpy(dk.key.addr[b], dst, 16);
  dk.key.port[a] = sport;
  dk.key.port[b] = dport;
  dk.key.proto = pp.ip_proto;
  dk.key.family = v4 ? 4 : 6;
  return dk;
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
