// Mirrors: the datapath's filter (pcap-filter -> libpcap cBPF -> rte_bpf, JIT) selects
// exactly what libpcap itself selects (pcap_offline_filter) on the same frames; the
// forwarder's taps copy what the filter selects, sliced to snaplen, 1 in N, counted.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <rte_cycles.h>
#include <rte_ring_elem.h>

#include <set>

#include "mirror/capture_stream.hpp"
#include "mirror/encap.hpp"
#include "mirror/mirror_set.hpp"
#include "packet/pcap_filter.hpp"
#include "mirror/flow_hash.hpp"
#include "support/forwarder_rig.hpp"
#include "support/libpcap_verdict.hpp"
#include "support/two_vms.hpp"

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

// A mirror set published to a rig and the ring its copies go to (the broker's side of one
// datapath thread); detached and freed at scope exit. Copies taken stay the caller's.
class Taps {
 public:
  Taps(ForwarderRig& rig, std::unique_ptr<mirror::MirrorSet> set) : rig_(rig), set_(std::move(set)), published_(set_.get()) {
    static int seq = 0;
    ring_ = rte_ring_create_elem(("mirror_test_taps" + std::to_string(seq++)).c_str(), sizeof(mirror::TapRecord), 1024,
                                 static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (ring_) rig_.attach_mirrors(&published_, ring_);
  }
  ~Taps() {
    rig_.attach_mirrors(nullptr, nullptr);
    rte_ring_free(ring_);
  }
  bool ok() const { return ring_ != nullptr; }
  std::vector<mirror::TapRecord> take() {
    std::vector<mirror::TapRecord> recs(64);
    recs.resize(rte_ring_sc_dequeue_burst_elem(ring_, recs.data(), sizeof(mirror::TapRecord), 64, nullptr));
    return recs;
  }

 private:
  ForwarderRig& rig_;
  std::unique_ptr<mirror::MirrorSet> set_;
  std::atomic<const mirror::MirrorSet*> published_;
  rte_ring* ring_ = nullptr;
};

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
    auto f = packet::PacketFilter::compile(e);
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
  EXPECT_FALSE(packet::PacketFilter::compile("tcp port"));
}

// Found by tests/fuzz/filter_fuzz.cpp: DPDK 22.11's JIT crashed (SEGV in the generated
// code) on the first packet for filters that compile to a jset, such as `multicast`. They
// run on DPDK's interpreter now and select what libpcap selects.
TEST(Mirror, FiltersWithJsetRunWithoutTheJit) {
  ForwarderRig rig("ports: [{name: p, type: discard, network: n}]\nnetworks: [{name: n, vlan: 10}]\n");
  for (const char* e : {"multicast", "ether multicast", "ether[0] & 1 = 0", "ip[6:2] & 0x1fff != 0"}) {
    auto f = packet::PacketFilter::compile(e);
    ASSERT_TRUE(f) << f.error();
    EXPECT_FALSE((*f)->jitted()) << e;
    for (const auto& fr : sample_frames()) {
      rte_mbuf* m = rig.mbuf(fr);
      EXPECT_EQ((*f)->match(m), libpcap_selects(e, fr)) << "'" << e << "' on a frame of " << fr.size() << " bytes";
      rte_pktmbuf_free(m);
    }
  }
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
  auto cfg = config::load_string(R"(
ports:
  - {name: p1, type: discard, network: web}
  - {name: p2, type: discard, network: web}
networks:
  - {name: web, vlan: 10}
)", "m.yaml");
  ASSERT_TRUE(cfg);
  config::MirrorConfig all{"all", {{"p1", true, true}}, "", 0, 1, true, {}};
  config::MirrorConfig udp53{"dns", {{"p1", true, false}}, "udp port 53", 20, 2, true, {}};
  auto set = mirror::MirrorSet::compile(*cfg, {all, udp53}, {0, 5}, {1, 2});
  ASSERT_TRUE(set) << set.error();
  Taps taps(rig, std::move(*set));
  ASSERT_TRUE(taps.ok());
  for (int i = 0; i < 6; ++i) rig.send(0, ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoUdp, udp(4000, 53, 40)));
  rig.send(0, ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoTcp, tcp(4000, 80, 0x02)));
  EXPECT_EQ(rig.take(1).size(), 7u);
  const auto recs = taps.take();
  unsigned all_n = 0, dns_n = 0;
  for (size_t i = 0; i < recs.size(); ++i) {
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
  const auto& c = rig.mirror_counters();
  EXPECT_EQ(c[5].eligible.get(), 7u);
  EXPECT_EQ(c[5].filtered_out.get(), 1u);
  EXPECT_EQ(c[5].sampled_out.get(), 3u);
  EXPECT_EQ(c[5].copied.get(), 3u);
  EXPECT_EQ(c[0].copied.get(), 7u);
}

// Dedup: a packet switched from p1 to p2, both tapped by one mirror, is copied once (at
// p1, its ingress) and counted as a duplicate at p2; without dedup, at both.
TEST(Mirror, DedupCopiesASwitchedPacketOnce) {
  const char* topo = R"(
ports:
  - {name: p1, type: discard, network: web}
  - {name: p2, type: discard, network: web}
networks:
  - {name: web, vlan: 10}
vms:
  - {name: vm1, port: p1, mac: "02:00:00:00:01:01"}
  - {name: vm2, port: p2, mac: "02:00:00:00:01:02"}
)";
  for (const bool dedup : {true, false}) {
    ForwarderRig rig(topo);
    auto cfg = config::load_string(topo, "m.yaml");
    ASSERT_TRUE(cfg);
    config::MirrorConfig both{"both", {{"p1", true, true}, {"p2", true, true}}, "", 0, 1, dedup, {}};
    auto set = mirror::MirrorSet::compile(*cfg, {both}, {3}, {7});
    ASSERT_TRUE(set) << set.error();
    Taps taps(rig, std::move(*set));
    ASSERT_TRUE(taps.ok());
    for (int i = 0; i < 4; ++i) rig.send(0, ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoUdp, udp(4000, 53, 40)));
    EXPECT_EQ(rig.take(1).size(), 4u);  // switched to p2
    const auto recs = taps.take();
    unsigned rx = 0, tx = 0;
    for (size_t i = 0; i < recs.size(); ++i) {
      EXPECT_EQ(recs[i].generation, 7u);
      (recs[i].direction == mirror::kRx ? rx : tx)++;
      rte_pktmbuf_free(recs[i].copy);
    }
    const auto& c = rig.mirror_counters()[3];
    EXPECT_EQ(rx, 4u);
    EXPECT_EQ(tx, dedup ? 0u : 4u) << "dedup " << dedup;
    EXPECT_EQ(c.duplicate.get(), dedup ? 4u : 0u);
    EXPECT_EQ(c.copied.get(), dedup ? 4u : 8u);
  }
}

// Three ports in one network with a gateway (the dedup and egress-point tests).
constexpr const char* kThreePortsOneNetwork = R"(
ports:
  - {name: p1, type: discard, network: web}
  - {name: p2, type: discard, network: web}
  - {name: p3, type: discard, network: web}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
)";

// Dedup by the packet's origin (TxMeta), not by a field of the mbuf: a flood copy counts
// as the original (a duplicate at the tx taps: its rx tap judged it), a packet the switch
// made (the ARP reply to the gateway's address) is a new packet and is copied at tx. The
// mbufs arrive with m->port naming the other port (as a DPDK port id may): dedup must not
// read it. With the reply judged by the received frame's port it would be a duplicate.
TEST(Mirror, DedupFollowsTheOriginNotTheMbuf) {
  ForwarderRig rig(kThreePortsOneNetwork);
  auto cfg = config::load_string(kThreePortsOneNetwork, "m.yaml");
  ASSERT_TRUE(cfg);
  config::MirrorConfig all{"all", {{"p1", true, true}, {"p2", true, true}, {"p3", true, true}}, "", 0, 1, true, {}};
  auto set = mirror::MirrorSet::compile(*cfg, {all}, {2}, {1});
  ASSERT_TRUE(set) << set.error();
  Taps taps(rig, std::move(*set));
  ASSERT_TRUE(taps.ok());
  const Bytes bcast = ipv4({MacAddr::broadcast(), kA}, ip4("10.0.1.11"), ip4("10.0.1.255"), packet::kProtoUdp, udp(68, 67, 40));
  const Bytes who_has_gw = arp({MacAddr::broadcast(), kA}, 1, kA, ip4("10.0.1.11"), MacAddr{}, ip4("10.0.1.1"));
  rte_mbuf* ms[3] = {rig.mbuf(bcast), rig.mbuf(who_has_gw), rig.mbuf(bcast)};
  for (rte_mbuf* m : ms) m->port = 1;  // not the port they arrive on
  rig.forwarder().process(0, ms, 3, rig.now_s(), rte_rdtsc());
  EXPECT_EQ(rig.take(1).size(), 2u);  // the two broadcasts, flooded
  EXPECT_EQ(rig.take(2).size(), 2u);
  const auto reply = rig.take(0);
  ASSERT_EQ(reply.size(), 1u);  // the ARP reply, out of p1
  unsigned rx = 0, tx_p1 = 0, tx_other = 0;
  for (const auto& r : taps.take()) {
    if (r.direction == mirror::kRx) ++rx;
    else (r.port == 0 ? tx_p1 : tx_other)++;
    rte_pktmbuf_free(r.copy);
  }
  EXPECT_EQ(rx, 3u);        // every frame received on p1
  EXPECT_EQ(tx_other, 0u);  // the 4 flood copies: judged at p1's rx tap
  EXPECT_EQ(tx_p1, 1u);     // the reply: made by the switch
  const auto& c = rig.mirror_counters()[2];
  EXPECT_EQ(c.duplicate.get(), 4u);
  EXPECT_EQ(c.copied.get(), 4u);
}

// The egress point (AttachPoint::kEgress) the tx taps run at: a module's stage there sees
// each output port's packets once per burst, with their origin and network, before tx;
// a batch filled within the burst before it is sent early; and a simulated packet's
// outputs (ivctl trace), which are never sent.
namespace {
struct EgressCall {
  uint16_t port;
  std::vector<uint16_t> origins;
  std::vector<int16_t> nets;
  bool simulating;
};
class EgressProbe final : public pipeline::Module {
 public:
  explicit EgressProbe(std::vector<EgressCall>* calls) : calls_(calls) {}
  std::string_view name() const noexcept override { return "egress_probe"; }
  std::unique_ptr<pipeline::Stage> make_stage(pipeline::AttachPoint at) const override {
    struct Probe final : pipeline::Stage {
      explicit Probe(std::vector<EgressCall>* c) : calls(c) {}
      void run_egress(pipeline::Forwarder& f, const pipeline::TxView& out) noexcept override {
        EgressCall c{out.port, {}, {}, f.simulating()};  // (a test: allocates)
        for (uint16_t i = 0; i < out.n; ++i) {
          c.origins.push_back(out.meta[i].origin);
          c.nets.push_back(out.meta[i].net);
        }
        calls->push_back(std::move(c));
      }
      std::vector<EgressCall>* calls;
    };
    return at == pipeline::AttachPoint::kEgress ? std::make_unique<Probe>(calls_) : nullptr;
  }

 private:
  std::vector<EgressCall>* calls_;
};
}  // namespace

TEST(Mirror, EgressStagesSeeEachPortsBatchOncePerBurst) {
  ForwarderRig rig(kThreePortsOneNetwork);
  std::vector<EgressCall> calls;
  rig.modules().push_back(std::make_unique<EgressProbe>(&calls));
  rig.attach_mirrors(nullptr, nullptr);  // a new Forwarder: it asks the modules for their stages
  const Bytes bcast = ipv4({MacAddr::broadcast(), kA}, ip4("10.0.1.11"), ip4("10.0.1.255"), packet::kProtoUdp, udp(68, 67, 40));
  const Bytes who_has_gw = arp({MacAddr::broadcast(), kA}, 1, kA, ip4("10.0.1.11"), MacAddr{}, ip4("10.0.1.1"));
  rte_mbuf* ms[3] = {rig.mbuf(bcast), rig.mbuf(who_has_gw), rig.mbuf(bcast)};
  rig.forwarder().process(0, ms, 3, rig.now_s(), rte_rdtsc());
  ASSERT_EQ(calls.size(), 3u);  // one call per port with packets, in port order
  using V16 = std::vector<uint16_t>;
  using VN = std::vector<int16_t>;
  EXPECT_EQ(calls[0].port, 0u);
  EXPECT_EQ(calls[0].origins, V16{pipeline::kOriginSwitch});  // the ARP reply
  for (int p : {1, 2}) {
    EXPECT_EQ(calls[p].port, p);
    EXPECT_EQ(calls[p].origins, (V16{0, 0}));  // the flood copies, as the original
    EXPECT_EQ(calls[p].nets, (VN{0, 0}));
    EXPECT_FALSE(calls[p].simulating);
  }
  EXPECT_EQ(rig.take(0).size() + rig.take(1).size() + rig.take(2).size(), 5u);
  // A full batch goes through the egress point before it is sent, within the burst.
  calls.clear();
  std::vector<rte_mbuf*> many;
  for (int i = 0; i < 64; ++i) many.push_back(rig.mbuf(bcast));
  rig.forwarder().process(0, many.data(), 64, rig.now_s(), rte_rdtsc());
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].origins.size() + calls[1].origins.size(), 128u);
  EXPECT_EQ(rig.drops(1, DropReason::kTxLinkDown) + rig.drops(2, DropReason::kTxLinkDown), 128u);  // sent (no link)
  // ivctl trace: the simulated packet's outputs pass the egress point too.
  calls.clear();
  const auto t = rig.trace(0, bcast);
  EXPECT_EQ(t.outputs.size(), 2u);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_TRUE(calls[0].simulating);
  // A packet emitted outside a burst (as a stage's poll or a future emitter would) and then
  // flushed: flush() runs the egress point first, so the tx taps cannot be skipped.
  calls.clear();
  const uint64_t sent_before = rig.drops(1, DropReason::kTxLinkDown);
  rig.forwarder().emit(1, 0, rig.mbuf(bcast), pipeline::kOriginSwitch);
  rig.forwarder().flush();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].port, 1u);
  EXPECT_EQ(calls[0].origins, V16{pipeline::kOriginSwitch});
  EXPECT_EQ(rig.drops(1, DropReason::kTxLinkDown), sent_before + 1);  // and sent (no link)
  rig.modules().pop_back();
}

// The broker's copies for tool ports leave through the poll point (AttachPoint::kPoll, run
// by the datapath thread between bursts): out of the tool port as they were seen, past the
// egress point (a mirror tapping the tool port's tx does not copy them again).
TEST(Mirror, ToolPortCopiesLeaveThroughThePollPointUntapped) {
  ForwarderRig rig(kThreePortsOneNetwork);
  auto cfg = config::load_string(kThreePortsOneNetwork, "m.yaml");
  ASSERT_TRUE(cfg);
  config::MirrorConfig p2tx{"p2tx", {{"p2", false, true}}, "", 0, 1, true, {}};
  auto set = mirror::MirrorSet::compile(*cfg, {p2tx}, {1}, {1});
  ASSERT_TRUE(set) << set.error();
  std::atomic<const mirror::MirrorSet*> published{set->get()};
  static int seq = 0;
  const int socket = static_cast<int>(rte_socket_id());
  rte_ring* copies = rte_ring_create_elem(("mirror_test_copies" + std::to_string(seq)).c_str(), sizeof(mirror::TapRecord), 64, socket,
                                          RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* tools = rte_ring_create_elem(("mirror_test_tools" + std::to_string(seq++)).c_str(), sizeof(mirror::ToolPacket), 64, socket,
                                         RING_F_SP_ENQ | RING_F_SC_DEQ);
  ASSERT_TRUE(copies && tools);
  rig.attach_mirrors(&published, copies, tools);
  EXPECT_EQ(rig.forwarder().poll(), 0u);  // nothing queued: no work, the thread may nap
  auto tapped = [&] {
    mirror::TapRecord recs[64];
    const unsigned n = rte_ring_sc_dequeue_burst_elem(copies, recs, sizeof(mirror::TapRecord), 64, nullptr);
    for (unsigned i = 0; i < n; ++i) rte_pktmbuf_free(recs[i].copy);
    return n;
  };
  // A frame switched out of p2 is copied at its tx tap (the tap works)...
  const Bytes bcast = ipv4({MacAddr::broadcast(), kA}, ip4("10.0.1.11"), ip4("10.0.1.255"), packet::kProtoUdp, udp(68, 67, 40));
  rte_mbuf* m = rig.mbuf(bcast);
  rig.forwarder().process(0, &m, 1, rig.now_s(), rte_rdtsc());
  EXPECT_EQ(tapped(), 1u);
  rig.take(1);
  rig.take(2);
  // ...the broker's copies for p2 are not: they leave in order, unchanged.
  const Bytes f1 = ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoUdp, udp(1000, 2000, 20));
  const Bytes f2 = ipv4({kA, kB}, ip4("10.0.1.12"), ip4("10.0.1.11"), packet::kProtoUdp, udp(2000, 1000, 30));
  mirror::ToolPacket tps[2] = {{rig.mbuf(f1), 1, 1, 0}, {rig.mbuf(f2), 1, 1, 0}};
  ASSERT_EQ(rte_ring_sp_enqueue_burst_elem(tools, tps, sizeof(mirror::ToolPacket), 2, nullptr), 2u);
  EXPECT_EQ(rig.forwarder().poll(), 2u);
  // Queued past the egress point: the thread's flush() after the poll (Pmd::run), which
  // runs the egress point over what it has not seen, will not tap them.
  ASSERT_EQ(rig.forwarder().batch(1).size(), 2u);
  EXPECT_EQ(rig.forwarder().batch(1).seen(), 2u);
  EXPECT_EQ(rig.take(1), (std::vector<Bytes>{f1, f2}));
  EXPECT_EQ(tapped(), 0u);
  EXPECT_EQ(rig.forwarder().poll(), 0u);
  rig.attach_mirrors(nullptr, nullptr);
  rte_ring_free(copies);
  rte_ring_free(tools);
}

TEST(Mirror, FlowHashIsSymmetric) {
  ForwarderRig rig("ports: [{name: p, type: discard, network: n}]\nnetworks: [{name: n, vlan: 10}]\n");
  std::set<uint32_t> hashes;
  for (uint16_t sport = 1000; sport < 1064; ++sport) {
    rte_mbuf* ab = rig.mbuf(ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoTcp, tcp(sport, 80, 0x10)));
    rte_mbuf* ba = rig.mbuf(ipv4({kA, kB, 10}, ip4("10.0.1.12"), ip4("10.0.1.11"), packet::kProtoTcp, tcp(80, sport, 0x10)));
    const uint32_t h = mirror::symmetric_flow_hash(ab, ab->pkt_len);
    EXPECT_EQ(h, mirror::symmetric_flow_hash(ba, ba->pkt_len)) << sport;  // tagged reply too
    hashes.insert(h);
    rte_pktmbuf_free(ab);
    rte_pktmbuf_free(ba);
  }
  EXPECT_GT(hashes.size(), 60u);  // flows spread
  std::array<uint8_t, 16> s{0xfd}, d{0xfd};
  s[15] = 1;
  d[15] = 2;
  rte_mbuf* a6 = rig.mbuf(ipv6({kB, kA}, s, d, packet::kProtoUdp, udp(1, 53)));
  rte_mbuf* b6 = rig.mbuf(ipv6({kA, kB}, d, s, packet::kProtoUdp, udp(53, 1)));
  EXPECT_EQ(mirror::symmetric_flow_hash(a6, a6->pkt_len), mirror::symmetric_flow_hash(b6, b6->pkt_len));
  rte_pktmbuf_free(a6);
  rte_pktmbuf_free(b6);
  rte_mbuf* runt = rig.mbuf(Bytes(10, 0xff));
  (void)mirror::symmetric_flow_hash(runt, runt->pkt_len);  // survives
  rte_pktmbuf_free(runt);
}

// The outer headers, byte by byte, and the truncation that keeps the outer packet within
// 1500 bytes (tshark decoding them is the integration suite's check).
TEST(Mirror, EncapsulationHeaders) {
  ForwarderRig rig("ports: [{name: p, type: discard, network: n}]\nnetworks: [{name: n, vlan: 10}]\n");
  const Bytes inner = ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoUdp, udp(4000, 53, 1472));
  ASSERT_EQ(inner.size(), 1514u);
  config::MirrorTool t;
  t.remote_ip = Ipv4Addr{ip4("192.168.99.1")};
  t.local_ip = Ipv4Addr{ip4("192.168.99.254")};
  t.remote_mac = mac("02:00:00:00:09:99");
  t.local_mac = mac("02:49:56:00:ff:ff");
  for (const auto kind : {config::MirrorTool::kErspan, config::MirrorTool::kVxlan})
    for (const uint32_t version : {2u, 3u}) {
      if (kind == config::MirrorTool::kVxlan && version == 3) continue;
      t.kind = kind;
      t.erspan_version = version;
      t.session = 77;
      t.vni = 4242;
      rte_mbuf* m = rig.mbuf(inner);
      ASSERT_TRUE(mirror::encapsulate(m, t, {1514, 3, true, 123456789, 9, 0x1234}));
      const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
      const uint32_t over = mirror::encap_overhead(t);
      EXPECT_EQ(m->pkt_len, 1514u);  // 1500-byte outer IP packet: the inner frame was cut
      EXPECT_EQ(p[12] << 8 | p[13], 0x0800);
      EXPECT_EQ(p[14 + 2] << 8 | p[14 + 3], 1500);           // outer IP total length
      EXPECT_EQ(p[14 + 9], kind == config::MirrorTool::kErspan ? 47 : 17);
      EXPECT_EQ(std::memcmp(p + over, inner.data(), 64), 0);  // the inner frame follows
      const uint8_t* h = p + 34;
      if (kind == config::MirrorTool::kVxlan) {
        EXPECT_EQ(h[2] << 8 | h[3], 4789);
        EXPECT_EQ(h[8], 0x08);
        EXPECT_EQ((h[12] << 16 | h[13] << 8 | h[14]), 4242);
      } else {
        EXPECT_EQ(h[0] << 8 | h[1], 0x1000);  // GRE with a sequence number
        EXPECT_EQ(h[2] << 8 | h[3], version == 3 ? 0x22EB : 0x88BE);
        EXPECT_EQ(h[7], 9);                    // sequence
        EXPECT_EQ(h[8] >> 4, version == 3 ? 2 : 1);
        EXPECT_EQ((h[10] & 3) << 8 | h[11], 77);  // session
        EXPECT_TRUE(h[10] & 0x04);                 // T: truncated
        if (version == 2) EXPECT_EQ(h[15], 3);     // index: the tap port
        else EXPECT_TRUE(h[19] & 0x08);            // D: egress
      }
      rte_pktmbuf_free(m);
    }
}

// Found by tests/fuzz/encap_fuzz.cpp: ERSPAN II took the inner frame's ethertype from the
// first segment even when that segment ends before byte 14 (it read past the segment's
// data). A tagged frame in a chain whose first segment ends inside the MAC addresses: the
// tag is in the second segment, and ERSPAN II says it is preserved (En = 3).
TEST(Mirror, EncapsulationReadsTheInnerTagAcrossSegments) {
  ForwarderRig rig("ports: [{name: p, type: discard, network: n}]\nnetworks: [{name: n, vlan: 10}]\n");
  Bytes tagged = ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoUdp, udp(4000, 53, 64));
  const uint8_t tag[] = {0x81, 0x00, 0x00, 0x0a};
  tagged.insert(tagged.begin() + 12, std::begin(tag), std::end(tag));
  // The first segment: 10 bytes of data, and behind them in its buffer an untagged ethertype.
  Bytes head_bytes(tagged.begin(), tagged.begin() + 14);
  head_bytes[12] = 0x08;
  head_bytes[13] = 0x00;
  rte_mbuf* m = rig.mbuf(head_bytes);
  ASSERT_EQ(rte_pktmbuf_trim(m, 4), 0);
  ASSERT_EQ(rte_pktmbuf_chain(m, rig.mbuf(Bytes(tagged.begin() + 10, tagged.end()))), 0);
  ASSERT_EQ(m->pkt_len, tagged.size());
  config::MirrorTool t;
  t.kind = config::MirrorTool::kErspan;
  t.erspan_version = 2;
  t.session = 5;
  ASSERT_TRUE(mirror::encapsulate(m, t, {static_cast<uint32_t>(tagged.size()), 0, false, 0, 1, 0}));
  const uint8_t* erspan = rte_pktmbuf_mtod(m, const uint8_t*) + 34 + 8;
  EXPECT_EQ((erspan[2] >> 3) & 3, 3);  // En: the VLAN tag is preserved in the frame
  EXPECT_EQ(erspan[3], 5);             // session
  rte_pktmbuf_free(m);
}

TEST(Mirror, CaptureStreamFramesPcap) {
  ForwarderRig rig("ports: [{name: p, type: discard, network: n}]\nnetworks: [{name: n, vlan: 10}]\n");
  mirror::CaptureStream stream(4096);
  const Bytes f = ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoUdp, udp(4000, 53, 1000));
  rte_mbuf* m = rig.mbuf(f);
  unsigned pushed = 0;
  while (stream.push(m, m->pkt_len, rte_rdtsc())) ++pushed;
  EXPECT_EQ(pushed, 3u);  // 4096 bytes hold the header and three 1042-byte frames ...
  EXPECT_EQ(stream.dropped(), 1u);  // ... the fourth is dropped, counted
  std::string out;
  EXPECT_EQ(stream.take(out, std::chrono::milliseconds(0)), 4u);
  uint32_t len;
  std::memcpy(&len, out.data(), 4);
  EXPECT_EQ(len, 24u);
  EXPECT_EQ(out.substr(4, 24), mirror::CaptureStream::file_header());
  std::memcpy(&len, out.data() + 28, 4);
  EXPECT_EQ(len, 16 + f.size());
  EXPECT_EQ(std::memcmp(out.data() + 28 + 4 + 16, f.data(), f.size()), 0);
  out.clear();
  EXPECT_EQ(stream.take(out, std::chrono::milliseconds(10)), 0u);  // nothing more: waits, returns
  EXPECT_TRUE(out.empty());
  rte_pktmbuf_free(m);
}

// A flow tap: both directions of the flows a policy match selects, wherever they enter.
TEST(Mirror, FlowTapTakesBothDirectionsOfTheSelectedFlows) {
  const std::string topo = TwoVms{}.yaml() + R"(mirrors:
  - name: dns
    taps: [{flows: {from: vm1, to: vm2, protocol: udp, ports: [53]}}]
    tools: [{pcapng: /tmp/ivs-unit-flowtap.pcapng}]
)";
  ForwarderRig rig(topo);
  auto cfg = config::load_string(topo, "m.yaml");
  ASSERT_TRUE(cfg) << cfg.error()[0];
  ASSERT_TRUE(cfg->mirrors[0].taps[0].flows);
  auto set = mirror::MirrorSet::compile(*cfg, cfg->mirrors, {2}, {1});
  ASSERT_TRUE(set) << set.error();
  Taps taps(rig, std::move(*set));
  ASSERT_TRUE(taps.ok());
  rig.send(0, ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoUdp, udp(4000, 53)));   // selected
  rig.send(1, ipv4({kA, kB}, ip4("10.0.1.12"), ip4("10.0.1.11"), packet::kProtoUdp, udp(53, 4000)));   // its reply
  rig.send(0, ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoUdp, udp(4000, 54)));   // another port
  rig.send(0, ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoTcp, tcp(4000, 53, 2))); // tcp
  rig.send(1, ipv4({kA, kB}, ip4("10.0.1.12"), ip4("10.0.1.11"), packet::kProtoUdp, udp(4001, 53)));   // vm2 -> vm1:53
  rig.send(1, ipv4({kA, kB}, ip4("10.0.1.12"), ip4("10.0.1.11"), packet::kProtoUdp, udp(53, 5000)));   // a flow vm2 starts
  rig.send(0, ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoUdp, udp(5000, 53)));   // ... and its reply
  std::vector<uint16_t> ports;
  for (const auto& r : taps.take()) {
    ports.push_back(r.port);
    rte_pktmbuf_free(r.copy);
  }
  EXPECT_EQ(ports, (std::vector<uint16_t>{0, 1}));  // the request at p1, the reply at p2
  EXPECT_EQ(rig.mirror_counters()[2].copied.get(), 2u);
}
