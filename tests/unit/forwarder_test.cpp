// Forwarder on real mbufs with the real tables (rte_hash, rte_lpm, rte_ring): L2
// switching, flooding, VLAN push/pop, routing with TTL/checksum/MAC rewrite, ARP and
// ICMP answered for the gateway, and every drop counted with its reason.
#include <gtest/gtest.h>

#include "config/loader.hpp"
#include "packet/parse.hpp"
#include "pipeline/forwarder.hpp"
#include "support/forwarder_rig.hpp"
#include "support/packet_builder.hpp"

using namespace ivs;
using namespace ivs::test;
using forward::FdbEntry;
using forward::FdbKey;
using forward::NeighborEntry;

namespace {

constexpr const char* kConfig = R"(
ports:
  - {name: p0, type: discard, network: web}
  - {name: p1, type: discard, network: web}
  - {name: p2, type: discard, network: db}
  - {name: t3, type: discard, trunk: [web, db]}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
  - {name: db, vlan: 20, subnet: 10.0.2.0/24, gateway: 10.0.2.1}
)";
const MacAddr kVm1 = mac("02:00:00:00:01:01"), kVm2 = mac("02:00:00:00:01:02"), kVm3 = mac("02:00:00:00:02:03");
const MacAddr kGwWeb = config::default_gateway_mac(10), kGwDb = config::default_gateway_mac(20);

class ForwarderTest : public ::testing::Test {
 protected:
  void add_mac(const char* net, MacAddr m, uint16_t port, bool is_static = false) {
    rig_.add_mac(std::string(net) == "web" ? 0 : 1, m, port, is_static);
  }
  void add_neighbor(const char* a, MacAddr m) { rig_.add_neighbor(ip4(a), m); }
  void send(uint16_t port, const Bytes& frame) { rig_.send(port, frame); }
  std::vector<Bytes> take(uint16_t port) { return rig_.take(port); }
  uint64_t drops(uint16_t port, DropReason r) { return rig_.drops(port, r); }
  std::vector<forward::LearnEvent> learned() { return rig_.learned(); }

  ForwarderRig rig_{kConfig};
};

Bytes udp_frame(Eth e, const char* src, const char* dst, uint8_t ttl = 64) {
  return ipv4(e, ip4(src), ip4(dst), packet::kProtoUdp, udp(1000, 2000), ttl);
}

}  // namespace

TEST_F(ForwarderTest, KnownUnicastGoesToOnePort) {
  add_mac("web", kVm2, 1);
  send(0, udp_frame({kVm2, kVm1}, "10.0.1.11", "10.0.1.12"));
  auto out = take(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(MacAddr::from(out[0].data()), kVm2);
  EXPECT_TRUE(take(2).empty());
  EXPECT_TRUE(take(3).empty());
  // the source was unknown: a learn event for (web, vm1, p0) was queued
  auto ev = learned();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].port, 0);
  EXPECT_EQ(MacAddr::from(ev[0].mac), kVm1);
}

TEST_F(ForwarderTest, BroadcastFloodsOnlyItsNetworkAndTagsOnTrunk) {
  send(0, udp_frame({MacAddr::broadcast(), kVm1}, "10.0.1.11", "10.0.1.255"));
  EXPECT_EQ(take(1).size(), 1u);
  EXPECT_TRUE(take(2).empty()) << "flood crossed into network db";
  auto trunk = take(3);
  ASSERT_EQ(trunk.size(), 1u);
  ASSERT_GE(trunk[0].size(), 18u);
  EXPECT_EQ(packet::load_be16(&trunk[0][12]), packet::kEtherTypeVlan);
  EXPECT_EQ(packet::load_be16(&trunk[0][14]) & 0xfff, 10);
  EXPECT_TRUE(take(0).empty()) << "flooded back to the ingress port";
}

TEST_F(ForwarderTest, TaggedTrunkFrameIsUntaggedOnAccessPort) {
  add_mac("db", kVm3, 2);
  Eth e{kVm3, kVm1, 20};
  send(3, udp_frame(e, "10.0.2.50", "10.0.2.13"));
  auto out = take(2);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(packet::load_be16(&out[0][12]), packet::kEtherTypeIpv4);
}

TEST_F(ForwarderTest, DisallowedVlanIsDropped) {
  send(3, udp_frame({kVm3, kVm1, 30}, "10.0.2.50", "10.0.2.13"));
  send(0, udp_frame({kVm3, kVm1, 20}, "10.0.2.50", "10.0.2.13"));  // tagged frame on an access port
  EXPECT_EQ(drops(3, DropReason::kVlanNotAllowed), 1u);
  EXPECT_EQ(drops(0, DropReason::kVlanNotAllowed), 1u);
}

TEST_F(ForwarderTest, RoutesBetweenNetworks) {
  add_mac("db", kVm3, 2);
  add_neighbor("10.0.2.13", kVm3);
  send(0, udp_frame({kGwWeb, kVm1}, "10.0.1.11", "10.0.2.13", 64));
  auto out = take(2);
  ASSERT_EQ(out.size(), 1u);
  const Bytes& f = out[0];
  EXPECT_EQ(MacAddr::from(&f[0]), kVm3);
  EXPECT_EQ(MacAddr::from(&f[6]), kGwDb);
  EXPECT_EQ(f[14 + 8], 63);
  EXPECT_TRUE(packet::csum_ok(&f[14], 20));
  EXPECT_EQ(rig_.event(pipeline::Event::kRouted), 1u);
}

TEST_F(ForwarderTest, RoutingDropsWithReasons) {
  add_neighbor("10.0.2.13", kVm3);
  send(0, udp_frame({kGwWeb, kVm1}, "10.0.1.11", "10.0.2.13", 1));
  EXPECT_EQ(drops(0, DropReason::kTtlExpired), 1u);
  send(0, udp_frame({kGwWeb, kVm1}, "10.0.1.11", "192.168.7.7"));
  EXPECT_EQ(drops(0, DropReason::kNoRoute), 1u);
  Bytes bad = udp_frame({kGwWeb, kVm1}, "10.0.1.11", "10.0.2.13");
  bad[14 + 10] ^= 0xff;
  send(0, bad);
  EXPECT_EQ(drops(0, DropReason::kIpv4BadChecksum), 1u);
  EXPECT_TRUE(take(2).empty());
}

TEST_F(ForwarderTest, UnresolvedNeighborTriggersArpRequest) {
  send(0, udp_frame({kGwWeb, kVm1}, "10.0.1.11", "10.0.2.77"));
  EXPECT_EQ(drops(0, DropReason::kNeighborUnresolved), 1u);
  auto out = take(2);
  ASSERT_EQ(out.size(), 1u);
  packet::ParsedPacket pp;
  ASSERT_EQ(packet::parse(out[0].data(), static_cast<uint32_t>(out[0].size()), pp), std::nullopt);
  EXPECT_EQ(pp.ethertype, packet::kEtherTypeArp);
  EXPECT_EQ(pp.arp_op, 1);
  EXPECT_EQ(pp.dst_ip, ip4("10.0.2.77"));
  EXPECT_EQ(pp.src_ip, ip4("10.0.2.1"));
  EXPECT_EQ(MacAddr::from(&out[0][6]), kGwDb);
}

TEST_F(ForwarderTest, AnswersArpAndPingForTheGateway) {
  send(0, arp({MacAddr::broadcast(), kVm1}, 1, kVm1, ip4("10.0.1.11"), MacAddr{}, ip4("10.0.1.1")));
  auto out = take(0);
  ASSERT_EQ(out.size(), 1u);
  packet::ParsedPacket pp;
  ASSERT_EQ(packet::parse(out[0].data(), static_cast<uint32_t>(out[0].size()), pp), std::nullopt);
  EXPECT_EQ(pp.arp_op, 2);
  EXPECT_EQ(pp.src_ip, ip4("10.0.1.1"));
  EXPECT_EQ(MacAddr::from(&out[0][14 + 8]), kGwWeb);
  EXPECT_EQ(MacAddr::from(&out[0][0]), kVm1);
  // the requester was gleaned as a neighbour
  bool gleaned = false;
  for (const auto& ev : learned()) gleaned |= ev.kind == forward::LearnEvent::kNeighbor && ev.ip == ip4("10.0.1.11");
  EXPECT_TRUE(gleaned);

  send(0, ipv4({kGwWeb, kVm1}, ip4("10.0.1.11"), ip4("10.0.1.1"), packet::kProtoIcmp, icmp_echo(8)));
  out = take(0);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(packet::parse(out[0].data(), static_cast<uint32_t>(out[0].size()), pp), std::nullopt);
  EXPECT_EQ(pp.src_port, 0);  // echo reply
  EXPECT_EQ(pp.src_ip, ip4("10.0.1.1"));
  EXPECT_EQ(pp.dst_ip, ip4("10.0.1.11"));
  EXPECT_TRUE(packet::csum_ok(&out[0][14], 20));
  EXPECT_TRUE(packet::csum_ok(&out[0][34], 16));
  // anything else to the gateway is dropped, counted
  send(0, ipv4({kGwWeb, kVm1}, ip4("10.0.1.11"), ip4("10.0.1.1"), packet::kProtoUdp, udp(1, 53)));
  EXPECT_EQ(drops(0, DropReason::kLocalUnhandled), 1u);
}

TEST_F(ForwarderTest, StaticMacOnWrongPortIsDropped) {
  add_mac("web", kVm1, 0, true);
  send(1, udp_frame({kVm2, kVm1}, "10.0.1.11", "10.0.1.12"));
  EXPECT_EQ(drops(1, DropReason::kSrcMacSpoofed), 1u);
  EXPECT_TRUE(take(0).empty());
}

TEST_F(ForwarderTest, SamePortAndBadSourceAreDropped) {
  add_mac("web", kVm2, 0);
  send(0, udp_frame({kVm2, kVm1}, "10.0.1.11", "10.0.1.12"));
  EXPECT_EQ(drops(0, DropReason::kSamePort), 1u);
  send(0, udp_frame({kVm2, MacAddr::broadcast()}, "10.0.1.11", "10.0.1.12"));
  EXPECT_EQ(drops(0, DropReason::kBadSrcMac), 1u);
  send(0, Bytes(10, 0));
  EXPECT_EQ(drops(0, DropReason::kRuntFrame), 1u);
}
