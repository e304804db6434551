// IPFIX encoding (flowexport/ipfix.cpp), byte for byte against layouts written out by hand
// from RFC 7011; message splitting; a collector's socket on loopback (sent, refused);
// the exporter's bounded queue.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "flowexport/collector.hpp"
#include "flowexport/exporter.hpp"
#include "flowexport/ipfix.hpp"

namespace ivs::flowexport {
namespace {

using Bytes = std::vector<uint8_t>;

FlowRecord ipv4_record() {
  FlowRecord r;
  r.family = 4;
  const uint8_t src[4] = {10, 0, 1, 11}, dst[4] = {10, 0, 2, 13};
  std::memcpy(r.src, src, 4);
  std::memcpy(r.dst, dst, 4);
  r.src_port = 40000;      // 0x9c40
  r.dst_port = 5432;       // 0x1538
  r.proto = 6;
  r.tos = 18 << 2;         // 0x48
  r.vlan = 10;
  r.in_if = 1;
  r.out_if = 3;
  r.packets = 0x0102;
  r.octets = 0x030405;
  r.start_ms = 0x0000018c00000001;
  r.end_ms = 0x0000018c00000002;
  r.end_reason = EndReason::kActiveTimeout;
  r.state = 4;             // verified
  r.action = 3;            // inspect
  r.rule_id = 2;
  r.rule_name = "pg";
  r.epoch = 7;
  r.to_device = 3;
  r.shortcut = 0x10;
  r.dscp_observed = 0;
  r.dscp_assigned = 18;
  r.mirrors = "a,b";
  r.initiator = 1;
  return r;
}

// The record's fields after the addresses, as RFC 7011 lays them out (network order).
Bytes tail_of(const FlowRecord&) {
  return {0x9c, 0x40, 0x15, 0x38,                          // ports
          6, 0x48, 0x00, 0x0a,                             // protocol, TOS, VLAN
          0, 0, 0, 1, 0, 0, 0, 3,                          // ingress, egress interface
          0, 0, 0, 0, 0, 0, 0x01, 0x02,                    // packetDeltaCount
          0, 0, 0, 0, 0, 0x03, 0x04, 0x05,                 // octetDeltaCount
          0, 0, 0x01, 0x8c, 0, 0, 0, 1,                    // flowStartMilliseconds
          0, 0, 0x01, 0x8c, 0, 0, 0, 2,                    // flowEndMilliseconds
          2,                                               // flowEndReason: active timeout
          4, 3, 0, 0, 0, 2,                                // state, action, rule id
          2, 'p', 'g',                                     // rule name (variable: length byte)
          0, 0, 0, 7,                                      // epoch
          0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0x10,  // to device, shortcut
          0, 18,                                           // DSCP observed, assigned
          3, 'a', ',', 'b',                                // mirrors
          1};                                              // initiator
}

Bytes header(uint16_t len, uint32_t time, uint32_t seq, uint32_t domain) {
  return {0, 10, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len), static_cast<uint8_t>(time >> 24),
          static_cast<uint8_t>(time >> 16), static_cast<uint8_t>(time >> 8), static_cast<uint8_t>(time),
          static_cast<uint8_t>(seq >> 24), static_cast<uint8_t>(seq >> 16), static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq),
          static_cast<uint8_t>(domain >> 24), static_cast<uint8_t>(domain >> 16), static_cast<uint8_t>(domain >> 8),
          static_cast<uint8_t>(domain)};
}
void append(Bytes& a, const Bytes& b) { a.insert(a.end(), b.begin(), b.end()); }
uint16_t u16(const Bytes& b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }
uint32_t u32(const Bytes& b, size_t at) { return static_cast<uint32_t>(u16(b, at)) << 16 | u16(b, at + 2); }

TEST(Ipfix, TemplateSetLayout) {
  IpfixEncoder enc(7, 32473, 1400);
  const Bytes m = enc.templates(0x5f000000);
  // Header, set 2, then per template: id, count, 14 IANA fields (4 bytes each: the 2
  // addresses and 12 more) and 11 enterprise fields (8 bytes each: id|0x8000, length, PEN).
  const size_t tmpl = 4 + 14 * 4 + 11 * 8;
  ASSERT_EQ(m.size(), 16 + 4 + 2 * tmpl);
  Bytes want = header(static_cast<uint16_t>(m.size()), 0x5f000000, 0, 7);
  append(want, {0, 2, static_cast<uint8_t>((m.size() - 16) >> 8), static_cast<uint8_t>(m.size() - 16)});
  append(want, {1, 0, 0, 25});                        // template 256, 25 fields
  append(want, {0, 8, 0, 4, 0, 12, 0, 4});            // sourceIPv4Address, destinationIPv4Address
  append(want, {0, 7, 0, 2, 0, 11, 0, 2, 0, 4, 0, 1, 0, 5, 0, 1, 0, 58, 0, 2, 0, 10, 0, 4, 0, 14, 0, 4,
                0, 2, 0, 8, 0, 1, 0, 8, 0, 152, 0, 8, 0, 153, 0, 8, 0, 136, 0, 1});
  const Bytes pen = {0, 0, 0x7e, 0xd9};                // 32473
  const std::pair<uint8_t, uint16_t> ent[] = {{1, 1}, {2, 1}, {3, 4}, {4, 0xffff}, {5, 4}, {6, 8}, {7, 8}, {8, 1}, {9, 1}, {10, 0xffff}, {11, 1}};
  for (auto [id, len] : ent) {
    append(want, {0x80, id, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)});
    append(want, pen);
  }
  ASSERT_EQ(Bytes(m.begin(), m.begin() + static_cast<long>(want.size())), want);
  // Template 257: the same but IPv6 addresses (27, 28; 16 bytes).
  const size_t t6 = want.size();
  EXPECT_EQ(u16(m, t6), 257);
  EXPECT_EQ(u16(m, t6 + 2), 25);
  EXPECT_EQ(Bytes(m.begin() + static_cast<long>(t6) + 4, m.begin() + static_cast<long>(t6) + 12), (Bytes{0, 27, 0, 16, 0, 28, 0, 16}));
  EXPECT_EQ(Bytes(m.begin() + static_cast<long>(t6) + 12, m.end()), Bytes(want.begin() + 20 + 12, want.end()));
}

TEST(Ipfix, Ipv4DataRecordLayout) {
  IpfixEncoder enc(7, 32473, 1400);
  const FlowRecord r = ipv4_record();
  const auto msgs = enc.data(std::span(&r, 1), 100);
  ASSERT_EQ(msgs.size(), 1u);
  Bytes rec = {10, 0, 1, 11, 10, 0, 2, 13};
  append(rec, tail_of(r));
  EXPECT_EQ(record_size(r), rec.size());
  Bytes want = header(static_cast<uint16_t>(16 + 4 + rec.size()), 100, 0, 7);
  append(want, {1, 0, static_cast<uint8_t>((4 + rec.size()) >> 8), static_cast<uint8_t>(4 + rec.size())});
  append(want, rec);
  EXPECT_EQ(msgs[0].bytes, want);
  EXPECT_EQ(msgs[0].records, 1u);
  EXPECT_EQ(enc.sequence(), 1u);
}

TEST(Ipfix, Ipv6RecordsShareASetAndFollowIpv4InTheirOwn) {
  IpfixEncoder enc(1, 32473, 1400);
  FlowRecord v4 = ipv4_record(), v6 = ipv4_record();
  v6.family = 6;
  const uint8_t a[16] = {0xfd, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11};
  const uint8_t b[16] = {0xfd, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12};
  std::memcpy(v6.src, a, 16);
  std::memcpy(v6.dst, b, 16);
  const std::vector<FlowRecord> recs = {v4, v6, v6};
  const auto msgs = enc.data(recs, 5);
  ASSERT_EQ(msgs.size(), 1u);
  const Bytes& m = msgs[0].bytes;
  const size_t s1 = 16, len1 = 4 + record_size(v4);
  EXPECT_EQ(u16(m, s1), 256);
  EXPECT_EQ(u16(m, s1 + 2), len1);
  const size_t s2 = s1 + len1;
  EXPECT_EQ(u16(m, s2), 257);
  EXPECT_EQ(u16(m, s2 + 2), 4 + 2 * record_size(v6));
  Bytes rec6(a, a + 16);
  append(rec6, Bytes(b, b + 16));
  append(rec6, tail_of(v6));
  EXPECT_EQ(Bytes(m.begin() + static_cast<long>(s2) + 4, m.begin() + static_cast<long>(s2 + 4 + rec6.size())), rec6);
  EXPECT_EQ(m.size(), s2 + 4 + 2 * rec6.size());
  EXPECT_EQ(u16(m, 2), m.size());
}

TEST(Ipfix, MessagesSplitAtTheirBoundWithSequenceNumbers) {
  IpfixEncoder enc(3, 32473, 600);
  std::vector<FlowRecord> recs(40, ipv4_record());
  for (size_t i = 0; i < recs.size(); i += 3) recs[i].family = 6;  // mixed families
  const auto msgs = enc.data(recs, 9);
  ASSERT_GT(msgs.size(), 5u);
  uint32_t seq = 0;
  size_t total = 0;
  for (const auto& msg : msgs) {
    const Bytes& m = msg.bytes;
    EXPECT_LE(m.size(), 600u);
    EXPECT_EQ(u16(m, 2), m.size());
    EXPECT_EQ(u32(m, 8), seq) << "the sequence number counts the records sent before";
    // Walk the sets: their lengths cover the message exactly; count records by size.
    size_t at = 16, n = 0;
    while (at < m.size()) {
      const uint16_t id = u16(m, at), len = u16(m, at + 2);
      ASSERT_TRUE(id == 256 || id == 257);
      const size_t one = record_size(recs[total + n]);
      ASSERT_EQ((len - 4u) % one, 0u);
      n += (len - 4u) / one;
      at += len;
    }
    EXPECT_EQ(at, m.size());
    EXPECT_EQ(n, msg.records);
    // One more record would not have fit.
    if (total + n < recs.size()) EXPECT_GT(m.size() + record_size(recs[total + n]) + 4, 600u);
    total += n;
    seq += static_cast<uint32_t>(n);
  }
  EXPECT_EQ(total, recs.size());
  EXPECT_EQ(enc.sequence(), recs.size());
}

TEST(Ipfix, LongStringsTakeTheThreeByteLengthAndAreClipped) {
  IpfixEncoder enc(1, 1, 1400);
  FlowRecord r = ipv4_record();
  r.mirrors = std::string(400, 'm');  // clipped to 300 (0x012c)
  const auto msgs = enc.data(std::span(&r, 1), 0);
  const Bytes& m = msgs[0].bytes;
  const size_t mirrors_at = 16 + 4 + 8 + 49 + 6 + 3 + 4 + 16 + 2;
  EXPECT_EQ(Bytes(m.begin() + static_cast<long>(mirrors_at), m.begin() + static_cast<long>(mirrors_at) + 4), (Bytes{255, 0x01, 0x2c, 'm'}));
  EXPECT_EQ(record_size(r), m.size() - 20);
  EXPECT_EQ(m.size(), mirrors_at + 3 + 300 + 1);
  // The longest record fits the smallest message.
  FlowRecord big = r;
  big.family = 6;
  big.rule_name = std::string(31, 'r');
  IpfixEncoder small(1, 1, kMinMessage);
  const auto one = small.data(std::span(&big, 1), 0);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_LE(one[0].bytes.size(), kMinMessage);
}

// A collector on loopback: what arrives is what the encoder made; one that went away is
// counted (ECONNREFUSED from the ICMP port unreachable), never waited for.
TEST(IpfixCollector, SendsToLoopbackAndCountsARefusal) {
  const int rx = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(rx, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t alen = sizeof(a);
  getsockname(rx, reinterpret_cast<sockaddr*>(&a), &alen);
  const std::string target = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto c = Collector::open(target, 7, 32473, 1400);
  ASSERT_TRUE(c.has_value()) << c.error();
  const FlowRecord r = ipv4_record();
  (*c)->send(std::span(&r, 1), 1000, 60);
  uint8_t buf[2048];
  const ssize_t n1 = recv(rx, buf, sizeof(buf), 0);
  const ssize_t n2 = recv(rx, buf, sizeof(buf), 0);
  ASSERT_GT(n1, 0);
  EXPECT_EQ(static_cast<size_t>(n1), IpfixEncoder(7, 32473, 1400).templates(1000).size());
  IpfixEncoder ref(7, 32473, 1400);
  EXPECT_EQ(Bytes(buf, buf + n2), ref.data(std::span(&r, 1), 1000)[0].bytes);
  EXPECT_EQ((*c)->stats().records.get(), 1u);
  EXPECT_EQ((*c)->stats().templates.get(), 1u);
  ::close(rx);  // the collector goes away
  uint64_t sends = 0;
  for (int i = 0; i < 20 && (*c)->stats().send_errors.get() == 0; ++i, ++sends) {
    (*c)->send(std::span(&r, 1), 1000, 60);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT((*c)->stats().send_errors.get(), 0u);
  EXPECT_EQ((*c)->stats().last_errno.load(), ECONNREFUSED);
  EXPECT_GT((*c)->stats().records_dropped.get(), 0u);
}

TEST(IpfixCollector, BadTargetsAreRefused) {
  EXPECT_FALSE(Collector::open("127.0.0.1", 1, 1, 1400).has_value());
  EXPECT_FALSE(Collector::open("127.0.0.1:70000", 1, 1, 1400).has_value());
  EXPECT_FALSE(Collector::open("fd00::1:4739", 1, 1, 1400).has_value());  // IPv6 needs brackets
  EXPECT_TRUE(Collector::open("[::1]:4739", 1, 1, 1400).has_value());
}

TEST(IpfixExporter, AFullQueueDropsAndCounts) {
  config::FlowExportConfig cfg;
  cfg.queue_records = 64;
  Exporter ex(cfg);  // not started: nothing drains the queue
  for (int i = 0; i < 100; ++i) ex.push(ipv4_record());
  EXPECT_EQ(ex.queued(), 64u);
  EXPECT_EQ(ex.stats().records_queued.get(), 64u);
  EXPECT_EQ(ex.stats().queue_full.get(), 36u);
  EXPECT_FALSE(ex.wanted());
  EXPECT_TRUE(ex.add("127.0.0.1:9").has_value());
  EXPECT_TRUE(ex.wanted());
  EXPECT_FALSE(ex.add("127.0.0.1:9").has_value()) << "twice";
  EXPECT_TRUE(ex.remove("127.0.0.1:9").has_value());
  EXPECT_FALSE(ex.remove("127.0.0.1:9").has_value());
}

}  // namespace
}  // namespace ivs::flowexport
