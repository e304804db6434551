#include "channel/frame.hpp"

#include "packet/checksum.hpp"
#include "packet/headers.hpp"

namespace ivs::channel {

using namespace ivs::packet;

namespace {
constexpr size_t kEth = 18, kIp = 20, kUdp = 8;

uint16_t udp_checksum(const uint8_t* ip, const uint8_t* udp, uint32_t udp_len) {
  uint32_t sum = csum_partial(ip + 12, 8);  // source and destination addresses
  sum += kProtoUdp;
  sum += udp_len;
  sum = csum_partial(udp, udp_len, sum);
  const uint16_t c = static_cast<uint16_t>(~csum_fold(sum));
  return c == 0 ? 0xffff : c;  // 0 means "no checksum" in UDP over IPv4
}
}  // namespace

std::vector<uint8_t> build_frame(uint16_t vlan, const Endpoint& src, const Endpoint& dst, const Header& h,
                                 std::span<const uint8_t> payload, uint16_t ip_id) {
  const uint32_t udp_len = static_cast<uint32_t>(kUdp + kHeaderLen + payload.size());
  std::vector<uint8_t> f(kEth + kIp + udp_len, 0);
  uint8_t* e = f.data();
  dst.mac.store(e);
  src.mac.store(e + 6);
  store_be16(e + 12, 0x8100);
  store_be16(e + 14, vlan & 0xfff);
  store_be16(e + 16, kEtherTypeIpv4);
  uint8_t* ip = e + kEth;
  ip[0] = 0x45;
  store_be16(ip + 2, static_cast<uint16_t>(kIp + udp_len));
  store_be16(ip + 4, ip_id);
  store_be16(ip + 6, 0x4000);  // don't fragment
  ip[8] = 64;
  ip[9] = kProtoUdp;
  store_be32(ip + 12, src.ip.value);
  store_be32(ip + 16, dst.ip.value);
  store_be16(ip + 10, csum(ip, kIp));
  uint8_t* udp = ip + kIp;
  store_be16(udp, src.port);
  store_be16(udp + 2, dst.port);
  store_be16(udp + 4, static_cast<uint16_t>(udp_len));
  encode(h, udp + kUdp);
  if (!payload.empty()) std::memcpy(udp + kUdp + kHeaderLen, payload.data(), payload.size());
  store_be16(udp + 6, udp_checksum(ip, udp, udp_len));
  return f;
}

std::optional<ParsedFrame> parse_frame(std::span<const uint8_t> f, std::string* why) {
  auto fail = [&](const char* w) -> std::optional<ParsedFrame> {
    if (why) *why = w;
    return std::nullopt;
  };
  if (f.size() < kEth + kIp + kUdp) return fail("too short");
  const uint8_t* e = f.data();
  if (load_be16(e + 12) != 0x8100 || load_be16(e + 16) != kEtherTypeIpv4) return fail("not a tagged IPv4 frame");
  const uint8_t* ip = e + kEth;
  const uint32_t ihl = (ip[0] & 0x0f) * 4u;
  if ((ip[0] >> 4) != 4 || ihl < kIp || ip[9] != kProtoUdp) return fail("not IPv4/UDP");
  const uint32_t ip_len = load_be16(ip + 2);
  if (ip_len < ihl + kUdp || kEth + ip_len > f.size()) return fail("IPv4 length inconsistent");
  const uint8_t* udp = ip + ihl;
  const uint32_t udp_len = load_be16(udp + 4);
  if (udp_len < kUdp + kHeaderLen || udp_len > ip_len - ihl) return fail("UDP length inconsistent");
  auto h = decode(udp + kUdp, udp_len - kUdp);
  if (!h) return fail("bad channel header");
  ParsedFrame p;
  p.vlan = load_be16(e + 14) & 0xfff;
  p.dst.mac = MacAddr::from(e);
  p.src.mac = MacAddr::from(e + 6);
  p.src.ip = Ipv4Addr{load_be32(ip + 12)};
  p.dst.ip = Ipv4Addr{load_be32(ip + 16)};
  p.src.port = load_be16(udp);
  p.dst.port = load_be16(udp + 2);
  p.header = *h;
  p.payload = f.subspan(kEth + ihl + kUdp + kHeaderLen, udp_len - kUdp - kHeaderLen);
  return p;
}

}  // namespace ivs::channel
