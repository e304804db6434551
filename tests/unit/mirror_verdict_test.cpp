// Mirror filters judged once per flow (issue 18 item 3; mirror/verdict_cache.hpp): the
// copies the real Forwarder makes, with the verdicts kept per flow, are exactly those
// libpcap's own verdict per packet (pcap_offline_filter) selects, at every tap point
// (rx on a trunk: tagged; rx on access ports; tx on both), for generated flows whose
// packets vary in length, TCP flags, TTL, DSCP, IP id and fragmentation; also after the
// mirror set changes under the same flows (the kept verdicts must not outlive their set).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <rte_ring_elem.h>

#include <map>
#include <string>
#include <vector>

#include "mirror/mirror_set.hpp"
#include "mirror/tap_stage.hpp"
#include "packet/checksum.hpp"
#include "support/forwarder_rig.hpp"
#include "support/libpcap_verdict.hpp"

using namespace ivs;
using namespace ivs::test;

namespace {

const char* kTopo = R"(
ports:
  - {name: p1, type: discard, trunk: [web]}
  - {name: p2, type: discard, network: web}
  - {name: p3, type: discard, network: web}
networks:
  - {name: web, vlan: 10}
)";

// The issue's tricky filters (per packet), the flow-constant ones (per flow), and more.
const std::vector<std::string> kFilters = {
    "len > 100",        "ip[2:2] > 99",         "tcp[13] & 2 != 0",       "tcp[tcpflags] & tcp-syn != 0",
    "ip[6:2] & 0x1fff != 0", "host 10.0.0.1",   "tcp port 80",            "udp and dst port 53",
    "net 10.0.1.0/24 and not port 22", "vlan 10 and tcp", "ip[1] & 0xfc == 0xb8", "ip[8] < 10",
    "vlan and tcp port 80", "udp[0:2] < 40003", "tcp or ip[4:2] == 7"};
// Per flow on untagged frames (tagged frames: libpcap never looks past a tag without
// `vlan`, so most of the per-packet ones are a constant there, per flow too).
const std::vector<bool> kPerFlow = {false, false, false, false, false, true, true, true, true, true, false, false, true, true, false};

const MacAddr kA = mac("02:00:00:00:01:01"), kB = mac("02:00:00:00:01:02"), kC = mac("02:00:00:00:01:03");
const uint32_t kIpA = ip4("10.0.0.1"), kIpB = ip4("10.0.1.2"), kIpC = ip4("10.0.1.3");

// One packet of a flow: how it varies from the flow's other packets.
struct Variant {
  size_t payload;
  uint8_t tcp_flags;
  uint8_t ttl, tos;
  uint16_t ip_id;
  int frag;  // 0: whole; 1: first fragment (MF); 2: a later fragment
};
const Variant kVariants[] = {{0, 0x02, 64, 0, 1, 0},    {40, 0x10, 64, 0, 2, 0},  {200, 0x18, 63, 0xb8, 7, 0},
                             {10, 0x11, 5, 0x28, 9, 0}, {100, 0x18, 64, 0, 11, 1}, {30, 0x18, 64, 0, 11, 2},
                             {0, 0x04, 9, 0xb8, 13, 0}};

struct Endpoint {
  MacAddr mac;
  uint32_t ip;
  uint16_t port;  // the rig's port index it sits on
};

Bytes frame_of(const Endpoint& s, const Endpoint& d, uint8_t proto, uint16_t sport, uint16_t dport, const Variant& v) {
  Bytes l4 = proto == packet::kProtoTcp ? tcp(sport, dport, v.tcp_flags) : udp(sport, dport, 0);
  l4.insert(l4.end(), v.payload, 0x5a);
  const Eth eth{d.mac, s.mac, s.port == 0 ? 10 : -1};  // p1 is the trunk: its frames are tagged
  Bytes f = v.frag ? ipv4_fragment(eth, s.ip, d.ip, proto, l4, v.ip_id, v.frag == 2 ? 3 : 0, v.frag == 1, v.ttl)
                   : ipv4(eth, s.ip, d.ip, proto, l4, v.ttl, v.tos);
  if (!v.frag) {  // the IP id (ipv4() writes 0x1234)
    uint8_t* iph = &f[eth.vlan >= 0 ? 18 : 14];
    packet::store_be16(iph + 4, v.ip_id);
    packet::store_be16(iph + 10, 0);
    packet::store_be16(iph + 10, packet::csum(iph, 20));
  }
  return f;
}

struct Published {
  std::vector<std::unique_ptr<mirror::MirrorSet>> sets;
  std::atomic<const mirror::MirrorSet*> current{nullptr};
};

// Every mirror taps every port both ways, without dedup: each packet is judged at its rx
// tap and again at its tx tap, as it looks there. `order[i]`: the filter of mirror i.
std::unique_ptr<mirror::MirrorSet> make_set(const std::vector<size_t>& order) {
  auto cfg = config::load_string(kTopo, "m.yaml");
  EXPECT_TRUE(cfg);
  std::vector<config::MirrorConfig> ms;
  std::vector<uint8_t> slots;
  std::vector<uint32_t> gens;
  for (size_t i = 0; i < order.size(); ++i) {
    ms.push_back({"m" + std::to_string(order[i]), {{"p1", true, true}, {"p2", true, true}, {"p3", true, true}}, kFilters[order[i]], 0, 1,
                  false, {}});
    slots.push_back(static_cast<uint8_t>(order[i]));  // the slot names the filter
    gens.push_back(static_cast<uint32_t>(i + 1));
  }
  auto set = mirror::MirrorSet::compile(*cfg, ms, slots, gens);
  EXPECT_TRUE(set) << set.error();
  return std::move(*set);
}

// Sends `in` on `port` (one burst) and compares every copy with libpcap's verdict on the
// frame at that tap (rx: as sent; tx: as it left). `what` names the frame in failures.
void send_one_and_compare(ForwarderRig& rig, rte_ring* ring, const std::vector<size_t>& order, uint16_t port, const Bytes& in,
                          const std::string& what) {
  rig.send(port, in);
  std::vector<Bytes> out;
  for (uint16_t p = 0; p < 3; ++p)
    for (auto& f : rig.take(p)) out.push_back(std::move(f));
  // Expected copies per filter: rx of `in`, tx of each output.
  std::map<std::pair<uint8_t, uint8_t>, std::vector<Bytes>> want, got;
  for (size_t i = 0; i < order.size(); ++i) {
    const auto slot = static_cast<uint8_t>(order[i]);
    if (libpcap_selects(kFilters[order[i]], in)) want[{slot, mirror::kRx}].push_back(in);
    for (const auto& o : out)
      if (libpcap_selects(kFilters[order[i]], o)) want[{slot, mirror::kTx}].push_back(o);
  }
  mirror::TapRecord recs[64];
  unsigned n;
  while ((n = rte_ring_sc_dequeue_burst_elem(ring, recs, sizeof(mirror::TapRecord), 64, nullptr)) > 0)
    for (unsigned k = 0; k < n; ++k) {
      Bytes copy(recs[k].copy->pkt_len);
      const void* d = rte_pktmbuf_read(recs[k].copy, 0, recs[k].copy->pkt_len, copy.data());
      if (d != copy.data()) std::memcpy(copy.data(), d, copy.size());
      got[{recs[k].slot, recs[k].direction}].push_back(std::move(copy));
      rte_pktmbuf_free(recs[k].copy);
    }
  for (const auto& [key, frames] : want)
    EXPECT_EQ(got[key], frames) << "'" << kFilters[key.first] << "' " << (key.second == mirror::kRx ? "rx" : "tx") << ", " << what;
  for (const auto& [key, frames] : got)
    EXPECT_EQ(frames.size(), want[key].size()) << "'" << kFilters[key.first] << "' copied what libpcap does not select, " << what;
}

// Sends each flow's packets, one per burst, and compares every copy with libpcap's verdict
// on the frame at that tap (rx: as sent; tx: as it left). Returns the packets sent.
unsigned send_and_compare(ForwarderRig& rig, rte_ring* ring, const std::vector<size_t>& order) {
  const Endpoint a{kA, kIpA, 0}, b{kB, kIpB, 1}, c{kC, kIpC, 2};
  struct Flow {
    Endpoint s, d;
    uint8_t proto;
    uint16_t sport, dport;
  };
  std::vector<Flow> flows;
  for (uint16_t i = 0; i < 3; ++i)
    for (uint16_t dport : {80, 22, 443, 53})
      for (uint8_t proto : {packet::kProtoTcp, packet::kProtoUdp}) {
        flows.push_back({a, b, proto, static_cast<uint16_t>(40000 + i), dport});  // tagged rx, untagged tx
        flows.push_back({c, a, proto, static_cast<uint16_t>(40000 + i), dport});  // untagged rx, tagged tx
        flows.push_back({b, c, proto, dport, static_cast<uint16_t>(40000 + i)});  // untagged both
      }
  unsigned sent = 0;
  for (const Variant& v : kVariants)  // interleaved: each flow's packets come across rounds
    for (const Flow& fl : flows) {
      send_one_and_compare(rig, ring, order, fl.s.port, frame_of(fl.s, fl.d, fl.proto, fl.sport, fl.dport, v),
                           fmt::format("flow {}->{} proto {}, variant payload {} frag {}", fl.sport, fl.dport, int(fl.proto), v.payload, v.frag));
      ++sent;
    }
  return sent;
}

// The rig with the three hosts' MACs learned and every filter published as one set (mirror
// i has filter i), its copies on a ring of its own.
struct TappedRig {
  ForwarderRig rig{kTopo};
  rte_ring* ring;
  Published pub;
  std::vector<size_t> order;
  explicit TappedRig(const char* ring_name)
      : ring(rte_ring_create_elem(ring_name, sizeof(mirror::TapRecord), 4096, static_cast<int>(rte_socket_id()),
                                  RING_F_SP_ENQ | RING_F_SC_DEQ)),
        order(kFilters.size()) {
    rig.add_mac(0, kA, 0, true);
    rig.add_mac(0, kB, 1, true);
    rig.add_mac(0, kC, 2, true);
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    pub.sets.push_back(make_set(order));
    pub.current = pub.sets[0].get();
    if (ring) rig.attach_mirrors(&pub.current, ring);
  }
  ~TappedRig() {
    rig.attach_mirrors(nullptr, nullptr);
    rte_ring_free(ring);
  }
};

}  // namespace

TEST(MirrorVerdict, CopiesPerFlowAreExactlyLibpcapsPerPacketSelection) {
  TappedRig t("mirror_verdict_taps");
  ASSERT_TRUE(t.ring);
  auto& [rig, ring, pub, order] = t;
  for (size_t i = 0; i < kFilters.size(); ++i)
    EXPECT_EQ((pub.sets[0]->mirror(static_cast<uint8_t>(i)).per_flow & 1) != 0, kPerFlow[i]) << kFilters[i];

  const unsigned sent = send_and_compare(rig, ring, order);
  const auto& c = rig.mirror_counters();
  for (size_t i = 0; i < kFilters.size(); ++i) {
    // Every judgement counted once, as a run or a kept verdict; per-packet filters always run.
    EXPECT_EQ(c[i].filter_runs.get() + c[i].verdict_cached.get(), c[i].eligible.get()) << kFilters[i];
    EXPECT_GT(c[i].eligible.get(), sent) << kFilters[i];  // rx and tx taps
    if (kPerFlow[i]) EXPECT_GT(c[i].verdict_cached.get(), c[i].eligible.get() / 2) << kFilters[i];
    if (pub.sets[0]->mirror(static_cast<uint8_t>(i)).per_flow == 0) EXPECT_EQ(c[i].verdict_cached.get(), 0u) << kFilters[i];
  }

  // A new set under the same flows: each mirror index now holds another filter. Verdicts
  // kept for the old set must not answer for the new one.
  std::vector<size_t> rotated(order.size());
  for (size_t i = 0; i < order.size(); ++i) rotated[i] = order[(i + 1) % order.size()];
  pub.sets.push_back(make_set(rotated));
  pub.current = pub.sets[1].get();
  send_and_compare(rig, ring, rotated);

}

// Frames built to meet a kept verdict's key where libpcap's verdict differs (review of
// issue 18 item 3): a flow c -> a, TCP 40000 -> 80, is judged and kept first; then frames
// between the same hosts whose bytes at the untagged, option-less port offset repeat
// 40000 -> 80 but whose ports are not those: a later fragment (its data starts with
// them), a header with one option word equal to them (the ports 4 bytes later), and a
// frame cut short inside the TCP header. A key that ignored the fragment field, the IHL
// or the frame's length would hand them the kept "selected" verdict of `tcp port 80`.
TEST(MirrorVerdict, FramesBuiltToMeetAKeptVerdictAreJudgedAsLibpcapJudgesThem) {
  TappedRig t("mirror_verdict_collide");
  ASSERT_TRUE(t.ring);
  auto& [rig, ring, pub, order] = t;
  const Endpoint a{kA, kIpA, 0}, c{kC, kIpC, 2};
  const Eth eth{a.mac, c.mac, -1};  // c's port p3 is untagged
  const Bytes ports{0x9c, 0x40, 0x00, 0x50};  // 40000 -> 80

  // The flow, judged and kept (twice: the second is served from the kept verdict).
  const Variant whole{20, 0x18, 64, 0, 5, 0};
  send_one_and_compare(rig, ring, order, c.port, frame_of(c, a, packet::kProtoTcp, 40000, 80, whole), "the flow's packet");
  send_one_and_compare(rig, ring, order, c.port, frame_of(c, a, packet::kProtoTcp, 40000, 80, whole), "the flow's packet again");
  const auto& counters = rig.mirror_counters();
  const size_t port80 = 6;  // kFilters[6] == "tcp port 80"
  ASSERT_EQ(kFilters[port80], "tcp port 80");
  const uint64_t kept_before = counters[port80].verdict_cached.get();
  ASSERT_GT(kept_before, 0u) << "the flow's verdict was not kept: the frames below would test nothing";

  // A later fragment of another datagram between them whose data starts with 40000 -> 80.
  Bytes part = ports;
  part.insert(part.end(), 20, 0x5a);
  send_one_and_compare(rig, ring, order, c.port, ipv4_fragment(eth, c.ip, a.ip, packet::kProtoTcp, part, 77, 3, false),
                       "a later fragment whose data repeats the ports");
  // An IPv4 header with one option word equal to 40000 -> 80; its real ports 1234 -> 5555.
  Bytes opt = ipv4(eth, c.ip, a.ip, packet::kProtoTcp, tcp(1234, 5555, 0x18));
  opt.insert(opt.begin() + 14 + 20, ports.begin(), ports.end());
  uint8_t* iph = &opt[14];
  iph[0] = 0x46;
  packet::store_be16(iph + 2, static_cast<uint16_t>(opt.size() - 14));
  packet::store_be16(iph + 10, 0);
  packet::store_be16(iph + 10, packet::csum(iph, 24));
  send_one_and_compare(rig, ring, order, c.port, opt, "IHL 6, the option word repeating the ports");
  // Cut short two bytes into the TCP header (the source port only).
  Bytes cut = frame_of(c, a, packet::kProtoTcp, 40000, 80, whole);
  cut.resize(14 + 20 + 2);
  send_one_and_compare(rig, ring, order, c.port, cut, "cut inside the TCP header");
  // None of them answered from the kept verdict.
  EXPECT_EQ(counters[port80].verdict_cached.get(), kept_before);

}
