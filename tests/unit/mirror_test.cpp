// Mirrors: the datapath's filter (pcap-filter -> libpcap cBPF -> rte_bpf, JIT) selects
// exactly what libpcap itself selects (pcap_offline_filter) on the same frames; the
// forwarder's taps copy what the filter selects, sliced to snaplen, 1 in N, counted.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <rte_ring_elem.h>

#include "mirror/filter.hpp"
#include "support/forwarder_rig.hpp"

using namespace ivs;
using namespace ivs::test;

namespace {

const MacAddr kA = mac("02:00:00:00:01:01"), kB = mac("02:00:00:00:01:02");

std::vector<Bytes> sample_frames() {
  std::vector<Bytes> f;
  for (uint16_t port : {22, 53, 80, 443, 5201})
    for (uint8_t proto : {packet::kProtoTcp, packet::kProtoUdp}) {
      const Bytes l4 = proto == packet::kProtoTcp ? tcp(40000, port, 0x02) : udp(40000, port);
      f.push_back(ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), proto, l4));
      f.push_back(ipv4({kA, kB}, ip4("10.0.1.12"), ip4("10.0.1.11"), proto, l4, 64, 0xb8));
      f.push_back(ipv4({kB, kA, 10}, ip4("10.0.2.5"), ip4("192.168.1.1"), proto, l4));  // tagged
    }
  f.push_back(ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoIcmp, icmp_echo()));
  f.push_back(arp({MacAddr::broadcast(), kA}, 1, kA, ip4("10.0.1.11"), MacAddr{}, ip4("10.0.1.12")));
  std::array<uint8_t, 16> s{0xfd}, d{0xfd};
  s[15] = 1;
  d[15] = 2;
  f.push_back(ipv6({kB, kA}, s, d, packet::kProtoUdp, udp(1, 53)));
  f.push_back(Bytes(10, 0xff));  // a runt
  return f;
}

bool libpcap_selects(const std::string& expr, const Bytes& frame) {
  pcap_t* p = pcap_open_dead(DLT_EN10MB, 65535);
  bpf_program prog{};
  EXPECT_EQ(pcap_compile(p, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN), 0) << expr;
  pcap_pkthdr h{};
  h.caplen = h.len = static_cast<bpf_u_int32>(frame.size());
  const bool r = pcap_offline_filter(&prog, &h, frame.data()) != 0;
  pcap_freecode(&prog);
  pcap_close(p);
  return r;
}

}  // namespace

TEST(Mirror, FilterSelectsWhatLibpcapSelects) {
  const char* exprs[] = {"tcp", "udp port 53", "tcp dst port 80 or tcp dst port 443", "host 10.0.1.12", "src net 10.0.0.0/16",
                         "icmp", "arp", "ip6", "vlan 10", "vlan and udp", "not tcp", "ip[1] & 0xfc == 0xb8",
                         "tcp[tcpflags] & tcp-syn != 0", "udp[2:2] == 53", "greater 100", "ether src 02:00:00:00:01:01",
                         "ip and tcp and dst port 443", ""};
  ForwarderRig rig("ports: [{name: p, type: discard, network: n}]\nnetworks: [{name: n, vlan: 10}]\n");
  const auto frames = sample_frames();
  for (const char* e : exprs) {
    if (!*e) continue;
    auto f = mirror::PacketFilter::compile(e);
    ASSERT_TRUE(f) << f.error();
    size_t selected = 0;
    for (const auto& fr : frames) {
      rte_mbuf* m = rig.mbuf(fr);
      const bool ours = (*f)->match(m);
      rte_pktmbuf_free(m);
      EXPECT_EQ(ours, libpcap_selects(e, fr)) << "'" << e << "' on a frame of " << fr.size() << " bytes";
      selected += ours;
    }
    EXPECT_LT(selected, frames.size()) << e;  // every expression leaves something out
  }
  EXPECT_FALSE(mirror::PacketFilter::compile("tcp port"));
}

TEST(Mirror, TapsCopyTheSelectionSlicedSampledAndCounted) {
  ForwarderRig rig(R"(
ports:
  - {name: p1, type: discard, network: web}
  - {name: p2, type: discard, network: web}
networks:
  - {name: web, vlan: 10}
vms:
  - {name: vm1, port: p1, mac: "02:00:00:00:01:01"}
  - {name: vm2, port: p2, mac: "02:00:00:00:01:02"}
)");
  rte_ring* ring = rte_ring_create_elem("mirror_test_taps", sizeof(mirror::TapRecord), 1024, static_cast<int>(rte_socket_id()),
                                        RING_F_SP_ENQ | RING_F_SC_DEQ);
  ASSERT_NE(ring, nullptr);
  auto cfg = config::load_string(R"(
ports:
  - {name: p1, type: discard, network: web}
  - {name: p2, type: discard, network: web}
networks:
  - {name: web, vlan: 10}
)", "m.yaml");
  ASSERT_TRUE(cfg);
  config::MirrorConfig all{"all", {{"p1", true, true}}, "", 0, 1, {}};
  config::MirrorConfig udp53{"dns", {{"p1", true, false}}, "udp port 53", 20, 2, {}};
  auto set = mirror::MirrorSet::compile(*cfg, {all, udp53}, {0, 5});
  ASSERT_TRUE(set) << set.error();
  std::atomic<const mirror::MirrorSet*> published{set->get()};
  rig.attach_mirrors(&published, ring);
  for (int i = 0; i < 6; ++i) rig.send(0, ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoUdp, udp(4000, 53, 40)));
  rig.send(0, ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoTcp, tcp(4000, 80, 0x02)));
  EXPECT_EQ(rig.take(1).size(), 7u);
  mirror::TapRecord recs[64];
  const unsigned n = rte_ring_sc_dequeue_burst_elem(ring, recs, sizeof(mirror::TapRecord), 64, nullptr);
  unsigned all_n = 0, dns_n = 0;
  for (unsigned i = 0; i < n; ++i) {
    if (recs[i].slot == 0) {
      ++all_n;
      EXPECT_EQ(recs[i].copy->pkt_len, recs[i].orig_len);
    } else {
      ++dns_n;
      EXPECT_EQ(recs[i].copy->pkt_len, 20u);  // snaplen
      EXPECT_GT(recs[i].orig_len, 20u);
    }
    EXPECT_EQ(recs[i].direction, mirror::kRx);
    rte_pktmbuf_free(recs[i].copy);
  }
  EXPECT_EQ(all_n, 7u);  // p1's received frames (nothing is sent out of p1 here)
  EXPECT_EQ(dns_n, 3u);  // 6 selected, 1 in 2
  const auto& c = rig.forwarder().mirror_counters();
  EXPECT_EQ(c[5].eligible.get(), 7u);
  EXPECT_EQ(c[5].filtered_out.get(), 1u);
  EXPECT_EQ(c[5].sampled_out.get(), 3u);
  EXPECT_EQ(c[5].copied.get(), 3u);
  EXPECT_EQ(c[0].copied.get(), 7u);
  rig.attach_mirrors(nullptr, nullptr);
  rte_ring_free(ring);
}
