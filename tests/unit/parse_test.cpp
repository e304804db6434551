// Parser: well-formed frames yield the right fields; every malformed frame yields its
// named drop reason; no input (truncations at every length, random bytes) reads past
// the end (ASan build checks that).
#include <gtest/gtest.h>

#include <random>

#include "packet/parse.hpp"
#include "support/packet_builder.hpp"

using namespace ivs;
using namespace ivs::test;
using packet::ParsedPacket;

namespace {
const Eth kEth{mac("02:00:00:00:00:02"), mac("02:00:00:00:00:01")};

std::optional<DropReason> parse(const Bytes& b, ParsedPacket& pp) { return packet::parse(b.data(), static_cast<uint32_t>(b.size()), pp); }
}  // namespace

TEST(Parse, Ipv4Udp) {
  ParsedPacket pp;
  Bytes f = ipv4(kEth, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoUdp, udp(1234, 5001), 64, 0xb8 | 0x01);
  ASSERT_EQ(parse(f, pp), std::nullopt);
  EXPECT_EQ(pp.ethertype, packet::kEtherTypeIpv4);
  EXPECT_FALSE(pp.has_vlan);
  EXPECT_EQ(pp.l3_offset, 14);
  EXPECT_EQ(pp.l4_offset, 34);
  EXPECT_EQ(pp.src_ip, ip4("10.0.1.11"));
  EXPECT_EQ(pp.dst_ip, ip4("10.0.2.13"));
  EXPECT_EQ(pp.ip_proto, packet::kProtoUdp);
  EXPECT_EQ(pp.src_port, 1234);
  EXPECT_EQ(pp.dst_port, 5001);
  EXPECT_EQ(pp.dscp, 46);  // EF; the ECN bit is not part of DSCP
  EXPECT_EQ(pp.ttl, 64);
}

TEST(Parse, VlanTcp) {
  ParsedPacket pp;
  Eth e = kEth;
  e.vlan = (5 << 13) | 20;
  Bytes f = ipv4(e, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoTcp, tcp(40000, 5432, 0x02));
  ASSERT_EQ(parse(f, pp), std::nullopt);
  EXPECT_TRUE(pp.has_vlan);
  EXPECT_EQ(pp.vlan_id, 20);
  EXPECT_EQ(pp.vlan_pcp, 5);
  EXPECT_EQ(pp.l3_offset, 18);
  EXPECT_EQ(pp.dst_port, 5432);
  EXPECT_EQ(pp.tcp_flags, 0x02);
}

TEST(Parse, ArpAndIcmp) {
  ParsedPacket pp;
  ASSERT_EQ(parse(arp({MacAddr::broadcast(), mac("02:00:00:00:00:01")}, 1, mac("02:00:00:00:00:01"), ip4("10.0.1.11"),
                      MacAddr{}, ip4("10.0.1.1")), pp),
            std::nullopt);
  EXPECT_EQ(pp.arp_op, 1);
  EXPECT_EQ(pp.src_ip, ip4("10.0.1.11"));
  EXPECT_EQ(pp.dst_ip, ip4("10.0.1.1"));
  ASSERT_EQ(parse(ipv4(kEth, ip4("10.0.1.11"), ip4("10.0.1.1"), packet::kProtoIcmp, icmp_echo()), pp), std::nullopt);
  EXPECT_EQ(pp.src_port, 8);  // ICMP type
}

TEST(Parse, MalformedFramesHaveNamedReasons) {
  ParsedPacket pp;
  Bytes good = ipv4(kEth, 1, 2, packet::kProtoTcp, tcp(1, 2, 0));
  EXPECT_EQ(parse(Bytes(13, 0), pp), DropReason::kRuntFrame);

  Bytes vlan_cut = eth_header(kEth, packet::kEtherTypeVlan);
  vlan_cut.push_back(0);
  EXPECT_EQ(parse(vlan_cut, pp), DropReason::kVlanTruncated);

  Eth tagged = kEth;
  tagged.vlan = 10;
  Bytes qinq = eth_header(tagged, packet::kEtherTypeVlan);
  qinq.resize(60, 0);
  EXPECT_EQ(parse(qinq, pp), DropReason::kStackedVlan);

  Bytes bad_ver = good;
  bad_ver[14] = 0x65;
  EXPECT_EQ(parse(bad_ver, pp), DropReason::kIpv4BadHeader);
  Bytes bad_ihl = good;
  bad_ihl[14] = 0x44;
  EXPECT_EQ(parse(bad_ihl, pp), DropReason::kIpv4BadHeader);
  Bytes long_ihl = good;
  long_ihl[14] = 0x4f;  // 60-byte header in a frame that has 40 bytes of IP
  EXPECT_EQ(parse(Bytes(long_ihl.begin(), long_ihl.begin() + 54), pp), DropReason::kIpv4Truncated);
  Bytes bad_total = good;
  packet::store_be16(&bad_total[16], 1500);
  EXPECT_EQ(parse(bad_total, pp), DropReason::kIpv4BadLength);
  Bytes short_total = good;
  packet::store_be16(&short_total[16], 12);
  EXPECT_EQ(parse(short_total, pp), DropReason::kIpv4BadLength);
  EXPECT_EQ(parse(Bytes(good.begin(), good.begin() + 30), pp), DropReason::kIpv4Truncated);

  Bytes tcp_cut = ipv4(kEth, 1, 2, packet::kProtoTcp, Bytes(10, 0));
  EXPECT_EQ(parse(tcp_cut, pp), DropReason::kL4Truncated);

  Bytes arp_bad = arp({MacAddr::broadcast(), mac("02:00:00:00:00:01")}, 1, mac("02:00:00:00:00:01"), 1, MacAddr{}, 2);
  arp_bad[14 + 4] = 8;  // hardware length 8
  EXPECT_EQ(parse(arp_bad, pp), DropReason::kArpMalformed);

  Bytes v6 = eth_header(kEth, packet::kEtherTypeIpv6);
  v6.resize(14 + 30, 0);
  EXPECT_EQ(parse(v6, pp), DropReason::kIpv6Truncated);
  v6.resize(14 + 40, 0);
  v6[14] = 0x60;
  packet::store_be16(&v6[18], 100);
  EXPECT_EQ(parse(v6, pp), DropReason::kIpv6BadLength);
}

TEST(Parse, FragmentsHaveNoL4) {
  ParsedPacket pp;
  Bytes f = ipv4(kEth, 1, 2, packet::kProtoUdp, udp(1, 2));
  packet::store_be16(&f[20], 0x0010);  // fragment offset 16*8
  f[24] = f[25] = 0;
  packet::store_be16(&f[24], packet::csum(&f[14], 20));
  ASSERT_EQ(parse(f, pp), std::nullopt);
  EXPECT_TRUE(pp.is_fragment);
  EXPECT_EQ(pp.l4_offset, 0);
  EXPECT_EQ(pp.src_port, 0);
}

// Issue 14 item 12: an IPv6 frame whose version is not 6 is a bad header, not a cut one.
TEST(Parse, Ipv6WrongVersionIsABadHeader) {
  ParsedPacket pp;
  Bytes f = ipv6(kEth, ip6(1), ip6(2), packet::kProtoUdp, udp(1, 2));
  f[14] = 0x40;
  EXPECT_EQ(parse(f, pp), DropReason::kIpv6BadHeader);
}

// Issue 14 item 1: the flow is keyed by the real transport header behind the extension
// headers (it was keyed by the first Next Header, with ports 0).
TEST(Parse, Ipv6ExtensionHeadersAreWalkedToTheTransportHeader) {
  ParsedPacket pp;
  Bytes f = ipv6(kEth, ip6(1), ip6(2), 0,
                 cat({ipv6_ext(0, 60), ipv6_ext(60, 43, 1), ipv6_ext(43, 51), ipv6_ext(51, 135, 4), ipv6_ext(135, 139),
                      ipv6_ext(139, 140), ipv6_ext(140, packet::kProtoTcp), tcp(40000, 22, 0x02)}));
  ASSERT_EQ(parse(f, pp), std::nullopt);
  EXPECT_EQ(pp.ip_proto, packet::kProtoTcp);
  EXPECT_EQ(pp.l4_offset, 14 + 40 + 8 + 16 + 8 + 24 + 8 + 8 + 8);
  EXPECT_EQ(pp.src_port, 40000);
  EXPECT_EQ(pp.dst_port, 22);
  EXPECT_EQ(pp.tcp_flags, 0x02);
  EXPECT_FALSE(pp.is_fragment);

  // An atomic fragment (offset 0, M clear) is a whole packet (RFC 6946).
  ASSERT_EQ(parse(ipv6(kEth, ip6(1), ip6(2), 44, cat({ipv6_frag(packet::kProtoUdp, 0, false, 9), udp(53, 5353)})), pp), std::nullopt);
  EXPECT_EQ(pp.ip_proto, packet::kProtoUdp);
  EXPECT_EQ(pp.dst_port, 5353);
  EXPECT_FALSE(pp.is_fragment);

  // ESP and No Next Header end the walk: the protocol, no ports.
  ASSERT_EQ(parse(ipv6(kEth, ip6(1), ip6(2), 60, cat({ipv6_ext(60, 50), Bytes(16, 0xee)})), pp), std::nullopt);
  EXPECT_EQ(pp.ip_proto, 50);
  EXPECT_EQ(pp.l4_offset, 0);
  ASSERT_EQ(parse(ipv6(kEth, ip6(1), ip6(2), 0, ipv6_ext(0, 59)), pp), std::nullopt);
  EXPECT_EQ(pp.ip_proto, 59);
}

TEST(Parse, Ipv6ExtensionChainLimitsAndMalformedHeaders) {
  ParsedPacket pp;
  auto chain = [](unsigned n) {
    Bytes b;
    for (unsigned i = 0; i < n; ++i) b = cat({b, ipv6_ext(60, i + 1 == n ? packet::kProtoUdp : 60)});
    return cat({b, udp(1, 2)});
  };
  ASSERT_EQ(parse(ipv6(kEth, ip6(1), ip6(2), 60, chain(packet::kMaxIpv6ExtHeaders)), pp), std::nullopt);
  EXPECT_EQ(pp.ip_proto, packet::kProtoUdp);
  EXPECT_EQ(parse(ipv6(kEth, ip6(1), ip6(2), 60, chain(packet::kMaxIpv6ExtHeaders + 1)), pp), DropReason::kIpv6ExtChainTooLong);
  // A header longer than the payload.
  Bytes longer = ipv6(kEth, ip6(1), ip6(2), 60, cat({ipv6_ext(60, packet::kProtoUdp, 4), udp(1, 2)}));
  packet::store_be16(&longer[18], 16);
  longer.resize(14 + 40 + 16);
  EXPECT_EQ(parse(longer, pp), DropReason::kIpv6ExtMalformed);
  // An extension header cut short by the payload length.
  Bytes cut = ipv6(kEth, ip6(1), ip6(2), 60, Bytes(4, 0));
  EXPECT_EQ(parse(cut, pp), DropReason::kIpv6ExtMalformed);
  // Hop-by-Hop not first; two Fragment headers.
  EXPECT_EQ(parse(ipv6(kEth, ip6(1), ip6(2), 60, cat({ipv6_ext(60, 0), ipv6_ext(0, 17), udp(1, 2)})), pp), DropReason::kIpv6ExtMalformed);
  EXPECT_EQ(parse(ipv6(kEth, ip6(1), ip6(2), 44, cat({ipv6_frag(44, 0, true, 1), ipv6_frag(17, 0, true, 1), udp(1, 2, 16)})), pp),
            DropReason::kIpv6ExtMalformed);
  // The chain beyond the first segment (the frame is longer than the readable bytes).
  Bytes multi = ipv6(kEth, ip6(1), ip6(2), 60, cat({ipv6_ext(60, 60, 20), ipv6_ext(60, 17), udp(1, 2)}));
  EXPECT_EQ(packet::parse(multi.data(), 14 + 40 + 100, static_cast<uint32_t>(multi.size()), pp), DropReason::kIpv6ExtChainTooLong);
}

// Issue 14 item 2: fragments carry their offset and id; tiny first fragments are dropped.
TEST(Parse, FragmentFieldsAndTinyFirstFragments) {
  ParsedPacket pp;
  // IPv6: first fragment (Destination Options after the Fragment header), then a later one.
  Bytes first = ipv6(kEth, ip6(1), ip6(2), 44, cat({ipv6_frag(60, 0, true, 0xabcdef01), ipv6_ext(60, packet::kProtoTcp), tcp(40000, 22, 0x02), Bytes(4, 0)}));
  ASSERT_EQ(parse(first, pp), std::nullopt);
  EXPECT_TRUE(pp.is_fragment);
  EXPECT_TRUE(pp.more_fragments);
  EXPECT_EQ(pp.frag_offset, 0);
  EXPECT_EQ(pp.frag_id, 0xabcdef01u);
  EXPECT_EQ(pp.frag_len, 32);
  EXPECT_EQ(pp.ip_proto, packet::kProtoTcp);
  EXPECT_EQ(pp.dst_port, 22);
  Bytes later = ipv6(kEth, ip6(1), ip6(2), 44, cat({ipv6_frag(60, 4, false, 0xabcdef01), Bytes(20, 0x55)}));
  ASSERT_EQ(parse(later, pp), std::nullopt);
  EXPECT_TRUE(pp.is_fragment);
  EXPECT_FALSE(pp.more_fragments);
  EXPECT_EQ(pp.frag_offset, 4);
  EXPECT_EQ(pp.frag_len, 20);
  EXPECT_EQ(pp.l4_offset, 0);
  EXPECT_EQ(pp.src_port, 0);

  // Tiny first fragments: the TCP header not whole (IPv4, IPv6), the header chain not whole (IPv6).
  EXPECT_EQ(parse(ipv4_fragment(kEth, 1, 2, packet::kProtoTcp, Bytes(16, 0), 7, 0, true), pp),
            DropReason::kFragTiny);
  EXPECT_EQ(parse(ipv6(kEth, ip6(1), ip6(2), 44, cat({ipv6_frag(packet::kProtoTcp, 0, true, 3), Bytes(16, 0)})), pp), DropReason::kFragTiny);
  EXPECT_EQ(parse(ipv6(kEth, ip6(1), ip6(2), 44, cat({ipv6_frag(60, 0, true, 3), Bytes{6, 1, 0, 0, 0, 0, 0, 0}})), pp), DropReason::kFragTiny);
  // RFC 1858: a TCP fragment at offset 8 octets.
  EXPECT_EQ(parse(ipv4_fragment(kEth, 1, 2, packet::kProtoTcp, Bytes(16, 0), 7, 1, true), pp), DropReason::kFragTiny);
  EXPECT_EQ(parse(ipv6(kEth, ip6(1), ip6(2), 44, cat({ipv6_frag(packet::kProtoTcp, 1, false, 3), Bytes(16, 0)})), pp), DropReason::kFragTiny);
  // A fragment that is not the last carries a multiple of 8 octets.
  EXPECT_EQ(parse(ipv4_fragment(kEth, 1, 2, packet::kProtoUdp, Bytes(30, 0), 7, 0, true), pp), DropReason::kIpv4BadLength);
  // IPv4 later fragment: id, offset.
  ASSERT_EQ(parse(ipv4_fragment(kEth, 1, 2, packet::kProtoUdp, Bytes(30, 0), 0x4242, 185, false), pp), std::nullopt);
  EXPECT_EQ(pp.frag_id, 0x4242u);
  EXPECT_EQ(pp.frag_offset, 185);
  EXPECT_EQ(pp.frag_len, 30);
  EXPECT_EQ(pp.l4_offset, 0);
}

// Every prefix of valid frames, and random garbage, must parse or be rejected without
// reading out of bounds (checked by ASan on a heap copy of exactly that length).
TEST(Parse, SurvivesTruncationAndGarbage) {
  Eth tagged = kEth;
  tagged.vlan = 10;
  std::vector<Bytes> frames = {
      ipv4(kEth, 1, 2, packet::kProtoTcp, tcp(1, 2, 0x12)), ipv4(tagged, 1, 2, packet::kProtoUdp, udp(1, 2)),
      ipv4(kEth, 1, 2, packet::kProtoIcmp, icmp_echo()),
      arp({MacAddr::broadcast(), mac("02:00:00:00:00:01")}, 1, mac("02:00:00:00:00:01"), 1, MacAddr{}, 2),
      ipv6(kEth, ip6(1), ip6(2), 0, cat({ipv6_ext(0, 44), ipv6_frag(60, 0, true, 5), ipv6_ext(60, 6, 1), tcp(1, 2, 0x02), Bytes(8, 0)})),
      ipv6(kEth, ip6(1), ip6(2), 51, cat({ipv6_ext(51, 17, 3), udp(1, 2)}))};
  ParsedPacket pp;
  for (const auto& f : frames)
    for (size_t len = 0; len <= f.size(); ++len) {
      auto copy = std::make_unique<uint8_t[]>(len + 1);
      std::copy(f.begin(), f.begin() + static_cast<long>(len), copy.get());
      (void)packet::parse(copy.get(), static_cast<uint32_t>(len), pp);
    }
  std::mt19937 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    size_t len = rng() % 128;
    auto buf = std::make_unique<uint8_t[]>(len + 1);
    for (size_t j = 0; j < len; ++j) buf[j] = static_cast<uint8_t>(rng());
    if (len > 13 && (rng() & 1)) { buf[12] = 0x08; buf[13] = 0x00; }
    if (len > 14 && (rng() & 1)) buf[14] = 0x45;
    (void)packet::parse(buf.get(), static_cast<uint32_t>(len), pp);
  }
  SUCCEED();
}

TEST(Checksum, IncrementalMatchesFull) {
  Bytes f = ipv4(kEth, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoUdp, udp(1, 2), 64);
  uint8_t* iph = &f[14];
  ASSERT_TRUE(packet::csum_ok(iph, 20));
  for (int ttl = 64; ttl > 1; --ttl) {
    const uint16_t old_w = packet::load_be16(iph + 8);
    iph[8] = static_cast<uint8_t>(ttl - 1);
    packet::store_be16(iph + 10, packet::csum_update16(packet::load_be16(iph + 10), old_w, packet::load_be16(iph + 8)));
    ASSERT_TRUE(packet::csum_ok(iph, 20)) << "ttl " << ttl - 1;
  }
}
