// Trace records (issue 16, item 2): the real stages write them, the formatter turns them
// into ivctl's text and JSON, with names from the policy snapshot; live tracing records
// the next N packets of a port as the Forwarder really forwards them (a first packet
// through the policy thread and back, later ones from the flow cache), within its
// budget and filter, and costs the untraced packets nothing but the budget check; a port's
// mtu: fragmented or too big, traced as the datapath does it.
#include <gtest/gtest.h>

#include <algorithm>

#include "packet/pcap_filter.hpp"
#include "packet/checksum.hpp"
#include "support/forwarder_rig.hpp"
#include "support/web_db.hpp"

using namespace ivs;
using namespace ivs::test;
using namespace ivs::test::web_db;
using pipeline::TraceEvent;

namespace {

constexpr uint16_t kP1 = 0, kP3 = 1;

const std::string kConfig = routed(R"(policy:
  default: drop
  rules:
    - {name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: allow}
    - {name: ssh, to: vm3, protocol: tcp, ports: [22], action: reject}
)");

Bytes to_db(uint16_t sport, uint16_t dport, uint8_t flags) {
  return ipv4({kGwWeb, kVm1}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoTcp, tcp(sport, dport, flags));
}

std::vector<std::string> events(const pipeline::FormattedPacket& p) {
  std::vector<std::string> out;
  for (const auto& s : p.steps) out.push_back(s.stage + "." + s.event);
  return out;
}
const pipeline::TraceStep* step(const pipeline::FormattedPacket& p, const std::string& stage, const std::string& event) {
  for (const auto& s : p.steps)
    if (s.stage == stage && s.event == event) return &s;
  return nullptr;
}

// A live session on the rig's forwarder, as Datapath::trace_live arms it.
struct Live {
  pipeline::LiveTrace live;
  std::unique_ptr<pipeline::TraceBuffer> buf = std::make_unique<pipeline::TraceBuffer>();
  Live(ForwarderRig& rig, uint16_t port, uint32_t count, const packet::PacketFilter* filter = nullptr) {
    rig.attach_live(&live, buf.get());
    live.port = port;
    live.filter = filter;
    live.session.store(1);
    live.budget.store(count);
  }
};

}  // namespace

// The simulation (ivctl trace): every stage's record, formatted with the rule's name
// from the policy snapshot, the verdict, and the frames that would leave.
TEST(Trace, SimulationRecordsEveryStageWithNames) {
  ForwarderRig rig(kConfig);
  const auto t = rig.trace(kP1, to_db(40000, 5432, 0x02));
  EXPECT_EQ(events(t.packet), (std::vector<std::string>{"ingress.received", "learn.mac_known", "classify.to_route", "classify.to_policy",
                                                        "policy.miss_decided", "forward.routed", "output.port"}));
  EXPECT_NE(step(t.packet, "policy", "miss_decided")->text.find("rule pg (epoch 1): allow"), std::string::npos);
  EXPECT_EQ(step(t.packet, "policy", "miss_decided")->fields["rule"], "pg");
  EXPECT_EQ(step(t.packet, "classify", "to_policy")->fields["flow"], "tcp 10.0.1.11:40000 <-> 10.0.2.13:5432");
  EXPECT_EQ(step(t.packet, "output", "port")->fields["port"], "p3");
  EXPECT_EQ(t.packet.result, "sent on 1 port(s): p3");
  EXPECT_EQ(t.packet.verdict, "allow");
  ASSERT_EQ(t.outputs.size(), 1u);
  EXPECT_EQ(t.outputs[0].first, kP3);
  ASSERT_EQ(t.steps.size(), t.packet.steps.size());  // the rig's (stage, text) pairs: the same formatter
  EXPECT_EQ(t.steps[4].first, "policy");
  EXPECT_EQ(t.steps[4].second, t.packet.steps[4].text);

  const auto r = rig.trace(kP1, to_db(40000, 22, 0x02));
  ASSERT_NE(step(r.packet, "policy", "rejected"), nullptr);
  EXPECT_NE(step(r.packet, "policy", "rejected")->text.find("TCP RST"), std::string::npos);
  EXPECT_EQ(r.packet.result, "sent on 1 port(s): p1") << "the RST goes back to the sender";
  EXPECT_NE(step(r.packet, "policy", "miss_decided")->text.find("rule ssh"), std::string::npos);
  const auto d = rig.trace(kP1, to_db(40000, 80, 0x02));
  EXPECT_EQ(d.packet.result, "dropped: policy.denied");
  EXPECT_TRUE(d.outputs.empty());
  EXPECT_EQ(rig.flows().size(), 0u) << "a simulation installs nothing";
}

// A cache hit names the rule of the entry's epoch. A flow kept by `persist` across a
// reload keeps its old rule's index under the new epoch (SlowPath::revalidate): it is
// shown as a number, not as whatever rule has that index now.
TEST(Trace, CacheHitNamesTheRuleOfItsEpoch) {
  ForwarderRig rig(kConfig);
  rig.send(kP1, to_db(40000, 5432, 0x02));
  ASSERT_EQ(rig.take(kP3).size(), 1u);
  auto t = rig.trace(kP1, to_db(40000, 5432, 0x10));
  const auto* hit = step(t.packet, "policy", "cache_hit");
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->fields["rule"], "pg");
  EXPECT_EQ(hit->fields["packets"], 1);
}

TEST(Trace, PersistedFlowIsNotGivenANewEpochsRuleName) {
  std::string persist = kConfig;
  persist.replace(persist.find("action: allow}"), 14, "action: allow, on_change: persist}");
  ForwarderRig rig(persist);
  rig.send(kP1, to_db(40000, 5432, 0x02));
  ASSERT_EQ(rig.take(kP3).size(), 1u);
  std::string next = kConfig.substr(0, kConfig.find("    - {name: pg"));
  rig.reload(next + "    - {name: other, protocol: udp, action: allow}\n", 2);  // pg gone: the flow persists
  const auto t = rig.trace(kP1, to_db(40000, 5432, 0x10));
  const auto* hit = step(t.packet, "policy", "cache_hit");
  ASSERT_NE(hit, nullptr) << t.packet.result;
  EXPECT_EQ(hit->fields["persisted"], true);
  EXPECT_EQ(hit->fields["rule"], "#0") << "epoch 1's rule index, not epoch 2's rule 'other'";
  EXPECT_EQ(t.packet.result, "sent on 1 port(s): p3");
}

// A port with an `mtu` (as an af_packet port's): a larger packet without DF is traced as
// fragmented and leaves in the same fragments as from the datapath; with DF it is traced
// as too big, and the sender gets the same ICMP fragmentation-needed the datapath sends.
TEST(Trace, PortMtuFragmentsOrAnswersTooBigAsTheDatapath) {
  std::string cfg = kConfig;
  cfg.replace(cfg.find("network: db}"), 12, "network: db, mtu: 200}");
  ForwarderRig rig(cfg);
  rig.port_runtime(kP3).tx_mtu = 200;  // what the Datapath sets for an af_packet port's mtu
  Bytes l4 = tcp(40000, 5432, 0x18);
  l4.resize(l4.size() + 400, 0x5a);
  const Bytes big = ipv4({kGwWeb, kVm1}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoTcp, l4);
  Bytes big_df = big;
  big_df[14 + 6] |= 0x40;
  packet::store_be16(&big_df[14 + 10], 0);
  packet::store_be16(&big_df[14 + 10], packet::csum(&big_df[14], 20));
  for (const bool df : {false, true}) {
    SCOPED_TRACE(df ? "DF set" : "no DF");
    const Bytes& f = df ? big_df : big;
    const auto t = rig.trace(kP1, f);
    rig.send(kP1, f);
    std::vector<std::pair<uint16_t, Bytes>> sent;
    for (uint16_t p : {kP1, kP3})
      for (auto& o : rig.take(p)) sent.emplace_back(p, std::move(o));
    EXPECT_EQ(t.outputs, sent) << "trace's frames are the datapath's";
    const auto* s = step(t.packet, "output", df ? "too_big" : "fragmented");
    ASSERT_NE(s, nullptr) << t.packet.result;
    EXPECT_EQ(s->fields["mtu"], 200);
    EXPECT_EQ(s->fields["bytes"], 440);
    if (df) {
      ASSERT_EQ(sent.size(), 1u);
      EXPECT_EQ(sent[0].first, kP1) << "ICMP fragmentation needed goes back to the sender";
      EXPECT_EQ(rig.drops(kP3, DropReason::kTxTooBig), 1u);
      EXPECT_EQ(rig.event(pipeline::Event::kTooBigReplies), 1u);
    } else {
      ASSERT_EQ(sent.size(), 3u);  // 440 bytes of IP in fragments of at most 200
      for (const auto& [p, o] : sent) {
        EXPECT_EQ(p, kP3);
        EXPECT_LE(o.size(), 200u + 14u);
      }
      EXPECT_EQ(rig.event(pipeline::Event::kTxFragments), 3u);
    }
  }
}

// Live: the packets the datapath really forwards, within the budget; the first packet's
// trip through the policy thread is followed (upcall -> back with its verdict).
TEST(Trace, LiveRecordsRealForwardingWithinTheBudget) {
  ForwarderRig rig(kConfig);
  Live s(rig, kP1, 2);
  rig.send(kP1, to_db(40000, 5432, 0x02));  // new flow: upcall, policy, re-injected
  rig.send(kP1, to_db(40000, 5432, 0x10));  // cache hit
  rig.send(kP1, to_db(40000, 5432, 0x10));  // the budget is spent: not traced
  EXPECT_EQ(rig.take(kP3).size(), 3u) << "tracing changes nothing about forwarding";
  EXPECT_EQ(s.live.budget.load(), 0u);
  EXPECT_EQ(rig.event(pipeline::Event::kTracePackets), 2u);
  const auto pk = rig.format(*s.buf);
  ASSERT_EQ(pk.size(), 2u);
  EXPECT_EQ(events(pk[0]), (std::vector<std::string>{"ingress.received", "learn.mac_known", "classify.to_route", "classify.to_policy",
                                                     "policy.upcall", "policy.reinjected", "forward.routed", "output.port"}));
  ASSERT_NE(step(pk[0], "policy", "reinjected"), nullptr) << "followed back from the policy thread";
  EXPECT_EQ(step(pk[0], "policy", "reinjected")->fields["rule"], "pg");
  EXPECT_EQ(pk[0].verdict, "allowed");
  EXPECT_EQ(pk[0].result, "sent on 1 port(s): p3");
  EXPECT_NE(pk[0].summary.find("tcp 10.0.1.11:40000 -> 10.0.2.13:5432 [S]"), std::string::npos) << pk[0].summary;
  ASSERT_NE(step(pk[1], "policy", "cache_hit"), nullptr);
  EXPECT_EQ(step(pk[1], "policy", "cache_hit")->fields["packets"], 1) << "the real entry's counters, before this packet: the first one";
  EXPECT_EQ(pk[1].outputs, std::vector<std::string>{"p3"});
  EXPECT_EQ(step(pk[0], "learn", "mac_known")->fields["static"], true);
}

// Live: only packets of the traced port that match the filter take from the budget; a
// denied packet's drop is recorded with its reason.
TEST(Trace, LiveFilterAndDrops) {
  ForwarderRig rig(kConfig);
  auto filter = packet::PacketFilter::compile("tcp dst port 80");
  ASSERT_TRUE(filter) << filter.error();
  Live s(rig, kP1, 5, filter->get());
  rig.send(kP1, to_db(40000, 5432, 0x02));  // does not match
  rig.send(kP1, to_db(40001, 80, 0x02));    // matches: denied by default
  rig.send(kP3, ipv4({config::default_gateway_mac(20), kVm3}, ip4("10.0.2.13"), ip4("10.0.1.11"), packet::kProtoTcp, tcp(9, 80, 0x02)));  // other port
  EXPECT_EQ(s.live.budget.load(), 4u);
  const auto pk = rig.format(*s.buf);
  ASSERT_EQ(pk.size(), 1u);
  EXPECT_EQ(pk[0].result, "dropped: policy.denied");
  EXPECT_EQ(pk[0].verdict, "denied");
  EXPECT_EQ(rig.drops(kP1, DropReason::kPolicyDenied), 1u);
}

// No session: the stages record nothing (the buffer stays empty); a full buffer counts
// what it could not keep.
TEST(Trace, NothingRecordedUnarmedAndLostRecordsCounted) {
  ForwarderRig rig(kConfig);
  Live s(rig, kP1, 0);
  rig.send(kP1, to_db(40000, 5432, 0x02));
  rig.send(kP1, to_db(40000, 5432, 0x10));
  EXPECT_EQ(rig.take(kP3).size(), 2u);
  EXPECT_EQ(s.buf->packet_count(), 0u);
  EXPECT_EQ(s.buf->record_count(), 0u);
  EXPECT_EQ(rig.event(pipeline::Event::kTracePackets), 0u);

  pipeline::TraceBuffer b;
  rte_mbuf* m = rig.mbuf(to_db(1, 2, 0x02));
  ASSERT_EQ(b.begin(m, kP1, 0), 0);
  for (uint32_t i = 0; i < pipeline::TraceBuffer::kRecords + 3; ++i) b.record(m, TraceEvent::kToRoute);
  EXPECT_EQ(b.record_count(), pipeline::TraceBuffer::kRecords);
  EXPECT_EQ(b.lost(), 3u);
  rte_mbuf* other = rig.mbuf(to_db(1, 2, 0x02));
  b.reset();
  b.record(other, TraceEvent::kToRoute);
  EXPECT_EQ(b.record_count(), 0u) << "an untraced mbuf gets no record";
  rte_pktmbuf_free(m);
  rte_pktmbuf_free(other);
}

// Live, a broadcast: the flood's copies are the same traced packet (one output record
// per port it leaves by), and the switch's MAC learning really happens.
TEST(Trace, LiveFloodCopiesAreTracedToEveryPort) {
  ForwarderRig rig(R"(
ports:
  - {name: a, type: discard, network: web}
  - {name: b, type: discard, network: web}
  - {name: c, type: discard, network: web}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
)");
  Live s(rig, 0, 1);
  const MacAddr src = mac("02:00:00:00:00:aa");
  rig.send(0, arp({MacAddr::broadcast(), src}, 1, src, ip4("10.0.1.5"), MacAddr{}, ip4("10.0.1.6")));
  EXPECT_EQ(rig.take(1).size(), 1u);
  EXPECT_EQ(rig.take(2).size(), 1u);
  const auto pk = rig.format(*s.buf);
  ASSERT_EQ(pk.size(), 1u);
  EXPECT_EQ(pk[0].outputs, (std::vector<std::string>{"b", "c"}));
  ASSERT_NE(step(pk[0], "forward", "flood"), nullptr);
  EXPECT_EQ(step(pk[0], "forward", "flood")->fields["ports"], 2);
  EXPECT_EQ(step(pk[0], "learn", "mac_new")->fields["simulated"], false);
  EXPECT_EQ(rig.learned().size(), 2u) << "the MAC and the ARP sender really queued for learning";
  EXPECT_NE(pk[0].summary.find("arp request 10.0.1.5 -> 10.0.1.6"), std::string::npos) << pk[0].summary;
}
