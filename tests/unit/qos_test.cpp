// The QoS guard through the real forwarder and policy thread: DSCP names; the rewrite
// keeps ECN and a valid IPv4 checksum (IPv6: traffic class, flow label kept); enforce
// rewrites, audit counts and samples without changing a byte, trust only counts; tagged
// frames are rewritten behind their tag; a flow the full flow table refused is guarded
// too; a meter holds a sender to its rate; a reload
// changes the assigned DSCP of established flows; the class by DSCP at the egress point
// (the module's stage, summed over datapath threads' stages, trace steps after their
// output); the egress scheduler sends the strict class first when the device ring is
// full, and tail-drops per class.
#include <gtest/gtest.h>
#include <algorithm>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>

#include "common/dscp.hpp"
#include "packet/checksum.hpp"
#include "packet/parse.hpp"
#include "qos/egress_stage.hpp"
#include "qos/flow_state.hpp"
#include "qos/module.hpp"
#include "qos/scheduler.hpp"
#include "support/forwarder_rig.hpp"
#include "support/two_vms.hpp"

using namespace ivs;
using namespace ivs::test;

namespace {

const MacAddr kVm1 = mac("02:00:00:00:01:01"), kVm2 = mac("02:00:00:00:01:02");
enum : uint16_t { kP1, kP2, kTrunk };

std::string config_with(const std::string& qos) {
  return TwoVms{.vm_more = {R"(, allowed_addresses: ["fd00::1"])", R"(, allowed_addresses: ["fd00::2"])"},
                .more_ports = "  - {name: t, type: discard, trunk: [web]}\n",
                .more_vms = "  - {name: vm9, port: t, network: web, mac: \"02:00:00:00:01:09\", ip: 10.0.1.19}\n"}
             .yaml() +
         qos;
}
const std::string kGuard = R"(
qos:
  assign:
    - {name: voice, from: vm1, dscp: EF}
    - {name: vm2-audit, from: vm2, dscp: AF21, mode: audit}
    - {name: vm9-trust, from: vm9, mode: trust}
)";

Bytes udp_from_vm1(uint8_t tos, uint16_t sport = 4000) {
  return ipv4({kVm2, kVm1}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoUdp, udp(sport, 5000), 64, tos);
}
Bytes udp_from_vm2(uint8_t tos) {
  return ipv4({kVm1, kVm2}, ip4("10.0.1.12"), ip4("10.0.1.11"), packet::kProtoUdp, udp(5000, 4000), 64, tos);
}
uint8_t tos_of(const Bytes& f, size_t l3 = 14) { return f.at(l3 + 1); }
bool ipv4_checksum_ok(const Bytes& f, size_t l3 = 14) { return packet::csum_ok(f.data() + l3, 20); }

}  // namespace

TEST(Qos, DscpNamesRoundTrip) {
  EXPECT_EQ(parse_dscp("EF"), 46);
  EXPECT_EQ(parse_dscp("af21"), 18);
  EXPECT_EQ(parse_dscp("CS1"), 8);
  EXPECT_EQ(parse_dscp("be"), 0);
  EXPECT_EQ(parse_dscp("63"), 63);
  EXPECT_EQ(parse_dscp("64"), std::nullopt);
  EXPECT_EQ(parse_dscp("AF44"), std::nullopt);
  EXPECT_EQ(parse_dscp("CS8"), std::nullopt);
  for (unsigned d = 0; d < 64; ++d) EXPECT_EQ(parse_dscp(dscp_name(static_cast<uint8_t>(d))), d) << d;
}

TEST(Qos, RewriteKeepsEcnAndTheIpv4ChecksumForEveryValue) {
  for (unsigned from = 0; from < 256; ++from)
    for (unsigned to = 0; to < 64; to += 7) {
      Bytes f = udp_from_vm1(static_cast<uint8_t>(from));
      qos::write_dscp(f.data() + 14, false, static_cast<uint8_t>(to));
      ASSERT_EQ(tos_of(f), (to << 2) | (from & 3)) << from << "->" << to;
      ASSERT_TRUE(ipv4_checksum_ok(f)) << from << "->" << to;
    }
  // IPv6: version, ECN and the flow label survive.
  Bytes h = {0x6f, 0xff, 0xff, 0xff};
  qos::write_dscp(h.data(), true, 10);
  EXPECT_EQ(h[0], 0x62);  // version 6, top 4 bits of traffic class (10 << 2 | 3 = 0x2b)
  EXPECT_EQ(h[1], 0xbf);
  EXPECT_EQ(h[2], 0xff);
  EXPECT_EQ(h[3], 0xff);
}

TEST(Qos, EnforceRewritesAuditCountsTrustLeavesAlone) {
  ForwarderRig rig(config_with(kGuard));
  rig.send(kP1, udp_from_vm1(0x01));  // DSCP 0, ECN 01: must become EF, ECN kept
  auto out = rig.take(kP2);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(tos_of(out[0]), (46 << 2) | 1);
  EXPECT_TRUE(ipv4_checksum_ok(out[0]));
  rig.send(kP1, udp_from_vm1(46 << 2));  // already right: untouched
  out = rig.take(kP2);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], udp_from_vm1(46 << 2));

  const Bytes reply = udp_from_vm2(8 << 2 | 2);  // CS1 where AF21 is assigned, audit: unchanged
  rig.send(kP2, reply);
  out = rig.take(kP1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], reply);

  const auto& c = rig.qos_counters();
  EXPECT_EQ(c.vms[0].seen[0].get(), 1u);
  EXPECT_EQ(c.vms[0].seen[46].get(), 1u);
  EXPECT_EQ(c.vms[0].mismatched.get(), 1u);
  EXPECT_EQ(c.vms[0].rewritten.get(), 1u);
  EXPECT_EQ(c.vms[1].seen[8].get(), 1u);
  EXPECT_EQ(c.vms[1].mismatched.get(), 1u);
  EXPECT_EQ(c.vms[1].rewritten.get(), 0u);
  // The flow keeps a sample per direction: what was seen, how often.
  const flow::FlowEntry* fe = nullptr;
  rig.flows().for_each([&](const flow::FlowEntry& e) { fe = &e; });
  ASSERT_NE(fe, nullptr);
  const uint8_t d1 = fe->initiator, d2 = static_cast<uint8_t>(1 - fe->initiator);
  EXPECT_EQ(qos::flow_mismatch(*fe, d1).observed, 0);
  EXPECT_EQ(qos::flow_mismatches(*fe, d1), 1u);
  EXPECT_EQ(qos::flow_mismatch(*fe, d2).observed, 8);
  EXPECT_LE(rig.now_s() - qos::flow_mismatch(*fe, d2).last_s, 1u);  // when: just now
  EXPECT_EQ(qos::flow_decision(*fe, d2).mode, config::QosMode::kAudit);

  // vm9 (trust, on a trunk: tagged) sends CS3: only counted.
  const Bytes tagged = ipv4({kVm1, mac("02:00:00:00:01:09"), 10}, ip4("10.0.1.19"), ip4("10.0.1.11"), packet::kProtoUdp,
                            udp(7, 7), 64, 24 << 2);
  rig.send(kTrunk, tagged);
  out = rig.take(kP1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(tos_of(out[0]), 24 << 2);
  EXPECT_EQ(c.vms[2].seen[24].get(), 1u);
  EXPECT_EQ(c.vms[2].mismatched.get(), 0u);
}

// The guard is the QoS module's stage after the flow lookup (AttachPoint::kFlow), one per
// Forwarder with its own counters; the module sums the datapath threads' stages for show
// qos and /metrics, never a trace's (trace's counts were never the switch's).
TEST(Qos, TheModuleSumsItsStagesCountersButNotTraces) {
  ForwarderRig rig(config_with(kGuard));
  qos::QosModule* qm = nullptr;
  for (auto& m : rig.modules())
    if (m->name() == "qos") qm = dynamic_cast<qos::QosModule*>(m.get());
  ASSERT_TRUE(qm);
  ASSERT_EQ(rig.forwarder().stages().at(pipeline::AttachPoint::kFlow).size(), 1u);  // the guard
  rig.send(kP1, udp_from_vm1(0x01));
  rig.send(kP1, udp_from_vm1(46 << 2));
  ASSERT_EQ(rig.take(kP2).size(), 2u);
  const auto traced = rig.trace(kP1, udp_from_vm1(0));
  ASSERT_EQ(traced.outputs.size(), 1u);
  EXPECT_EQ(traced.counts.qos.at(64), 1u);  // the trace's own stage counted vm1's mismatch
  for (int twice = 0; twice < 2; ++twice) {  // (the second: after another stage was made)
    const qos::GuardSums s = qm->sums();
    ASSERT_EQ(s.vms.size(), 4u);  // vm1, vm2, vm9, not a VM
    EXPECT_EQ(s.vms[0].seen[0], 1u);
    EXPECT_EQ(s.vms[0].seen[46], 1u);
    EXPECT_EQ(s.vms[0].mismatched, 1u);
    EXPECT_EQ(s.vms[0].rewritten, 1u);
    if (twice == 0) EXPECT_EQ(rig.qos_counters().vms[0].mismatched.get(), 1u);  // the rig's forwarder's stage
    // A new stage (made, as for a trace, while the old one is kept: a Forwarder that is
    // not a trace's keeps its counts in the sums).
    rig.attach_mirrors(nullptr, nullptr);
  }
  // Traces that never reach the guard (an ARP is answered or flooded before the flow
  // lookup) leave no counters behind: each trace's Forwarder makes a stage, and the next
  // stage made forgets those whose Forwarder is gone and that never counted.
  const size_t kept = qm->counter_sets();
  const Bytes who_has = arp({MacAddr::broadcast(), kVm1}, 1, kVm1, ip4("10.0.1.11"), MacAddr{}, ip4("10.0.1.12"));
  for (int i = 0; i < 8; ++i) rig.trace(kP1, who_has);
  EXPECT_LE(qm->counter_sets(), kept + 1) << "traces' counters pile up";
  // Without a qos section: no stage.
  ForwarderRig plain(TwoVms{}.yaml());
  EXPECT_TRUE(plain.forwarder().stages().at(pipeline::AttachPoint::kFlow).empty());
}

// The way out is the module's: its stage at the egress point takes each output packet's
// class by DSCP (once per port per burst), counted per class in counters the module sums
// over the datapath threads' stages only; a trace's class steps still follow the output
// they belong to (a flood: output, class, output, class); without classes, no stage.
TEST(Qos, ClassAtTheEgressPointCountedByTheModule) {
  const std::string classes = kGuard + R"(  classes:
    - {name: voice, dscp: [EF], priority: 0}
    - {name: bulk, dscp: [AF21, CS1], weight: 1}
)";
  ForwarderRig rig(config_with(classes));
  qos::QosModule* qm = nullptr;
  for (auto& m : rig.modules())
    if (m->name() == "qos") qm = dynamic_cast<qos::QosModule*>(m.get());
  ASSERT_TRUE(qm);
  const auto& ci = qm->tables().classes();
  auto class_index = [&](const std::string& name) {
    for (size_t k = 0; k < ci.size(); ++k)
      if (ci[k].name == name) return k;
    return ci.size();
  };
  const size_t voice = class_index("voice"), bulk = class_index("bulk");
  ASSERT_LT(voice, ci.size());
  ASSERT_LT(bulk, ci.size());
  ASSERT_NE(rig.forwarder().stages().find<qos::EgressClassStage>(), nullptr);

  // The rig's Forwarder is no datapath thread's: what it sends is not in the sums.
  rig.send(kP1, udp_from_vm1(46 << 2));
  ASSERT_EQ(rig.take(kP2).size(), 1u);
  for (uint64_t n : qm->egress_sums().class_packets) EXPECT_EQ(n, 0u);
  EXPECT_TRUE(qm->egress_sums().ports.empty());  // no qos.egress (and the rig has no ports)

  // A datapath thread's stage: counted, and summed by the module.
  pipeline::StageSet thread0(0);
  qm->make_stages(thread0);
  auto* st = thread0.find<qos::EgressClassStage>();
  ASSERT_NE(st, nullptr);
  rte_mbuf* pkts[3] = {rig.mbuf(udp_from_vm1(46 << 2)), rig.mbuf(udp_from_vm1(18 << 2)), rig.mbuf(udp_from_vm1(8 << 2))};
  const pipeline::TxMeta meta[3] = {{kP1, 0}, {kP1, 0}, {kP1, 0}};
  st->run_egress(rig.forwarder(), pipeline::TxView{kP2, pkts, meta, 3});
  for (rte_mbuf* m : pkts) rte_pktmbuf_free(m);
  const qos::EgressSums sums = qm->egress_sums();
  ASSERT_EQ(sums.class_packets.size(), ci.size());
  EXPECT_EQ(sums.class_packets[voice], 1u);
  EXPECT_EQ(sums.class_packets[bulk], 2u);

  // A flooded frame's trace: each output's class right after it.
  const Bytes who_has = arp({MacAddr::broadcast(), kVm1}, 1, kVm1, ip4("10.0.1.11"), MacAddr{}, ip4("10.0.1.99"));
  const auto traced = rig.trace(kP1, who_has);
  const auto& steps = traced.packet.steps;
  size_t outputs = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].stage != "output" || steps[i].event != "port") continue;
    ++outputs;
    ASSERT_LT(i + 1, steps.size());
    EXPECT_EQ(steps[i + 1].stage, "qos");
    EXPECT_EQ(steps[i + 1].event, "class");
  }
  EXPECT_GE(outputs, 2u) << "the ARP request is flooded";

  // Without classes: no stage at the egress point.
  ForwarderRig guard_only(config_with(kGuard));
  EXPECT_EQ(guard_only.forwarder().stages().find<qos::EgressClassStage>(), nullptr);
}

// The flow entry's module slot is opaque to the core, which zeroes it: zero must read as
// "nothing decided, no mismatch seen", and what the guard stores must read back whole.
TEST(Qos, ZeroedFlowSlotReadsNothingAndSamplesRoundTrip) {
  flow::FlowEntry e;
  EXPECT_EQ(qos::flow_decision(e, 0), qos::Decision{});
  EXPECT_EQ(qos::flow_mismatch(e, 1).observed, kNoDscp);
  EXPECT_EQ(qos::flow_mismatch(e, 1).last_s, 0u);
  const qos::Decision d{46, config::QosMode::kEnforce, 3, 1, 7};
  qos::set_flow_decision(e, 1, d);
  EXPECT_EQ(qos::flow_decision(e, 1), d);
  EXPECT_EQ(qos::flow_decision(e, 0), qos::Decision{});
  EXPECT_NE(d.pack(), policy::kNoQos);
  qos::note_flow_mismatch(e, 0, 0, 0xfffffff0u);  // DSCP 0 (not "none"), a late clock
  qos::note_flow_mismatch(e, 0, 63, 0xfffffff1u);
  EXPECT_EQ(qos::flow_mismatch(e, 0).observed, 63);
  EXPECT_EQ(qos::flow_mismatch(e, 0).last_s, 0xfffffff1u);
  EXPECT_EQ(qos::flow_mismatches(e, 0), 2u);
  EXPECT_EQ(qos::flow_mismatch(e, 1).observed, kNoDscp);
}

// A new flow the full flow table has no entry for is finished by the datapath (and by
// trace) without one; the slow path's decision still carries its DSCP decision, so the
// QoS guard checks and rewrites it like any other (it skipped them before).
TEST(Qos, FlowRefusedByAFullTableIsStillGuarded) {
  ForwarderRig rig(config_with(kGuard + "flows: {table_size: 1024}\n"));
  for (uint16_t i = 0; rig.flows().size() < rig.flows().capacity(); ++i) {  // vm2 -> vm1 flows fill it
    rig.send(kP2, ipv4({kVm1, kVm2}, ip4("10.0.1.12"), ip4("10.0.1.11"), packet::kProtoUdp, udp(static_cast<uint16_t>(10000 + i), 9),
                       64, 18 << 2));
    rig.take(kP1);
    ASSERT_LT(i, 5000) << "table does not fill";
  }
  const uint64_t refused = rig.slow_path().stats().table_full.get();
  const auto& c = rig.qos_counters();
  // What trace says first (it changes nothing): the guard runs on the table-full path.
  const auto traced = rig.trace(kP1, udp_from_vm1(0x01));
  EXPECT_TRUE(std::ranges::any_of(traced.packet.steps, [](const auto& st) { return st.stage == "policy" && st.event == "table_full"; }));
  EXPECT_TRUE(std::ranges::any_of(traced.packet.steps, [](const auto& st) { return st.stage == "qos" && st.event == "dscp"; }));
  ASSERT_EQ(traced.outputs.size(), 1u);
  EXPECT_EQ(tos_of(traced.outputs[0].second), (46 << 2) | 1);
  // The datapath: no entry, rewritten to EF with ECN kept, counted for vm1.
  for (int n = 1; n <= 2; ++n) {  // each packet goes up and comes back without an entry
    rig.send(kP1, udp_from_vm1(0x01));
    auto out = rig.take(kP2);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(tos_of(out[0]), (46 << 2) | 1);
    EXPECT_TRUE(ipv4_checksum_ok(out[0]));
    EXPECT_EQ(rig.slow_path().stats().table_full.get(), refused + static_cast<uint64_t>(n));
    EXPECT_EQ(c.vms[0].seen[0].get(), static_cast<uint64_t>(n));
    EXPECT_EQ(c.vms[0].mismatched.get(), static_cast<uint64_t>(n));
    EXPECT_EQ(c.vms[0].rewritten.get(), static_cast<uint64_t>(n));
  }
  EXPECT_EQ(rig.flows().size(), rig.flows().capacity());
}

TEST(Qos, TaggedFrameIsRewrittenBehindItsTag) {
  ForwarderRig rig(config_with(R"(
qos:
  assign:
    - {name: all-cs2, network: web, dscp: CS2}
)"));
  const Bytes tagged = ipv4({kVm1, mac("02:00:00:00:01:09"), 10}, ip4("10.0.1.19"), ip4("10.0.1.11"), packet::kProtoUdp,
                            udp(7, 7), 64, 0x03);
  rig.send(kTrunk, tagged);
  auto out = rig.take(kP1);  // access port: untagged on the way out
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(tos_of(out[0]), (16 << 2) | 3);
  EXPECT_TRUE(ipv4_checksum_ok(out[0]));
  rig.send(kP1, ipv4({mac("02:00:00:00:01:09"), kVm1}, ip4("10.0.1.11"), ip4("10.0.1.19"), packet::kProtoUdp, udp(7, 7), 64, 0));
  out = rig.take(kTrunk);  // to the trunk: tagged, rewritten behind the tag
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0][12], 0x81);
  EXPECT_EQ(tos_of(out[0], 18), 16 << 2);
  EXPECT_TRUE(ipv4_checksum_ok(out[0], 18));
}

TEST(Qos, Ipv6TrafficClassIsRewritten) {
  ForwarderRig rig(config_with(R"(
qos:
  assign:
    - {name: v6, dscp: AF41}
)"));
  std::array<uint8_t, 16> a{0xfd}, b{0xfd};
  a[15] = 1;
  b[15] = 2;
  Bytes f = ipv6({kVm2, kVm1}, a, b, packet::kProtoUdp, udp(1, 2));
  f[14] = 0x60;
  f[15] = 0x1a;  // traffic class 0x01 (ECN 01), flow label 0xa....
  rig.send(kP1, f);
  auto out = rig.take(kP2);
  ASSERT_EQ(out.size(), 1u);
  packet::ParsedPacket pp;
  ASSERT_EQ(packet::parse(out[0].data(), static_cast<uint32_t>(out[0].size()), pp), std::nullopt);
  EXPECT_EQ(pp.dscp, 34);
  EXPECT_EQ(((out[0][14] & 0x0f) << 4 | out[0][15] >> 4) & 3, 1);  // ECN kept
  EXPECT_EQ(out[0][15] & 0x0f, 0x0a);                                // flow label kept
}

TEST(Qos, MeterHoldsASenderToItsRate) {
  // 8 kbit/s committed, 16 kbit/s peak, bursts of 1000 bytes: of 40 frames of 60 bytes at
  // one instant, the first ~16 are green, up to ~16 more yellow (remarked CS1), the rest red.
  ForwarderRig rig(config_with(R"(
qos:
  assign:
    - {name: capped, from: vm1, dscp: AF11, meter: slow}
  meters:
    - {name: slow, cir_kbit: 8, pir_kbit: 16, cbs_bytes: 1000, pbs_bytes: 2000, yellow: {remark: CS1}, red: drop}
)"));
  rig.send(kP1, udp_from_vm1(0));  // installs the flow (one packet, green)
  rig.take(kP2);
  const uint64_t t = rte_rdtsc();
  rig.burst(kP1, udp_from_vm1(0), 40, t);
  auto out = rig.take(kP2);
  const auto& m = rig.qos_counters().meters[0];
  const uint64_t green = m.colour[RTE_COLOR_GREEN].get(), yellow = m.colour[RTE_COLOR_YELLOW].get(), red = m.colour[RTE_COLOR_RED].get();
  EXPECT_EQ(green + yellow + red, 41u);
  EXPECT_GE(green, 10u);
  EXPECT_GE(yellow, 10u);
  EXPECT_GE(red, 5u);
  EXPECT_EQ(out.size() + 1, green + yellow);  // the first packet was taken before the burst
  EXPECT_EQ(rig.drops(kP1, DropReason::kQosMeterDrop), red);
  EXPECT_EQ(m.remarked.get(), yellow);
  size_t cs1 = 0, af11 = 0;
  for (const auto& f : out) {
    cs1 += tos_of(f) >> 2 == 8;
    af11 += tos_of(f) >> 2 == 10;
    EXPECT_TRUE(ipv4_checksum_ok(f));
  }
  EXPECT_EQ(cs1, yellow);
  EXPECT_EQ(af11 + 1, green);  // the first packet was taken before the burst
}

TEST(Qos, ReloadChangesTheAssignedDscpOfEstablishedFlows) {
  ForwarderRig rig(config_with(kGuard));
  rig.send(kP1, udp_from_vm1(0));
  EXPECT_EQ(tos_of(rig.take(kP2).at(0)) >> 2, 46);
  rig.reload(config_with(R"(
qos:
  assign:
    - {name: voice, from: vm1, dscp: AF31}
)"), 2);
  rig.send(kP1, udp_from_vm1(0));
  EXPECT_EQ(tos_of(rig.take(kP2).at(0)) >> 2, 26);
  EXPECT_EQ(rig.flows().size(), 1u);  // the same flow, not decided again
}

TEST(Qos, SchedulerSendsTheStrictClassFirstAndDropsPerClass) {
  auto cfg = config::load_string(config_with(R"(
qos:
  classes:
    - {name: voice, dscp: [EF], priority: 0}
    - {name: bulk, dscp: [CS1], weight: 1}
  egress:
    - {port: p2, rate_kbit: 10000000, queue_packets: 16}
)"), "q.yaml");
  ASSERT_TRUE(cfg) << cfg.error().front();
  auto tables = qos::QosTables::create(*cfg);
  ASSERT_TRUE(tables);
  ASSERT_EQ((*tables)->classes().size(), 3u);  // voice, bulk, implicit default
  auto sched = qos::Scheduler::create("p2", cfg->qos.egress[0], **tables, static_cast<int>(rte_socket_id()));
  ASSERT_TRUE(sched) << sched.error();
  // The "device": an ethdev over a ring of 8 packets, full after the first 7.
  rte_ring* dev_ring = rte_ring_create("qos_dev", 8, static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
  ASSERT_NE(dev_ring, nullptr);
  const int port_id = rte_eth_from_ring(dev_ring);
  ASSERT_GE(port_id, 0);
  rte_mempool* pool = rte_pktmbuf_pool_create("qos_pool", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  ASSERT_NE(pool, nullptr);
  const uint16_t pid = static_cast<uint16_t>(port_id);
  rte_eth_conf conf{};
  ASSERT_EQ(rte_eth_dev_configure(pid, 1, 1, &conf), 0);
  ASSERT_EQ(rte_eth_rx_queue_setup(pid, 0, 8, static_cast<unsigned>(rte_socket_id()), nullptr, pool), 0);
  ASSERT_EQ(rte_eth_tx_queue_setup(pid, 0, 8, static_cast<unsigned>(rte_socket_id()), nullptr), 0);
  ASSERT_EQ(rte_eth_dev_start(pid), 0);
  auto make = [&](uint8_t dscp) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    const Bytes f = udp_from_vm1(static_cast<uint8_t>(dscp << 2));
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
    (*sched)->classify(m, (*tables)->class_of(dscp));
    return m;
  };
  // 7 bulk packets fill the device ring; then one batch of 24 bulk and 4 voice: the bulk
  // queue takes 16 (8 tail-dropped), and the voice packets leave first.
  rte_mbuf* first[7];
  for (auto& m : first) m = make(8);
  const dpdk::PortIo io{pid};
  auto r = (*sched)->send(io, 0, first, 7);
  EXPECT_EQ(r.sent, 7u);
  rte_mbuf* batch[28];
  for (int i = 0; i < 28; ++i) batch[i] = make(i < 24 ? 8 : 46);
  r = (*sched)->send(io, 0, batch, 28);
  EXPECT_EQ(r.dropped, 8u);
  EXPECT_EQ(r.sent, 0u);
  // Empty the device ring, let the scheduler refill it, and read the order.
  std::vector<uint8_t> order;
  for (int round = 0; round < 10; ++round) {
    void* objs[8];
    const unsigned n = rte_ring_dequeue_burst(dev_ring, objs, 8, nullptr);
    for (unsigned i = 0; i < n; ++i) {
      auto* m = static_cast<rte_mbuf*>(objs[i]);
      order.push_back(rte_pktmbuf_mtod(m, const uint8_t*)[15] >> 2);
      rte_pktmbuf_free(m);
    }
    (*sched)->drain(io, 0);
  }
  const std::vector<uint8_t> expected = [] {
    std::vector<uint8_t> v(7, 8);
    v.insert(v.end(), 4, 46);
    v.insert(v.end(), 16, 8);
    return v;
  }();
  EXPECT_EQ(order, expected);
  const auto st = (*sched)->stats();
  EXPECT_EQ(st[0].packets, 4u);
  EXPECT_EQ(st[0].dropped, 0u);
  EXPECT_EQ(st[1].packets, 7u + 16u);
  EXPECT_EQ(st[1].dropped, 8u);
  EXPECT_EQ((*sched)->backlog(), 0u);
  sched->reset();
  rte_eth_dev_stop(static_cast<uint16_t>(port_id));
  rte_eth_dev_close(static_cast<uint16_t>(port_id));
  rte_ring_free(dev_ring);
  rte_mempool_free(pool);
}
