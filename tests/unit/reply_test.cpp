// Answers the switch makes (issue 14, the siblings of its defects): reject replies and
// ICMP errors are never sent to or from multicast, broadcast or unspecified addresses,
// for later fragments, or about errors (RFC 1122 3.2.2, RFC 4443 2.4(e)), and within a
// rate; a packet over an output port's mtu that may not be fragmented gets ICMP
// fragmentation needed / packet too big; link-local IPv6 flows are keyed per network;
// IPv6 addresses may not overlap between networks that share the flow-key zone; the
// chain planner copes with an upcall without a packet.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rte_cycles.h>

#include "config/loader.hpp"
#include "flow/flow_key.hpp"
#include "packet/checksum.hpp"
#include "packet/parse.hpp"
#include "support/forwarder_rig.hpp"
#include "support/web_db.hpp"

using namespace ivs;
using namespace ivs::test;
using namespace ivs::test::web_db;
using pipeline::Event;

namespace {

const MacAddr kHost = mac("02:00:00:00:09:09");  // a learned host on p9 (no VM: no port security)

// p1, p2: VMs in web; p3: a VM in db; p9: a port without a VM in web.
std::string config_with(const std::string& rules, const char* default_action = "allow") {
  return web_db::yaml({.vm2 = true, .host_port = true, .gateways = true, .vm1_v6 = "\"fd00::1\"", .vm2_v6 = "\"fd00::2\""}) +
         R"(policy:
  default: )" + default_action + R"(
  rules:
)" + rules;
}
enum : uint16_t { kP1, kP2, kP3, kP9 };

Bytes from_host(uint32_t src, uint32_t dst, uint8_t proto, const Bytes& l4, MacAddr dst_mac = kVm2) {
  return ipv4({dst_mac, kHost}, src, dst, proto, l4);
}
Bytes icmp_error(uint8_t type, const Bytes& quoted) {
  Bytes c(8, 0);
  c[0] = type;
  c.insert(c.end(), quoted.begin() + 14, quoted.begin() + 14 + 28);
  return c;
}
// Sets DF and fixes the header checksum of an untagged IPv4 frame.
Bytes with_df(Bytes f) {
  f[20] = 0x40;
  packet::store_be16(&f[24], 0);
  packet::store_be16(&f[24], packet::csum(&f[14], 20));
  return f;
}

}  // namespace

TEST(RejectReply, NotSentToOrFromNonUnicastAddressesOrForLaterFragments) {
  ForwarderRig rig(config_with("    - {name: rej, protocol: udp, ports: [9], action: reject}\n"));
  // The control: a unicast sender gets its ICMP unreachable.
  rig.send(kP9, from_host(ip4("10.0.1.50"), ip4("10.0.1.12"), packet::kProtoUdp, udp(4000, 9)));
  ASSERT_EQ(rig.take(kP9).size(), 1u);
  EXPECT_EQ(rig.event(Event::kRejectReplies), 1u);
  // Multicast, unspecified, loopback, class E sources; broadcast, multicast and a subnet's
  // broadcast destinations (with a unicast MAC): dropped, no answer, counted.
  const std::pair<const char*, const char*> cases[] = {
      {"224.0.0.5", "10.0.1.12"}, {"0.0.0.0", "10.0.1.12"},  {"127.0.0.1", "10.0.1.12"},    {"240.0.0.1", "10.0.1.12"},
      {"10.0.1.50", "255.255.255.255"}, {"10.0.1.50", "239.1.2.3"}, {"10.0.1.50", "10.0.1.255"}, {"10.0.1.50", "10.0.2.255"}};
  uint16_t sport = 4001;
  for (const auto& [src, dst] : cases) rig.send(kP9, from_host(ip4(src), ip4(dst), packet::kProtoUdp, udp(sport++, 9)));
  EXPECT_TRUE(rig.take(kP9).empty());
  EXPECT_EQ(rig.event(Event::kReplyNotUnicast), std::size(cases));
  EXPECT_EQ(rig.event(Event::kRejectReplies), 1u);
  EXPECT_EQ(rig.drops(kP9, DropReason::kPolicyRejected), 1u + std::size(cases));

  // A fragmented datagram: the first fragment is answered, the later one is not.
  const Bytes head = udp(4100, 9, 16);
  rig.send(kP9, ipv4_fragment({kVm2, kHost}, ip4("10.0.1.50"), ip4("10.0.1.12"), packet::kProtoUdp, head, 77, 0, true));
  EXPECT_EQ(rig.take(kP9).size(), 1u);
  rig.send(kP9, ipv4_fragment({kVm2, kHost}, ip4("10.0.1.50"), ip4("10.0.1.12"), packet::kProtoUdp, Bytes(24, 1), 77, 3, false));
  EXPECT_TRUE(rig.take(kP9).empty());
  EXPECT_EQ(rig.event(Event::kReplyFragment), 1u);
  EXPECT_EQ(rig.event(Event::kRejectReplies), 2u);
}

TEST(RejectReply, NeverAnswersAnErrorAndIsRateLimited) {
  ForwarderRig rig(config_with("    - {name: rej, protocol: icmp, action: reject}\n"
                               "    - {name: ssh, protocol: tcp, ports: [22], action: reject}\n"));
  // An ICMP error (port unreachable) quoting a packet of no known flow, a redirect, an
  // unknown type: rejected flows, but nothing is sent back (no storms).
  const Bytes quoted = from_host(ip4("10.0.1.12"), ip4("10.0.1.50"), packet::kProtoUdp, udp(53, 4000));
  for (uint8_t type : {3, 5, 11, 12, 42}) rig.send(kP9, from_host(ip4("10.0.1.50"), ip4("10.0.1.12"), packet::kProtoIcmp, icmp_error(type, quoted)));
  EXPECT_TRUE(rig.take(kP9).empty());
  EXPECT_EQ(rig.event(Event::kReplyAboutError), 5u);
  // A TCP RST to a rejected port: no RST back.
  rig.send(kP9, from_host(ip4("10.0.1.50"), ip4("10.0.1.12"), packet::kProtoTcp, tcp(4000, 22, 0x04)));
  EXPECT_TRUE(rig.take(kP9).empty());
  EXPECT_EQ(rig.event(Event::kReplyAboutError), 6u);
  // An echo request is answered (informational, not an error) ...
  const uint64_t t0 = rte_rdtsc();
  const Bytes ping = from_host(ip4("10.0.1.50"), ip4("10.0.1.12"), packet::kProtoIcmp, icmp_echo(8, 9));
  rig.send(kP9, ping);
  EXPECT_EQ(rig.take(kP9).size(), 1u);
  // ... but 100 more at one instant get at most the burst (50, one already spent).
  rig.burst(kP9, ping, 100, t0);
  EXPECT_EQ(rig.take(kP9).size(), 49u);
  EXPECT_EQ(rig.event(Event::kReplyRateLimited), 51u);
  EXPECT_EQ(rig.event(Event::kRejectReplies), 50u);
}

TEST(TooBig, SwitchedIpv4WithDfGetsFragmentationNeededWithTheMtu) {
  ForwarderRig rig(config_with(""));
  rig.port_runtime(kP2).tx_mtu = 576;
  const Bytes big = with_df(ipv4({kVm2, kVm1}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoUdp, udp(40000, 53, 1000)));
  rig.send(kP1, big);
  EXPECT_TRUE(rig.take(kP2).empty());
  EXPECT_EQ(rig.drops(kP2, DropReason::kTxTooBig), 1u);
  auto back = rig.take(kP1);
  ASSERT_EQ(back.size(), 1u);
  const Bytes& r = back[0];
  packet::ParsedPacket pp;
  ASSERT_EQ(packet::parse(r.data(), static_cast<uint32_t>(r.size()), pp), std::nullopt);
  EXPECT_EQ(MacAddr::from(r.data()), kVm1);
  EXPECT_EQ(pp.ip_proto, packet::kProtoIcmp);
  EXPECT_EQ(pp.src_ip, ip4("10.0.1.1"));  // the network's gateway address
  EXPECT_EQ(pp.dst_ip, ip4("10.0.1.11"));
  EXPECT_EQ(r[34], 3);  // destination unreachable
  EXPECT_EQ(r[35], 4);  // fragmentation needed
  EXPECT_EQ(packet::load_be16(&r[40]), 576);
  EXPECT_TRUE(packet::csum_ok(&r[14], 20));
  EXPECT_TRUE(packet::csum_ok(&r[34], static_cast<uint32_t>(packet::load_be16(&r[16]) - 20)));
  EXPECT_EQ(std::vector<uint8_t>(r.begin() + 42, r.begin() + 62), std::vector<uint8_t>(big.begin() + 14, big.begin() + 34));
  EXPECT_EQ(rig.event(Event::kTooBigReplies), 1u);
  // Without DF it is fragmented as before; an ICMP error over the mtu with DF is dropped
  // without an answer.
  rig.send(kP1, ipv4({kVm2, kVm1}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoUdp, udp(40001, 53, 1000)));
  EXPECT_EQ(rig.take(kP2).size(), 2u);
  Bytes err = icmp_error(3, big);
  err.resize(1000, 0);
  rig.send(kP1, with_df(ipv4({kVm2, kVm1}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoIcmp, err)));
  EXPECT_TRUE(rig.take(kP1).empty());
  EXPECT_EQ(rig.drops(kP2, DropReason::kTxTooBig), 2u);
  EXPECT_EQ(rig.event(Event::kReplyAboutError), 1u);
  EXPECT_EQ(rig.event(Event::kTooBigReplies), 1u);
}

TEST(TooBig, RoutedIpv4IsAnsweredFromTheSendersGatewayBeforeRewriting) {
  ForwarderRig rig(config_with(""));
  rig.port_runtime(kP3).tx_mtu = 1000;
  rig.send(kP1, with_df(ipv4({kGwWeb, kVm1}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoTcp, cat({tcp(40000, 80, 0x10), Bytes(1200, 7)}))));
  EXPECT_TRUE(rig.take(kP3).empty());
  auto back = rig.take(kP1);
  ASSERT_EQ(back.size(), 1u);
  packet::ParsedPacket pp;
  ASSERT_EQ(packet::parse(back[0].data(), static_cast<uint32_t>(back[0].size()), pp), std::nullopt);
  EXPECT_EQ(MacAddr::from(back[0].data()), kVm1);
  EXPECT_EQ(MacAddr::from(back[0].data() + 6), kGwWeb);
  EXPECT_EQ(pp.src_ip, ip4("10.0.1.1"));
  EXPECT_EQ(packet::load_be16(&back[0][40]), 1000);
  EXPECT_EQ(back[0][22 + 20 + 8], 64) << "the quoted header is the packet as sent (TTL not yet decremented)";
}

TEST(TooBig, Ipv6GetsPacketTooBigQuotingAtMost1280Bytes) {
  ForwarderRig rig(config_with(""));
  rig.port_runtime(kP2).tx_mtu = 1400;
  const Bytes big = ipv6({kVm2, kVm1}, ip6(1), ip6(2), packet::kProtoUdp, udp(40000, 53, 1500));
  rig.send(kP1, big);
  EXPECT_TRUE(rig.take(kP2).empty());
  auto back = rig.take(kP1);
  ASSERT_EQ(back.size(), 1u);
  const Bytes& r = back[0];
  EXPECT_EQ(r.size(), 14u + 1280u);
  packet::ParsedPacket pp;
  ASSERT_EQ(packet::parse(r.data(), static_cast<uint32_t>(r.size()), pp), std::nullopt);
  EXPECT_EQ(pp.ip_proto, packet::kProtoIcmpv6);
  const auto a1 = ip6(1), a2 = ip6(2);
  EXPECT_EQ(std::vector<uint8_t>(r.begin() + 22, r.begin() + 38), std::vector<uint8_t>(a2.begin(), a2.end()));  // from the destination
  EXPECT_EQ(std::vector<uint8_t>(r.begin() + 38, r.begin() + 54), std::vector<uint8_t>(a1.begin(), a1.end()));  // to the sender
  EXPECT_EQ(r[54], 2);  // packet too big
  EXPECT_EQ(packet::load_be32(&r[58]), 1400u);
  // ICMPv6 checksum: pseudo-header + message sums to 0xffff.
  const uint32_t plen = packet::load_be16(&r[18]);
  uint8_t pseudo[8] = {};
  packet::store_be32(pseudo, plen);
  pseudo[7] = packet::kProtoIcmpv6;
  EXPECT_EQ(packet::csum_fold(packet::csum_partial(&r[54], plen, packet::csum_partial(&r[22], 32, packet::csum_partial(pseudo, 8)))), 0xffff);
  EXPECT_EQ(std::vector<uint8_t>(r.begin() + 62, r.begin() + 102), std::vector<uint8_t>(big.begin() + 14, big.begin() + 54));
  // An ICMPv6 error over the mtu: no answer.
  Bytes err(1500, 0);
  err[0] = 1;  // destination unreachable
  rig.send(kP1, ipv6({kVm2, kVm1}, ip6(1), ip6(2), packet::kProtoIcmpv6, err));
  EXPECT_TRUE(rig.take(kP1).empty());
  EXPECT_EQ(rig.event(Event::kReplyAboutError), 1u);
  EXPECT_EQ(rig.drops(kP2, DropReason::kTxTooBig), 2u);
}

// Two networks with subnets share zone 0, but nothing routes link-local IPv6: the same
// link-local 5-tuple in two networks is two flows with two verdicts.
TEST(Zones, LinkLocalIpv6IsKeyedPerNetwork) {
  const std::string yaml = R"(
ports:
  - {name: a, type: discard, network: web}
  - {name: b, type: discard, network: db}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24}
  - {name: db, vlan: 20, subnet: 10.0.2.0/24}
)";
  ForwarderRig rig(yaml);
  std::array<uint8_t, 16> ll1{0xfe, 0x80}, ll2{0xfe, 0x80};
  ll1[15] = 1;
  ll2[15] = 2;
  const Bytes f = ipv6({kVm2, kHost}, ll1, ll2, packet::kProtoUdp, udp(5000, 6000));
  rig.send(0, f);
  rig.send(1, f);
  EXPECT_EQ(rig.flows().size(), 2u);
  // Global addresses in networks with subnets stay in one zone (routed and chained flows).
  const Bytes g = ipv6({kVm2, kHost}, ip6(1), ip6(2), packet::kProtoUdp, udp(5000, 6000));
  rig.send(0, g);
  rig.send(1, g);
  EXPECT_EQ(rig.flows().size(), 3u);
}

TEST(Zones, Ipv6AddressesMayNotOverlapBetweenNetworksWithSubnets) {
  auto load = [](const char* web_addr, const char* db_addr, const char* db_subnet) {
    return config::load_string(fmt::format(R"(ports:
  - {{name: p1, type: discard, network: web}}
  - {{name: p3, type: discard, network: db}}
networks:
  - {{name: web, vlan: 10, subnet: 10.0.1.0/24}}
  - {{name: db, vlan: 20{}}}
vms:
  - {{name: vm1, port: p1, mac: "02:00:00:00:01:01", allowed_addresses: ["{}"]}}
  - {{name: vm3, port: p3, mac: "02:00:00:00:02:03",
      allowed_addresses: ["{}"]}}
)", db_subnet, web_addr, db_addr), "z.yaml");
  };
  auto bad = load("fd00:1::/64", "fd00:1::5", ", subnet: 10.0.2.0/24");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().front().find("z.yaml:10"), std::string::npos) << bad.error().front();
  EXPECT_NE(bad.error().front().find("overlaps fd00:1::/64 of VM 'vm1'"), std::string::npos) << bad.error().front();
  EXPECT_TRUE(load("fd00:1::/64", "fd00:2::5", ", subnet: 10.0.2.0/24"));  // disjoint
  EXPECT_TRUE(load("fd00:1::/64", "fd00:1::5", ""));                        // db has its own zone (no subnet)
}

// An upcall without a packet (mbuf null) for an inspected flow: the planner has no MAC
// to copy; it must not read through the null pointer.
TEST(ChainPlan, UpcallWithoutAPacketPlansWithoutItsMac) {
  const std::string yaml = web_db::yaml({.device = true}) + R"(chains:
  - {name: fw, out_port: fwa, return_port: fwb, on_failure: open}
policy:
  default: allow
  rules:
    - {name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: {inspect: fw}}
)";
  for (const bool down : {false, true}) {
    SCOPED_TRACE(down ? "device down, fail-open" : "device up");
    ForwarderRig rig(yaml);
    if (down) rig.port_down = {2, 3};
    rig.run_policy();  // the policy thread's health check
    const Bytes f = ipv4({kR1, kVm1}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoTcp, tcp(40000, 5432, 0x02));
    policy::Upcall u{};
    ASSERT_EQ(packet::parse(f.data(), static_cast<uint32_t>(f.size()), u.pp), std::nullopt);
    auto dk = flow::make_key(f.data(), static_cast<uint32_t>(f.size()), u.pp);
    ASSERT_TRUE(dk);
    u.key = dk->key;
    u.direction = dk->direction;
    u.network = 0;
    u.in_port = 0;
    u.mbuf = nullptr;
    const auto d = rig.slow_path().decide_now(u);
    // Up: pending, the initiator's side left for the tap sensor; down: allowed, no shortcut.
    EXPECT_EQ(d.chain.outcome, down ? policy::ChainAdmission::Outcome::kBypassedAllowed : policy::ChainAdmission::Outcome::kPending);
    EXPECT_EQ(d.chain.side_net[u.direction], -1);
  }
}
