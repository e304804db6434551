// IPv6 extension headers and IP fragments through the real forwarder and policy
// (issue 14 items 1 and 2): the flow is keyed by the transport header behind the
// extension headers; later fragments follow their datagram's verdict; tiny, overlapping
// and orphan fragments are dropped with their counters. The fragment table on its own:
// completion, overlap, timeout, bounds.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <rte_cycles.h>

#include "config/core_specs.hpp"
#include "config/loader.hpp"
#include "dpdk/port.hpp"

#include "flow/flow_key.hpp"
#include "flow/frag_table.hpp"
#include "packet/parse.hpp"
#include "support/forwarder_rig.hpp"
#include "support/two_vms.hpp"

using namespace ivs;
using namespace ivs::test;

namespace {

const MacAddr kVm1 = mac("02:00:00:00:01:01"), kVm2 = mac("02:00:00:00:01:02");
const Eth kToVm2{kVm2, kVm1};

std::string config_with(const char* default_action) {
  return TwoVms{.network_more = ", gateway: 10.0.1.1",
                .vm_more = {R"(, allowed_addresses: ["fd00::1"])", R"(, allowed_addresses: ["fd00::2"])"}}
             .yaml() +
         R"(policy:
  default: )" + default_action + R"(
  rules:
    - {name: web, protocol: tcp, ports: [80], action: allow}
    - {name: ssh, protocol: tcp, ports: [22], action: drop}
    - {name: dns, protocol: udp, ports: [53], action: allow}
    - {name: bad, protocol: udp, ports: [6666], action: drop}
    - {name: telnet, protocol: tcp, ports: [23], action: reject}
)";
}

Bytes v6(uint8_t next, const Bytes& rest) { return ipv6(kToVm2, ip6(1), ip6(2), next, rest); }
Bytes v4frag(uint8_t proto, const Bytes& part, uint16_t id, uint16_t offset, bool more) {
  return ipv4_fragment(kToVm2, ip4("10.0.1.11"), ip4("10.0.1.12"), proto, part, id, offset, more);
}
// A UDP datagram's first 24 octets (header + 16) as its first fragment.
Bytes udp_head(uint16_t dport) { return udp(40000, dport, 16); }

}  // namespace

// Item 1: a TCP SYN to a denied port with an extension header in front was keyed as
// protocol 0/60/44 with ports 0 and escaped the rule (default allow forwarded it).
TEST(Ipv6Ext, DeniedPortBehindExtensionHeadersIsDenied) {
  ForwarderRig rig(config_with("allow"));
  rig.send(0, v6(0, cat({ipv6_ext(0, packet::kProtoTcp), tcp(40000, 22, 0x02)})));
  rig.send(0, v6(60, cat({ipv6_ext(60, packet::kProtoTcp, 2), tcp(40001, 22, 0x02)})));
  rig.send(0, v6(0, cat({ipv6_ext(0, 44), ipv6_frag(60, 0, true, 7), ipv6_ext(60, packet::kProtoTcp), tcp(40002, 22, 0x02),
                         Bytes(4, 0)})));
  EXPECT_TRUE(rig.take(1).empty());
  EXPECT_EQ(rig.drops(0, DropReason::kPolicyDenied), 3u);
  EXPECT_EQ(rig.flows().size(), 3u);
  // The same SYN without extension headers: the same verdict.
  rig.send(0, v6(packet::kProtoTcp, tcp(40003, 22, 0x02)));
  EXPECT_EQ(rig.drops(0, DropReason::kPolicyDenied), 4u);
}

// Item 1: under default drop, legitimate IPv6 with extension headers was dropped.
TEST(Ipv6Ext, AllowedFlowWithExtensionHeadersPassesUnderDefaultDrop) {
  ForwarderRig rig(config_with("drop"));
  const Bytes syn = v6(0, cat({ipv6_ext(0, 60), ipv6_ext(60, 43, 1), ipv6_ext(43, packet::kProtoTcp), tcp(40000, 80, 0x02)}));
  rig.send(0, syn);
  rig.send(0, syn);
  EXPECT_EQ(rig.take(1).size(), 2u);
  ASSERT_EQ(rig.flows().size(), 1u);
  EXPECT_EQ(rig.drops(0, DropReason::kPolicyDenied), 0u);
  // Malformed and too-long chains are counted.
  rig.send(0, v6(60, Bytes(4, 0)));
  Bytes chain;
  for (unsigned i = 0; i <= packet::kMaxIpv6ExtHeaders; ++i) chain = cat({chain, ipv6_ext(60, i == packet::kMaxIpv6ExtHeaders ? 6 : 60)});
  rig.send(0, v6(60, cat({chain, tcp(40000, 80, 0x02)})));
  EXPECT_EQ(rig.drops(0, DropReason::kIpv6ExtMalformed), 1u);
  EXPECT_EQ(rig.drops(0, DropReason::kIpv6ExtChainTooLong), 1u);
  EXPECT_TRUE(rig.take(1).empty());
}

// Item 2: later fragments were keyed as their own flows (ports 0): dropped under default
// drop although their datagram was allowed; passed under default allow although it was
// denied.
TEST(Fragments, LaterFragmentsFollowAnAllowedDatagram) {
  ForwarderRig rig(config_with("drop"));
  rig.send(0, v4frag(packet::kProtoUdp, udp_head(53), 0x111, 0, true));
  rig.send(0, v4frag(packet::kProtoUdp, Bytes(24, 1), 0x111, 3, true));
  rig.send(0, v4frag(packet::kProtoUdp, Bytes(10, 2), 0x111, 6, false));
  EXPECT_EQ(rig.take(1).size(), 3u);
  EXPECT_EQ(rig.flows().size(), 1u);
  EXPECT_EQ(rig.forwarder_frags_in_use(), 0u) << "a whole datagram is forgotten";
  // IPv6: the Fragment header's Next Header is Destination Options, then UDP.
  rig.send(0, v6(44, cat({ipv6_frag(60, 0, true, 0x2222), ipv6_ext(60, packet::kProtoUdp), udp(40000, 53, 8)})));
  rig.send(0, v6(44, cat({ipv6_frag(60, 3, false, 0x2222), Bytes(30, 3)})));
  EXPECT_EQ(rig.take(1).size(), 2u);
  EXPECT_EQ(rig.flows().size(), 2u);
  EXPECT_EQ(rig.drops(0, DropReason::kPolicyDenied), 0u);
  EXPECT_EQ(rig.drops(0, DropReason::kFragNoFirst), 0u);
}

TEST(Fragments, LaterFragmentsOfADeniedOrRejectedDatagramDoNotPass) {
  ForwarderRig rig(config_with("allow"));
  rig.send(0, v4frag(packet::kProtoUdp, udp_head(6666), 0x333, 0, true));
  rig.send(0, v4frag(packet::kProtoUdp, Bytes(24, 1), 0x333, 3, false));
  rig.send(0, v6(44, cat({ipv6_frag(packet::kProtoTcp, 0, true, 0x444), tcp(40000, 22, 0x02), Bytes(4, 0)})));
  rig.send(0, v6(44, cat({ipv6_frag(packet::kProtoTcp, 3, false, 0x444), Bytes(24, 5)})));
  EXPECT_TRUE(rig.take(1).empty());
  EXPECT_EQ(rig.drops(0, DropReason::kPolicyDenied), 4u);
  EXPECT_EQ(rig.flows().size(), 2u);
  // Rejected: the first fragment is answered (RST), a later one is not.
  rig.send(0, v4frag(packet::kProtoTcp, cat({tcp(40000, 23, 0x02), Bytes(4, 0)}), 0x555, 0, true));
  EXPECT_EQ(rig.take(0).size(), 1u);
  rig.send(0, v4frag(packet::kProtoTcp, Bytes(24, 1), 0x555, 3, false));
  EXPECT_TRUE(rig.take(0).empty());
  EXPECT_TRUE(rig.take(1).empty());
  EXPECT_EQ(rig.drops(0, DropReason::kPolicyRejected), 2u);
}

TEST(Fragments, TinyOverlappingAndOrphanFragmentsAreDroppedAndCounted) {
  ForwarderRig rig(config_with("allow"));
  // Tiny first fragment: 16 octets of a TCP header.
  rig.send(0, v4frag(packet::kProtoTcp, Bytes(16, 0), 0x10, 0, true));
  // RFC 1858: a TCP fragment at offset 8 octets.
  rig.send(0, v4frag(packet::kProtoTcp, Bytes(16, 0), 0x11, 1, false));
  EXPECT_EQ(rig.drops(0, DropReason::kFragTiny), 2u);
  // Overlap: the second fragment starts inside the first; the datagram's rest is dropped too.
  rig.send(0, v4frag(packet::kProtoUdp, udp_head(53), 0x12, 0, true));
  rig.send(0, v4frag(packet::kProtoUdp, Bytes(24, 1), 0x12, 2, true));
  rig.send(0, v4frag(packet::kProtoUdp, Bytes(8, 1), 0x12, 5, false));
  EXPECT_EQ(rig.drops(0, DropReason::kFragOverlap), 2u);
  // A later fragment whose first never came.
  rig.send(0, v4frag(packet::kProtoUdp, Bytes(8, 1), 0x13, 5, false));
  rig.send(0, v6(44, cat({ipv6_frag(packet::kProtoUdp, 5, false, 0x14), Bytes(8, 1)})));
  EXPECT_EQ(rig.drops(0, DropReason::kFragNoFirst), 2u);
  EXPECT_EQ(rig.take(1).size(), 1u);  // only the overlapped datagram's first fragment went
}

// The table on its own, with an injected clock.
namespace {
struct Frag {
  Bytes frame;
  packet::ParsedPacket pp;
  flow::DirectedKey dk;
};
Frag make(const Bytes& f) {
  Frag r{f, {}, {}};
  EXPECT_EQ(packet::parse(r.frame.data(), static_cast<uint32_t>(r.frame.size()), r.pp), std::nullopt);
  EXPECT_TRUE(flow::make_key(r.frame.data(), static_cast<uint32_t>(r.frame.size()), r.pp, r.dk));
  return r;
}
std::optional<DropReason> follow(flow::FragTable& t, Frag& f, uint64_t tsc, int16_t net = 0) {
  return t.follow(f.frame.data(), f.pp, net, f.dk, tsc);
}
}  // namespace

TEST(FragTable, LaterFragmentTakesTheFirstFragmentsFlow) {
  const uint64_t hz = rte_get_tsc_hz(), t0 = 1000 * hz;
  flow::FragTable t(hz);
  Frag first = make(v4frag(packet::kProtoUdp, udp_head(53), 9, 0, true));
  Frag last = make(v4frag(packet::kProtoUdp, Bytes(8, 1), 9, 3, false));
  EXPECT_EQ(last.pp.src_port, 0);
  ASSERT_EQ(follow(t, first, t0), std::nullopt);
  EXPECT_EQ(t.in_use(), 1u);
  Frag other_net = make(v4frag(packet::kProtoUdp, Bytes(8, 1), 9, 3, false));
  EXPECT_EQ(follow(t, other_net, t0, 1), DropReason::kFragNoFirst) << "the network is part of the datagram's identity";
  ASSERT_EQ(follow(t, last, t0), std::nullopt);
  EXPECT_EQ(last.dk.key, first.dk.key);
  EXPECT_EQ(last.dk.direction, first.dk.direction);
  EXPECT_EQ(last.pp.dst_port, 53);
  EXPECT_EQ(t.in_use(), 0u);
  // A second first fragment of a datagram still tracked is an overlap.
  Frag a = make(v4frag(packet::kProtoUdp, udp_head(53), 10, 0, true)), b = a;
  ASSERT_EQ(follow(t, a, t0), std::nullopt);
  EXPECT_EQ(follow(t, b, t0), DropReason::kFragOverlap);
}

TEST(FragTable, EntriesExpireAndTheTableIsBounded) {
  const uint64_t hz = rte_get_tsc_hz(), t0 = 1000 * hz;
  flow::FragTable t(hz);
  Frag first = make(v4frag(packet::kProtoUdp, udp_head(53), 1, 0, true));
  ASSERT_EQ(follow(t, first, t0), std::nullopt);
  Frag late = make(v4frag(packet::kProtoUdp, Bytes(8, 1), 1, 3, false));
  EXPECT_EQ(follow(t, late, t0 + (flow::FragTable::kTimeoutS + 1) * hz), DropReason::kFragNoFirst);
  // Fill it: first fragments that never complete, until one finds no free slot.
  unsigned full = 0;
  for (uint32_t id = 2; id < 2 + 2 * flow::FragTable::kCapacity; ++id) {
    Frag f = make(v4frag(packet::kProtoUdp, udp_head(53), static_cast<uint16_t>(id), 0, true));
    if (follow(t, f, t0) == DropReason::kFragTableFull) ++full;
  }
  EXPECT_GT(full, 0u);
  EXPECT_LE(t.in_use(), flow::FragTable::kCapacity);
  // Once they expire their slots are taken again.
  Frag again = make(v4frag(packet::kProtoUdp, udp_head(53), 1, 0, true));
  EXPECT_EQ(follow(t, again, t0 + (flow::FragTable::kTimeoutS + 1) * hz), std::nullopt);
  // A datagram in more separate pieces than an entry holds.
  Frag holes = make(v4frag(packet::kProtoUdp, udp_head(53), 7, 0, true));
  const uint64_t t1 = t0 + 20 * hz;
  ASSERT_EQ(follow(t, holes, t1), std::nullopt);
  std::optional<DropReason> r;
  for (uint16_t k = 1; k <= flow::FragTable::kMaxPieces && !r; ++k) {
    Frag piece = make(v4frag(packet::kProtoUdp, Bytes(8, 1), 7, static_cast<uint16_t>(4 * k), true));
    r = follow(t, piece, t1);
  }
  EXPECT_EQ(r, DropReason::kFragTableFull);
}

// Item 3: the af_packet ring follows the port's mtu (it was fixed at 2048-octet slots).
TEST(Mtu, AfPacketRingIsSizedForThePortsMtu) {
  auto cfg = config::load_string(R"(
ports:
  - {name: a, type: af_packet, interface: veth-a, network: web}
  - {name: b, type: af_packet, interface: veth-b, network: web, mtu: 9000}
networks:
  - {name: web, vlan: 10}
)", "mtu.yaml");
  ASSERT_TRUE(cfg) << cfg.error().front();
  EXPECT_EQ(cfg->ports[0].mtu, 1500u);
  EXPECT_EQ(cfg->ports[1].mtu, 9000u);
  EXPECT_EQ(dpdk::vdev_for(config::port_spec(cfg->ports[0]), 0, 1).second, "iface=veth-a,qpairs=1,qdisc_bypass=1,blocksz=4096,framesz=2048,framecnt=1024");
  const dpdk::AfPacketRing r = dpdk::af_packet_ring(9000);
  EXPECT_GE(r.snap(), 9000u + 18);
  EXPECT_EQ(r.block_size % 4096, 0u);
  EXPECT_EQ(r.block_size % r.frame_size, 0u);
  EXPECT_EQ(dpdk::vdev_for(config::port_spec(cfg->ports[1]), 1, 2).second,
            fmt::format("iface=veth-b,qpairs=2,qdisc_bypass=1,blocksz={},framesz={},framecnt={}", r.block_size, r.frame_size, r.frame_count));
  const dpdk::JumboPool j = dpdk::jumbo_pool_for(config::port_specs(*cfg));
  EXPECT_GE(j.data_room, r.mbuf_data_room());
  EXPECT_GT(j.count, 0u);
  EXPECT_EQ(dpdk::af_packet_ring(1500).snap(), 1982u);  // what the kernel leaves of a longer frame
}

TEST(Mtu, CutFramesAreCountedAndOversizedIpv4IsFragmentedOnTheWayOut) {
  ForwarderRig rig(config_with("allow"));
  // An af_packet port whose ring cut a frame to its slot (here 100 octets).
  rig.port_runtime(0).rx_snap = 100;
  Bytes big = ipv4(kToVm2, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoUdp, udp(40000, 53, 1000));
  rig.send(0, Bytes(big.begin(), big.begin() + 100));
  EXPECT_EQ(rig.drops(0, DropReason::kRxTruncated), 1u);
  EXPECT_EQ(rig.drops(0, DropReason::kIpv4BadLength), 0u);
  rig.port_runtime(0).rx_snap = 0;

  // Out of a port whose interface takes 576: fragments, each whole, in order, checksummed.
  rig.port_runtime(1).tx_mtu = 576;
  rig.send(0, big);
  auto out = rig.take(1);
  ASSERT_EQ(out.size(), 2u);
  Bytes payload;
  for (size_t i = 0; i < out.size(); ++i) {
    packet::ParsedPacket pp;
    ASSERT_EQ(packet::parse(out[i].data(), static_cast<uint32_t>(out[i].size()), pp), std::nullopt);
    EXPECT_LE(out[i].size(), 576u + 14);
    EXPECT_TRUE(pp.is_fragment);
    EXPECT_EQ(pp.more_fragments, i == 0);
    EXPECT_EQ(pp.frag_offset * 8u, payload.size());
    EXPECT_TRUE(packet::csum_ok(&out[i][14], 20));
    payload.insert(payload.end(), out[i].begin() + 34, out[i].begin() + 34 + pp.frag_len);
  }
  EXPECT_EQ(payload, Bytes(big.begin() + 34, big.end()));
  EXPECT_EQ(rig.event(pipeline::Event::kTxFragments), 2u);
  // DF set, or IPv6: dropped and counted on the output port.
  Bytes df = big;
  df[20] = 0x40;
  packet::store_be16(&df[24], 0);
  packet::store_be16(&df[24], packet::csum(&df[14], 20));
  rig.send(0, df);
  rig.send(0, v6(packet::kProtoUdp, udp(40000, 53, 1000)));
  EXPECT_TRUE(rig.take(1).empty());
  EXPECT_EQ(rig.drops(1, DropReason::kTxTooBig), 2u);
}
