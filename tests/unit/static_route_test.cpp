// Static and default routes with next hops (config `routes`, docs/config.md): the
// longest-prefix match after the connected networks (rte_lpm), the next hop resolved by
// ARP (unresolved: dropped, counted, an ARP request sent for it), the MACs rewritten to the
// next hop's and the switch's on its network, TTL decremented; ECMP: one next hop per
// flow and direction, from a hash both directions share, kept for the flow's life,
// unresolved ones skipped and counted.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "config/loader.hpp"
#include "flow/flow_key.hpp"
#include "flow/flow_table.hpp"
#include "packet/checksum.hpp"
#include "packet/parse.hpp"
#include "pipeline/forwarder.hpp"
#include "pipeline/next_hop_liveness.hpp"
#include "support/forwarder_rig.hpp"
#include "support/packet_builder.hpp"

using namespace ivs;
using namespace ivs::test;

namespace {

constexpr const char* kConfig = R"(
ports:
  - {name: vm, type: discard, network: web}
  - {name: up, type: discard, network: uplink}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
  - {name: uplink, vlan: 90, subnet: 10.9.0.0/24, gateway: 10.9.0.1}
routes:
  - {prefix: 0.0.0.0/0, via: 10.9.0.2}
  - prefix: 198.51.100.0/24
    via: [10.9.0.3, 10.9.0.4]
  - {prefix: 10.0.0.0/8, via: 10.9.0.2}
)";
const MacAddr kVm = mac("02:00:00:00:01:0b"), kR1 = mac("02:00:00:00:09:02"), kR2 = mac("02:00:00:00:09:03"),
              kR3 = mac("02:00:00:00:09:04");
const MacAddr kGwWeb = config::default_gateway_mac(10), kGwUp = config::default_gateway_mac(90);
constexpr uint16_t kVmPort = 0, kUpPort = 1;
constexpr int16_t kWeb = 0, kUplink = 1;

Bytes udp_to(const char* dst, uint16_t sport, uint8_t ttl = 64) {
  return ipv4({kGwWeb, kVm}, ip4("10.0.1.11"), ip4(dst), packet::kProtoUdp, udp(sport, 53), ttl);
}

// Where the symmetric hash of the flow of `frame` points among `count` next hops.
uint16_t hashed_hop(const Bytes& frame, uint16_t count) {
  packet::ParsedPacket pp;
  EXPECT_EQ(packet::parse(frame.data(), static_cast<uint32_t>(frame.size()), pp), std::nullopt);
  flow::DirectedKey dk;
  EXPECT_TRUE(flow::make_key(frame.data(), static_cast<uint32_t>(frame.size()), pp, dk));
  return forward::ecmp_pick(flow::FlowTable::hash(dk.key), count);
}

class StaticRouteTest : public ::testing::Test {
 protected:
  void resolve(const char* ip, MacAddr m) {
    rig_.add_neighbor(ip4(ip), m);
    rig_.add_mac(kUplink, m, kUpPort);
  }
  ForwarderRig rig_{kConfig};
};

}  // namespace

TEST(StaticRouteTable, LongestPrefixAfterTheConnectedNetworks) {
  ForwarderRig rig{kConfig};
  const auto& t = rig.tables();
  ASSERT_EQ(t.static_routes().size(), 3u);
  ASSERT_EQ(t.next_hops().size(), 4u);
  // A connected network's address: its network, even under the 10/8 route and the default.
  EXPECT_EQ(t.lookup(ip4("10.0.1.77")).network, kWeb);
  EXPECT_EQ(t.lookup(ip4("10.0.1.77")).route, -1);
  EXPECT_EQ(t.lookup(ip4("10.9.0.3")).network, kUplink);
  // Outside them: the longest static prefix.
  EXPECT_EQ(t.lookup(ip4("10.200.0.1")).route, 2);
  EXPECT_EQ(t.lookup(ip4("198.51.100.9")).route, 1);
  EXPECT_EQ(t.lookup(ip4("8.8.8.8")).route, 0);
  EXPECT_EQ(t.lookup(ip4("200.1.1.1")).route, 0);  // (the default route is two /1 halves in rte_lpm)
  EXPECT_EQ(t.lookup(ip4("8.8.8.8")).network, forward::kNoNetwork);
  // route() stays the connected networks' (what owns an address: broadcasts, neighbours).
  EXPECT_EQ(t.route(ip4("8.8.8.8")), forward::kNoNetwork);
  // Each next hop in the network that holds it.
  EXPECT_EQ(t.next_hop(t.static_route(1).first).ip.value, ip4("10.9.0.3"));
  EXPECT_EQ(t.next_hop(t.static_route(1).first + 1u).network, kUplink);
  EXPECT_EQ(t.static_route(1).count, 2);
}

TEST(StaticRouteTable, WithoutRoutesNothingOutsideTheNetworksIsRouted) {
  ForwarderRig rig{R"(
ports:
  - {name: vm, type: discard, network: web}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
)"};
  EXPECT_FALSE(rig.tables().lookup(ip4("8.8.8.8")).found());
  EXPECT_TRUE(rig.tables().lookup(ip4("10.0.1.9")).found());
}

// The ECMP hash is the flow key's, the same for both directions; the pick spreads.
TEST(StaticRouteTable, EcmpPickIsSymmetricAndSpreads) {
  std::map<uint16_t, unsigned> seen;
  for (uint16_t sport = 1000; sport < 1400; ++sport) {
    const Bytes there = ipv4({kGwWeb, kVm}, ip4("10.0.1.11"), ip4("198.51.100.9"), packet::kProtoTcp, tcp(sport, 443, 0x02));
    const Bytes back = ipv4({kGwUp, kR1}, ip4("198.51.100.9"), ip4("10.0.1.11"), packet::kProtoTcp, tcp(443, sport, 0x12));
    const uint16_t a = hashed_hop(there, 4), b = hashed_hop(back, 4);
    EXPECT_EQ(a, b) << "sport " << sport;
    EXPECT_LT(a, 4);
    ++seen[a];
  }
  ASSERT_EQ(seen.size(), 4u);
  for (const auto& [hop, n] : seen) EXPECT_GT(n, 50u) << "hop " << hop;  // 100 each when even
  EXPECT_EQ(forward::ecmp_pick(0, 3), 0);
  EXPECT_EQ(forward::ecmp_pick(UINT32_MAX, 3), 2);
}

TEST_F(StaticRouteTest, DefaultRouteGoesToItsNextHop) {
  resolve("10.9.0.2", kR1);
  rig_.send(kVmPort, udp_to("203.0.113.9", 1000));
  auto out = rig_.take(kUpPort);
  ASSERT_EQ(out.size(), 1u);
  const Bytes& f = out[0];
  EXPECT_EQ(MacAddr::from(&f[0]), kR1);
  EXPECT_EQ(MacAddr::from(&f[6]), kGwUp);
  EXPECT_EQ(f[14 + 8], 63);
  EXPECT_TRUE(packet::csum_ok(&f[14], 20));
  EXPECT_EQ(packet::load_be32(&f[14 + 16]), ip4("203.0.113.9"));  // the destination is the packet's, not the next hop's
  EXPECT_EQ(rig_.next_hop_packets(0), 1u);
  EXPECT_EQ(rig_.event(pipeline::Event::kRoutedStatic), 1u);
  EXPECT_EQ(rig_.event(pipeline::Event::kRouted), 1u);
  // A connected destination under the 10/8 route is not sent to the next hop.
  rig_.add_neighbor(ip4("10.9.0.50"), kR2);
  rig_.add_mac(kUplink, kR2, kUpPort);
  rig_.send(kVmPort, udp_to("10.9.0.50", 1001));
  out = rig_.take(kUpPort);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(MacAddr::from(&out[0][0]), kR2);
  EXPECT_EQ(rig_.next_hop_packets(0), 1u);
}

TEST_F(StaticRouteTest, UnresolvedNextHopIsAskedForByArp) {
  rig_.send(kVmPort, udp_to("203.0.113.9", 1000));
  EXPECT_EQ(rig_.drops(kVmPort, DropReason::kNextHopUnresolved), 1u);
  EXPECT_EQ(rig_.drops(kVmPort, DropReason::kNeighborUnresolved), 0u);
  auto out = rig_.take(kUpPort);
  ASSERT_EQ(out.size(), 1u);
  packet::ParsedPacket pp;
  ASSERT_EQ(packet::parse(out[0].data(), static_cast<uint32_t>(out[0].size()), pp), std::nullopt);
  EXPECT_EQ(pp.ethertype, packet::kEtherTypeArp);
  EXPECT_EQ(pp.arp_op, 1);
  EXPECT_EQ(pp.dst_ip, ip4("10.9.0.2"));  // the next hop, not the destination
  EXPECT_EQ(pp.src_ip, ip4("10.9.0.1"));
  EXPECT_EQ(MacAddr::from(&out[0][6]), kGwUp);
  EXPECT_EQ(rig_.next_hop_packets(0), 0u);
}

// Many flows over two next hops: both used, each flow's packets always on one.
TEST_F(StaticRouteTest, EcmpSpreadsFlowsAndKeepsEachOnOneNextHop) {
  resolve("10.9.0.3", kR2);
  resolve("10.9.0.4", kR3);
  std::map<uint16_t, MacAddr> hop_of;
  for (int round = 0; round < 3; ++round)
    for (uint16_t sport = 2000; sport < 2040; ++sport) {
      rig_.send(kVmPort, udp_to("198.51.100.9", sport));
      auto out = rig_.take(kUpPort);
      ASSERT_EQ(out.size(), 1u) << "sport " << sport;
      const MacAddr to = MacAddr::from(&out[0][0]);
      EXPECT_TRUE(to == kR2 || to == kR3);
      auto [it, fresh] = hop_of.emplace(sport, to);
      EXPECT_EQ(it->second, to) << "flow " << sport << " changed next hop in round " << round;
      // The hop is the one the flow's hash points to (both resolved: nothing skipped).
      EXPECT_EQ(to, hashed_hop(udp_to("198.51.100.9", sport), 2) == 0 ? kR2 : kR3);
    }
  const uint64_t a = rig_.next_hop_packets(1), b = rig_.next_hop_packets(2);
  EXPECT_EQ(a + b, 120u);
  EXPECT_GT(a, 15u);
  EXPECT_GT(b, 15u);
  EXPECT_EQ(rig_.event(pipeline::Event::kEcmpHopSkipped), 0u);
}

// A next hop without a MAC is skipped (counted, asked for by ARP); a flow placed on
// the other one stays there once the first resolves; a new flow takes its hashed hop.
TEST_F(StaticRouteTest, EcmpSkipsAnUnresolvedNextHopAndKeepsTheFlowWhereItWent) {
  uint16_t to_first = 0, to_first2 = 0;  // flows whose hash points at 10.9.0.3
  for (uint16_t sport = 3000; !to_first2; ++sport)
    if (hashed_hop(udp_to("198.51.100.9", sport), 2) == 0) (to_first ? to_first2 : to_first) = sport;
  resolve("10.9.0.4", kR3);
  rig_.send(kVmPort, udp_to("198.51.100.9", to_first));  // first packet: re-injected, no entry yet
  auto up = rig_.take(kUpPort);
  ASSERT_EQ(up.size(), 2u);  // the packet to .4, and an ARP request for .3
  EXPECT_EQ(MacAddr::from(&up[0][0]), kR3);
  packet::ParsedPacket pp;
  ASSERT_EQ(packet::parse(up[1].data(), static_cast<uint32_t>(up[1].size()), pp), std::nullopt);
  EXPECT_EQ(pp.ethertype, packet::kEtherTypeArp);
  EXPECT_EQ(pp.dst_ip, ip4("10.9.0.3"));
  EXPECT_GE(rig_.event(pipeline::Event::kEcmpHopSkipped), 1u);
  rig_.send(kVmPort, udp_to("198.51.100.9", to_first));  // cached: the flow's entry keeps .4
  up = rig_.take(kUpPort);
  ASSERT_GE(up.size(), 1u);
  EXPECT_EQ(MacAddr::from(&up[0][0]), kR3);
  resolve("10.9.0.3", kR2);
  for (int i = 0; i < 3; ++i) {
    rig_.send(kVmPort, udp_to("198.51.100.9", to_first));
    up = rig_.take(kUpPort);
    ASSERT_EQ(up.size(), 1u);
    EXPECT_EQ(MacAddr::from(&up[0][0]), kR3) << "the flow moved when its hashed next hop resolved";
  }
  rig_.send(kVmPort, udp_to("198.51.100.9", to_first2));  // a new flow: its hashed hop, now resolved
  up = rig_.take(kUpPort);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(MacAddr::from(&up[0][0]), kR2);
}

TEST_F(StaticRouteTest, EcmpWithNoResolvedNextHopDropsAndAsks) {
  rig_.send(kVmPort, udp_to("198.51.100.9", 4000));
  EXPECT_EQ(rig_.drops(kVmPort, DropReason::kNextHopUnresolved), 1u);
  EXPECT_EQ(rig_.event(pipeline::Event::kEcmpHopSkipped), 2u);
  auto up = rig_.take(kUpPort);
  ASSERT_EQ(up.size(), 1u);
  packet::ParsedPacket pp;
  ASSERT_EQ(packet::parse(up[0].data(), static_cast<uint32_t>(up[0].size()), pp), std::nullopt);
  EXPECT_EQ(pp.ethertype, packet::kEtherTypeArp);
  EXPECT_EQ(pp.dst_ip, hashed_hop(udp_to("198.51.100.9", 4000), 2) == 0 ? ip4("10.9.0.3") : ip4("10.9.0.4"));
}

// A next hop's liveness by itself (pipeline/next_hop_liveness.hpp), on a made-up clock.
TEST(NextHopLiveness, AskedWhenNotHeardFromAndDownWhenSilent) {
  pipeline::NextHopLiveness l;
  EXPECT_FALSE(l.down(100));
  EXPECT_TRUE(l.take_probe(100)) << "never heard from: asked at first use";
  EXPECT_FALSE(l.take_probe(100)) << "one probe per second";
  EXPECT_FALSE(l.down(102));
  EXPECT_TRUE(l.take_probe(102));
  EXPECT_EQ(l.asked_s.load(), 100u) << "the first unanswered probe is what the silence counts from";
  EXPECT_TRUE(l.down(103));
  l.heard(103);
  EXPECT_FALSE(l.down(103));
  EXPECT_FALSE(l.take_probe(103)) << "just heard from: nothing to ask";
  EXPECT_TRUE(l.take_probe(104));
  EXPECT_FALSE(l.down(107)) << "asked once only";
  EXPECT_TRUE(l.take_probe(105));
  EXPECT_FALSE(l.down(106));
  EXPECT_TRUE(l.down(107));
}

// Each datapath thread reads its clock once per loop: one may be a second behind a stamp
// another just wrote. That is not three seconds of silence, nor a second to probe again.
TEST(NextHopLiveness, AThreadOneSecondBehindSeesNoSilence) {
  pipeline::NextHopLiveness l;
  l.heard(100);
  EXPECT_TRUE(l.take_probe(101));   // a thread on 101
  EXPECT_FALSE(l.down(100));        // a thread still on 100
  EXPECT_FALSE(l.take_probe(100));  // and it does not pull the probe's second back
  EXPECT_EQ(l.probed_s.load(), 101u);
  EXPECT_TRUE(l.take_probe(102));
  EXPECT_FALSE(l.down(101));
  EXPECT_FALSE(l.down(103));
  EXPECT_TRUE(l.down(104));
}

// One probe whose answer was lost, then no traffic: not down, however long it stays idle;
// its next use asks again from scratch.
TEST(NextHopLiveness, AnIdleNextHopWithOneLostAnswerIsNotDown) {
  pipeline::NextHopLiveness l;
  l.heard(100);
  EXPECT_TRUE(l.take_probe(101));
  EXPECT_FALSE(l.down(200));
  EXPECT_TRUE(l.take_probe(200));
  EXPECT_EQ(l.asked_s.load(), 200u) << "the new run of probes counts from its own first";
  EXPECT_FALSE(l.down(200));
  EXPECT_TRUE(l.take_probe(201));
  EXPECT_FALSE(l.down(202));
  EXPECT_TRUE(l.down(203));
}

// Failover: a next hop asked by ARP and silent for 3 s is passed over, and its flows move
// to the route's other next hop; its answer brings it back for new flows (moved ones stay).
TEST_F(StaticRouteTest, EcmpMovesFlowsOffANextHopThatStopsAnswering) {
  pipeline::NextHopLiveness* live = rig_.check_next_hops();
  constexpr size_t kHop3 = 1, kHop4 = 2;  // next-hop indices of 10.9.0.3 and .4 (10.9.0.2 is 0)
  uint16_t to3 = 0, to3_later = 0;        // flows whose hash points at 10.9.0.3
  for (uint16_t sport = 5000; !to3_later; ++sport)
    if (hashed_hop(udp_to("198.51.100.9", sport), 2) == 0) (to3 ? to3_later : to3) = sport;
  resolve("10.9.0.3", kR2);
  resolve("10.9.0.4", kR3);
  // Splits frames to the uplink into data (by destination MAC) and ARP requests (target).
  struct Out {
    std::vector<MacAddr> data;
    std::vector<std::pair<MacAddr, uint32_t>> arp;  // (destination MAC, target address)
  };
  const auto sort_out = [&] {
    Out o;
    for (const Bytes& f : rig_.take(kUpPort)) {
      packet::ParsedPacket pp;
      EXPECT_EQ(packet::parse(f.data(), static_cast<uint32_t>(f.size()), pp), std::nullopt);
      if (pp.ethertype == packet::kEtherTypeArp)
        o.arp.emplace_back(MacAddr::from(f.data()), pp.dst_ip);
      else
        o.data.push_back(MacAddr::from(f.data()));
    }
    return o;
  };

  rig_.send(kVmPort, udp_to("198.51.100.9", to3));
  Out o = sort_out();
  ASSERT_EQ(o.data, std::vector<MacAddr>{kR2});
  // Never heard from: asked at once, to its MAC only.
  ASSERT_EQ(o.arp.size(), 1u);
  EXPECT_EQ(o.arp[0].first, kR2);
  EXPECT_EQ(o.arp[0].second, ip4("10.9.0.3"));
  EXPECT_EQ(rig_.event(pipeline::Event::kNextHopProbes), 1u);
  EXPECT_GT(live[kHop3].asked_s.load(), 0u);
  EXPECT_EQ(live[kHop4].asked_s.load(), 0u) << "a next hop not in use is not asked";

  // Asked twice and silent for three seconds (the clock moved by hand: the probes' times
  // pushed back).
  const uint32_t now = ForwarderRig::now_s();
  live[kHop3].asked_s = now - 3;
  live[kHop3].probed_s = now - 1;
  const uint64_t skipped = rig_.event(pipeline::Event::kEcmpHopSkipped);
  const uint64_t probes = rig_.event(pipeline::Event::kNextHopProbes);
  rig_.send(kVmPort, udp_to("198.51.100.9", to3));
  o = sort_out();
  EXPECT_EQ(o.data, std::vector<MacAddr>{kR3}) << "the flow did not move off the silent next hop";
  EXPECT_GT(rig_.event(pipeline::Event::kEcmpHopSkipped), skipped);
  // Exactly two probes: .3 by broadcast (down: it may come back with another MAC), once for
  // the second however often it is passed over; .4, never heard from, to its MAC.
  using Arp = std::pair<MacAddr, uint32_t>;
  EXPECT_EQ(o.arp, (std::vector<Arp>{{MacAddr::broadcast(), ip4("10.9.0.3")}, {kR3, ip4("10.9.0.4")}}));
  EXPECT_EQ(rig_.event(pipeline::Event::kNextHopProbes), probes + 2);
  rig_.send(kVmPort, udp_to("198.51.100.9", to3_later));
  EXPECT_EQ(sort_out().data, std::vector<MacAddr>{kR3}) << "a new flow hashed to the down next hop";

  // Its own ARP request is no answer: a router that no longer receives still asks for its
  // neighbours (it kept itself up that way in the demo's hung router).
  rig_.send(kUpPort, arp({MacAddr::broadcast(), kR2}, 1, kR2, ip4("10.9.0.3"), MacAddr{}, ip4("10.9.0.1")));
  rig_.take(kVmPort);
  rig_.take(kUpPort);
  EXPECT_NE(live[kHop3].asked_s.load(), 0u) << "a request from the next hop counted as its answer";
  rig_.send(kVmPort, udp_to("198.51.100.9", to3_later));
  EXPECT_EQ(sort_out().data, std::vector<MacAddr>{kR3});

  // It answers: up again. The moved flow stays where it went; a new one takes its hash.
  rig_.send(kUpPort, arp({kGwUp, kR2}, 2, kR2, ip4("10.9.0.3"), kGwUp, ip4("10.9.0.1")));
  rig_.take(kVmPort);
  EXPECT_EQ(live[kHop3].asked_s.load(), 0u);
  rig_.send(kVmPort, udp_to("198.51.100.9", to3));
  EXPECT_EQ(sort_out().data, std::vector<MacAddr>{kR3});
  uint16_t fresh = 0;
  for (uint16_t sport = 6000; !fresh; ++sport)
    if (hashed_hop(udp_to("198.51.100.9", sport), 2) == 0) fresh = sport;
  rig_.send(kVmPort, udp_to("198.51.100.9", fresh));
  EXPECT_EQ(sort_out().data, std::vector<MacAddr>{kR2});
}

// Routes are compiled with the networks: a reload that changes them is refused, saying so.
TEST(StaticRouteReload, ChangedRoutesAreRefusedAtRuntime) {
  ForwarderRig rig{kConfig};
  std::string next = kConfig;
  next.replace(next.find("via: 10.9.0.2}"), 14, "via: 10.9.0.5}");
  const auto r = rig.reload_staged(next, 2);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("the routes differ"), std::string::npos) << r.error();
  EXPECT_TRUE(rig.reload_staged(kConfig, 3).has_value());
}

// A transit flow whose two directions are routed by two different ECMP routes (two next
// hops one way, three the other): each direction keeps the next hop its own route's pick
// gave it. With one kept byte for both, the reply's index (of the three) was read by the
// forward direction (of the two) and the flow moved mid-way, one direction or the other.
TEST(StaticRouteEcmp, EachDirectionKeepsItsOwnNextHop) {
  ForwarderRig rig{R"(
ports:
  - {name: up1, type: discard, network: uplink1}
  - {name: up2, type: discard, network: uplink2}
networks:
  - {name: uplink1, vlan: 91, subnet: 10.9.1.0/24, gateway: 10.9.1.1}
  - {name: uplink2, vlan: 92, subnet: 10.9.2.0/24, gateway: 10.9.2.1}
routes:
  - {prefix: 198.51.100.0/24, via: [10.9.1.3, 10.9.1.4]}
  - {prefix: 192.0.2.0/24, via: [10.9.2.5, 10.9.2.6, 10.9.2.7]}
)"};
  constexpr uint16_t kUp1 = 0, kUp2 = 1;
  const MacAddr gw1 = config::default_gateway_mac(91), gw2 = config::default_gateway_mac(92);
  const MacAddr a[2] = {mac("02:00:00:09:01:03"), mac("02:00:00:09:01:04")};
  const MacAddr b[3] = {mac("02:00:00:09:02:05"), mac("02:00:00:09:02:06"), mac("02:00:00:09:02:07")};
  for (int i = 0; i < 2; ++i) {
    rig.add_neighbor(ip4(i ? "10.9.1.4" : "10.9.1.3"), a[i]);
    rig.add_mac(0, a[i], kUp1);
  }
  static const char* kB[] = {"10.9.2.5", "10.9.2.6", "10.9.2.7"};
  for (int i = 0; i < 3; ++i) {
    rig.add_neighbor(ip4(kB[i]), b[i]);
    rig.add_mac(1, b[i], kUp2);
  }
  // 192.0.2.7 (behind uplink2's routers) talks to 198.51.100.9 (behind uplink1's).
  auto forward = [&](uint16_t sport) {
    return ipv4({gw2, b[0]}, ip4("192.0.2.7"), ip4("198.51.100.9"), packet::kProtoUdp, udp(sport, 53));
  };
  auto reply = [&](uint16_t sport) {
    return ipv4({gw1, a[0]}, ip4("198.51.100.9"), ip4("192.0.2.7"), packet::kProtoUdp, udp(53, sport));
  };
  // Flows whose two picks differ (the shared byte then disagrees with one of them).
  std::vector<uint16_t> flows;
  for (uint16_t sport = 5000; flows.size() < 6; ++sport)
    if (hashed_hop(forward(sport), 2) != hashed_hop(forward(sport), 3)) flows.push_back(sport);
  for (int round = 0; round < 4; ++round)
    for (uint16_t sport : flows) {
      const uint16_t fwd_hop = hashed_hop(forward(sport), 2), back_hop = hashed_hop(reply(sport), 3);
      rig.send(kUp2, forward(sport));
      auto out = rig.take(kUp1);
      ASSERT_EQ(out.size(), 1u) << "sport " << sport;
      EXPECT_EQ(MacAddr::from(&out[0][0]), a[fwd_hop]) << "flow " << sport << " forward moved in round " << round;
      rig.send(kUp1, reply(sport));
      out = rig.take(kUp2);
      ASSERT_EQ(out.size(), 1u) << "sport " << sport;
      EXPECT_EQ(MacAddr::from(&out[0][0]), b[back_hop]) << "flow " << sport << " reply moved in round " << round;
    }
  EXPECT_EQ(rig.event(pipeline::Event::kEcmpHopSkipped), 0u);
}
