// IPv6 routing between networks with a gateway6 (docs/config.md): neighbour discovery for
// the switch's addresses (answered, learned from, hostile messages counted and dropped),
// ping to them, routing with the hop limit decremented and the MACs rewritten, ICMPv6
// time exceeded / unreachable back with correct checksums, unknown neighbours resolved by
// a solicitation; and the ND checks themselves on hostile bytes (packet/nd.hpp).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "config/loader.hpp"
#include "packet/checksum.hpp"
#include "packet/nd.hpp"
#include "packet/parse.hpp"
#include "pipeline/forwarder.hpp"
#include "support/forwarder_rig.hpp"
#include "support/packet_builder.hpp"

using namespace ivs;
using namespace ivs::test;
using packet::NdMessage;

namespace {

constexpr const char* kConfig = R"(
ports:
  - {name: p0, type: discard, network: web}
  - {name: p1, type: discard, network: web}
  - {name: p2, type: discard, network: db}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1, subnet6: "2001:db8:1::/64", gateway6: "2001:db8:1::1"}
  - {name: db, vlan: 20, subnet: 10.0.2.0/24, gateway: 10.0.2.1, subnet6: "2001:db8:2::/64", gateway6: "2001:db8:2::1"}
)";
const MacAddr kVm1 = mac("02:00:00:00:01:01"), kVm3 = mac("02:00:00:00:02:03");
const MacAddr kGwWeb = config::default_gateway_mac(10), kGwDb = config::default_gateway_mac(20);

std::array<uint8_t, 16> v6(const char* s) {
  std::array<uint8_t, 16> a{};
  auto p = IpPrefix::parse(s);
  std::copy(p->bytes.begin(), p->bytes.end(), a.begin());
  return a;
}

// An ND message (type 135/136) for `target` with one link-layer option, or `opts` as given.
Bytes nd_body(uint8_t type, const std::array<uint8_t, 16>& target, uint8_t flags, const Bytes& opts) {
  Bytes b(24, 0);
  b[0] = type;
  b[4] = flags;
  std::copy(target.begin(), target.end(), b.begin() + 8);
  b.insert(b.end(), opts.begin(), opts.end());
  return b;
}
Bytes ll_opt(uint8_t type, MacAddr m) {
  Bytes o(8, 0);
  o[0] = type;
  o[1] = 1;
  m.store(&o[2]);
  return o;
}
// The IPv6 frame with its ICMPv6 checksum filled in (the frame built without extension headers).
Bytes icmp6_frame(const Eth& e, const std::array<uint8_t, 16>& src, const std::array<uint8_t, 16>& dst, const Bytes& icmp,
                  uint8_t hops) {
  Bytes f = ipv6(e, src, dst, packet::kProtoIcmpv6, icmp, hops);
  const size_t l3 = e.vlan >= 0 ? 18 : 14;
  packet::store_be16(&f[l3 + 42], packet::icmp6_checksum(&f[l3], &f[l3 + 40], static_cast<uint32_t>(icmp.size())));
  return f;
}
Bytes solicit(const std::array<uint8_t, 16>& src, const std::array<uint8_t, 16>& target, const Bytes& opts, uint8_t hops = 255) {
  const auto t = target;
  const std::array<uint8_t, 16> snm{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13], t[14], t[15]};
  return icmp6_frame({mac("33:33:ff:00:00:01"), kVm1}, src, snm, nd_body(packet::kNdSolicit, target, 0, opts), hops);
}
Bytes echo6(const std::array<uint8_t, 16>& src, const std::array<uint8_t, 16>& dst, MacAddr to) {
  Bytes c(16, 0xab);
  c[0] = packet::kIcmpv6EchoRequest;
  c[1] = c[2] = c[3] = 0;
  return icmp6_frame({to, kVm1}, src, dst, c, 64);
}
bool icmp6_ok(const Bytes& f) {
  const uint32_t plen = packet::load_be16(&f[18]);
  return f.size() == 54 + plen && packet::icmp6_checksum(&f[14], &f[54], plen) == 0;  // the whole frame, no more
}
NdMessage nd_of(const Bytes& f) {
  packet::ParsedPacket pp;
  if (packet::parse(f.data(), static_cast<uint32_t>(f.size()), pp)) return {};
  return packet::parse_nd(f.data(), static_cast<uint32_t>(f.size()), pp);
}

class Ipv6RouteTest : public ::testing::Test {
 protected:
  ForwarderRig rig_{kConfig};
};

}  // namespace

TEST(NdParse, HostileMessagesAreMalformed) {
  const auto src = v6("2001:db8:1::11"), gw = v6("2001:db8:1::1");
  EXPECT_EQ(nd_of(solicit(src, gw, ll_opt(1, kVm1))).status, NdMessage::kOk);
  EXPECT_EQ(nd_of(solicit(src, gw, {})).status, NdMessage::kOk);  // no option: fine
  EXPECT_EQ(nd_of(solicit(src, gw, ll_opt(1, kVm1), 254)).status, NdMessage::kMalformed) << "hop limit not 255";
  Bytes zero_len = ll_opt(1, kVm1);
  zero_len[1] = 0;
  EXPECT_EQ(nd_of(solicit(src, gw, zero_len)).status, NdMessage::kMalformed) << "option of length 0 (would loop)";
  Bytes too_long = ll_opt(1, kVm1);
  too_long[1] = 2;  // 16 octets, 8 present
  EXPECT_EQ(nd_of(solicit(src, gw, too_long)).status, NdMessage::kMalformed) << "option past the end";
  Bytes stub(4, 0);
  stub[0] = 1;
  stub[1] = 1;
  EXPECT_EQ(nd_of(solicit(src, gw, stub)).status, NdMessage::kMalformed) << "option cut short";
  Bytes bad_sum = solicit(src, gw, ll_opt(1, kVm1));
  bad_sum[60] ^= 0x5a;
  EXPECT_EQ(nd_of(bad_sum).status, NdMessage::kMalformed) << "checksum";
  EXPECT_EQ(nd_of(solicit(v6("::"), gw, ll_opt(1, kVm1))).status, NdMessage::kMalformed) << "DAD with a source option";
  EXPECT_EQ(nd_of(solicit(src, v6("ff02::1"), {})).status, NdMessage::kMalformed) << "multicast target";
  // Too short for an ND message (the ICMPv6 header alone): parse() takes it, parse_nd refuses it.
  Bytes shorty(8, 0);
  shorty[0] = packet::kNdSolicit;
  EXPECT_EQ(nd_of(icmp6_frame({kGwWeb, kVm1}, src, gw, shorty, 255)).status, NdMessage::kMalformed);
  // Payload length claiming more than the frame: parse() refuses it before ND is looked at.
  Bytes lying = solicit(src, gw, ll_opt(1, kVm1));
  packet::store_be16(&lying[18], 200);
  packet::ParsedPacket pp;
  EXPECT_NE(packet::parse(lying.data(), static_cast<uint32_t>(lying.size()), pp), std::nullopt);
  // Every truncation of a good solicitation, given to parse_nd with the whole frame's parse
  // (parse() itself refuses every cut frame, so cutting before it would never reach
  // parse_nd): its own bound on `len` must refuse it, never kOk with the message or an
  // option cut, never a read past the end (each cut is a buffer of exactly n bytes: the
  // ASan build of this test sees an over-read). From the ICMPv6 header on: parse_nd's
  // contract is a frame whose IPv6 header parse() read.
  const Bytes good = solicit(src, gw, ll_opt(1, kVm1));
  ASSERT_EQ(packet::parse(good.data(), static_cast<uint32_t>(good.size()), pp), std::nullopt);
  ASSERT_EQ(packet::parse_nd(good.data(), static_cast<uint32_t>(good.size()), pp).status, NdMessage::kOk);
  for (size_t n = pp.l4_offset; n < good.size(); ++n) {
    std::unique_ptr<uint8_t[]> cut(new uint8_t[n]);
    std::memcpy(cut.get(), good.data(), n);
    EXPECT_NE(packet::parse_nd(cut.get(), static_cast<uint32_t>(n), pp).status, NdMessage::kOk) << n;
  }
}

TEST_F(Ipv6RouteTest, AnswersSolicitationsForGateway6AndItsLinkLocal) {
  const auto src = v6("2001:db8:1::11");
  for (const auto& target : {v6("2001:db8:1::1"), ipv6_link_local_of(kGwWeb)}) {
    rig_.send(0, solicit(src, target, ll_opt(1, kVm1)));
    auto out = rig_.take(0);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(rig_.take(1).empty()) << "answered, not flooded";
    const Bytes& f = out[0];
    EXPECT_EQ(MacAddr::from(&f[0]), kVm1);
    EXPECT_EQ(MacAddr::from(&f[6]), kGwWeb);
    EXPECT_TRUE(std::equal(target.begin(), target.end(), &f[22])) << "from the target address";
    EXPECT_TRUE(std::equal(src.begin(), src.end(), &f[38])) << "to the solicitation's source";
    EXPECT_TRUE(icmp6_ok(f));
    const NdMessage nd = nd_of(f);
    ASSERT_EQ(nd.status, NdMessage::kOk);
    EXPECT_EQ(nd.type, packet::kNdAdvert);
    EXPECT_EQ(nd.flags, 0xe0) << "router, solicited, override";
    ASSERT_NE(nd.lladdr, nullptr);
    EXPECT_EQ(MacAddr::from(nd.lladdr), kGwWeb);
  }
  EXPECT_EQ(rig_.event(pipeline::Event::kNdAdverts), 2u);
  // The sender was learned from its source link-layer option.
  bool learned = false;
  for (const auto& ev : rig_.learned())
    learned |= ev.kind == forward::LearnEvent::kNeighbor6 && std::equal(src.begin(), src.end(), ev.ip6) && MacAddr::from(ev.mac) == kVm1;
  EXPECT_TRUE(learned);
  // Another host's solicitation is flooded as it came.
  rig_.send(0, solicit(src, v6("2001:db8:1::12"), ll_opt(1, kVm1)));
  EXPECT_EQ(rig_.take(1).size(), 1u);
  EXPECT_TRUE(rig_.take(0).empty());
}

TEST_F(Ipv6RouteTest, HostileNdIsDroppedAndCounted) {
  Bytes zero_len = ll_opt(1, kVm1);
  zero_len[1] = 0;
  rig_.send(0, solicit(v6("2001:db8:1::11"), v6("2001:db8:1::1"), zero_len));
  rig_.send(0, solicit(v6("2001:db8:1::11"), v6("2001:db8:1::1"), ll_opt(1, kVm1), 64));
  EXPECT_EQ(rig_.drops(0, DropReason::kNdMalformed), 2u);
  EXPECT_TRUE(rig_.take(0).empty());
  EXPECT_TRUE(rig_.take(1).empty());
  for (const auto& ev : rig_.learned())  // (the source MAC is learned as always; no neighbour)
    EXPECT_NE(ev.kind, forward::LearnEvent::kNeighbor6) << "nothing learned from a malformed message";
}

TEST_F(Ipv6RouteTest, AnswersPingToGateway6) {
  rig_.send(0, echo6(v6("2001:db8:1::11"), v6("2001:db8:1::1"), kGwWeb));
  auto out = rig_.take(0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][54], packet::kIcmpv6EchoReply);
  EXPECT_TRUE(icmp6_ok(out[0]));
  EXPECT_EQ(MacAddr::from(&out[0][6]), kGwWeb);
  EXPECT_EQ(rig_.event(pipeline::Event::kEcho6Replies), 1u);
}

TEST_F(Ipv6RouteTest, RoutesWithHopLimitDecrementedAndMacsRewritten) {
  rig_.add_mac(1, kVm3, 2);
  rig_.add_neighbor6(v6("2001:db8:2::13"), kVm3);
  rig_.send(0, ipv6({kGwWeb, kVm1}, v6("2001:db8:1::11"), v6("2001:db8:2::13"), packet::kProtoUdp, udp(1000, 2000), 64));
  auto out = rig_.take(2);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(MacAddr::from(&out[0][0]), kVm3);
  EXPECT_EQ(MacAddr::from(&out[0][6]), kGwDb);
  EXPECT_EQ(out[0][21], 63);
  EXPECT_EQ(rig_.event(pipeline::Event::kRouted6), 1u);
}

TEST_F(Ipv6RouteTest, HopLimitExpiredGetsTimeExceededFromGateway6) {
  rig_.add_neighbor6(v6("2001:db8:2::13"), kVm3);
  rig_.send(0, ipv6({kGwWeb, kVm1}, v6("2001:db8:1::11"), v6("2001:db8:2::13"), packet::kProtoUdp, udp(1000, 2000), 1));
  EXPECT_EQ(rig_.drops(0, DropReason::kHopLimitExpired), 1u);
  EXPECT_TRUE(rig_.take(2).empty());
  auto out = rig_.take(0);
  ASSERT_EQ(out.size(), 1u);
  const Bytes& f = out[0];
  EXPECT_EQ(f[20], packet::kProtoIcmpv6);
  EXPECT_EQ(f[54], 3) << "time exceeded";
  EXPECT_EQ(f[55], 0) << "hop limit exceeded in transit";
  const auto gw = v6("2001:db8:1::1");
  EXPECT_TRUE(std::equal(gw.begin(), gw.end(), &f[22])) << "from the sender's gateway6";
  EXPECT_TRUE(icmp6_ok(f));
  EXPECT_EQ(rig_.event(pipeline::Event::kTimeExceededSent), 1u);
}

TEST_F(Ipv6RouteTest, Ipv4TtlExpiredGetsTimeExceededToo) {
  rig_.add_neighbor(ip4("10.0.2.13"), kVm3);
  rig_.send(0, ipv4({kGwWeb, kVm1}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoUdp, udp(1000, 2000), 1));
  EXPECT_EQ(rig_.drops(0, DropReason::kTtlExpired), 1u);
  auto out = rig_.take(0);
  ASSERT_EQ(out.size(), 1u);
  packet::ParsedPacket pp;
  ASSERT_EQ(packet::parse(out[0].data(), static_cast<uint32_t>(out[0].size()), pp), std::nullopt);
  EXPECT_EQ(pp.src_port, 11) << "time exceeded";
  EXPECT_EQ(pp.src_ip, ip4("10.0.1.1"));
  EXPECT_TRUE(packet::csum_ok(&out[0][14], 20));
  EXPECT_TRUE(packet::csum_ok(&out[0][34], static_cast<uint32_t>(packet::load_be16(&out[0][16]) - 20)));
}

TEST_F(Ipv6RouteTest, NoRouteAndUnknownNeighbour) {
  rig_.send(0, ipv6({kGwWeb, kVm1}, v6("2001:db8:1::11"), v6("2001:db8:9::1"), packet::kProtoUdp, udp(1000, 2000)));
  EXPECT_EQ(rig_.drops(0, DropReason::kNoRoute6), 1u);
  auto back = rig_.take(0);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0][54], 1) << "destination unreachable";
  EXPECT_TRUE(icmp6_ok(back[0]));

  rig_.send(0, ipv6({kGwWeb, kVm1}, v6("2001:db8:1::11"), v6("2001:db8:2::77"), packet::kProtoUdp, udp(1000, 2001)));
  EXPECT_EQ(rig_.drops(0, DropReason::kNeighbor6Unresolved), 1u);
  auto out = rig_.take(2);
  ASSERT_EQ(out.size(), 1u);
  const NdMessage nd = nd_of(out[0]);
  ASSERT_EQ(nd.status, NdMessage::kOk) << "a well-formed solicitation";
  EXPECT_EQ(nd.type, packet::kNdSolicit);
  const auto want = v6("2001:db8:2::77");
  EXPECT_TRUE(std::equal(want.begin(), want.end(), nd.target));
  EXPECT_EQ(MacAddr::from(&out[0][0]), mac("33:33:ff:00:00:77"));
  EXPECT_EQ(MacAddr::from(nd.lladdr), kGwDb);
  EXPECT_EQ(rig_.event(pipeline::Event::kNdSolicits), 1u);
  // Link-local destinations are not routed.
  rig_.send(0, ipv6({kGwWeb, kVm1}, v6("2001:db8:1::11"), v6("fe80::1"), packet::kProtoUdp, udp(1000, 2002)));
  EXPECT_EQ(rig_.drops(0, DropReason::kNotRoutable), 1u);
}
