// Flow records from the real flow table and policy thread (flowexport/entry_recorder.cpp
// called by policy::SlowPath): per-direction deltas that add up to the entry's counters;
// the last record of an expired flow is built when its entry is reclaimed, so a packet a
// datapath thread counted after the removal is in it; what a record says of the flow.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "flowexport/entry_recorder.hpp"
#include "support/forwarder_rig.hpp"
#include "support/web_db.hpp"

using namespace ivs;
using namespace ivs::test;
using namespace ivs::test::web_db;

namespace {

const std::string kConfig = routed(R"(flows: {tcp_handshake_seconds: 1}
flow_export: {collectors: ["127.0.0.1:9"]}
policy:
  default: drop
  rules:
    - {name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: allow}
)");

Bytes to_db(uint8_t flags, size_t payload = 0) {
  Bytes l4 = tcp(40000, 5432, flags);
  l4.resize(l4.size() + payload);
  return ipv4({kGwWeb, kVm1}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoTcp, l4);
}
Bytes from_db(uint8_t flags) {
  return ipv4({kGwDb, kVm3}, ip4("10.0.2.13"), ip4("10.0.1.11"), packet::kProtoTcp, tcp(5432, 40000, flags));
}

struct Fixture {
  explicit Fixture(const std::string& yaml = kConfig)
      : cfg(*config::load_string(yaml, "rig.yaml")), rig(yaml), exporter(cfg.flow_export), recorder(cfg, exporter) {
    EXPECT_TRUE(exporter.open().has_value());  // a collector: records are wanted (the thread is not started)
    rig.slow_path().set_recorder(&recorder);
  }
  flow::FlowEntry* entry() {
    flow::FlowEntry* e = nullptr;
    rig.flows().for_each([&](flow::FlowEntry& x) { e = &x; });
    return e;
  }
  config::Config cfg;
  ForwarderRig rig;
  flowexport::Exporter exporter;
  flowexport::EntryRecorder recorder;
};

TEST(FlowRecords, DeltasAddUpAndTheLastRecordHasWhatCameAfterTheRemoval) {
  Fixture f;
  f.rig.send(0, to_db(0x02));
  f.rig.send(1, from_db(0x12));
  f.rig.send(0, to_db(0x10, 100));
  flow::FlowEntry* e = f.entry();
  ASSERT_NE(e, nullptr);
  // An active-timeout record, as the aging pass makes it.
  f.rig.slow_path().with_flows([&](flow::FlowTable& t, const policy::Classifier& pol) {
    f.recorder.record(*e, t.reported(*e), 2, false, pol, f.rig.now_s());
  });
  auto active = f.exporter.take_queued();
  ASSERT_EQ(active.size(), 2u);  // both directions moved
  EXPECT_EQ(active[0].initiator, 1);
  EXPECT_EQ(active[0].packets, 2u);
  EXPECT_EQ(active[1].packets, 1u);
  EXPECT_EQ(active[0].end_reason, flowexport::EndReason::kActiveTimeout);
  EXPECT_EQ(active[0].rule_name, "pg");
  EXPECT_EQ(active[0].rule_id, 0u);
  EXPECT_EQ(active[0].in_if, 1u);   // p1
  EXPECT_EQ(active[0].out_if, 2u);  // p3, vm3's port
  EXPECT_EQ(active[0].vlan, 10);
  EXPECT_EQ(active[1].in_if, 2u);
  EXPECT_EQ(active[1].vlan, 20);
  EXPECT_EQ(active[0].src_port, 40000);
  EXPECT_EQ(active[0].dst_port, 5432);
  // Nothing new: no record at the next active timeout.
  f.rig.slow_path().with_flows([&](flow::FlowTable& t, const policy::Classifier& pol) { f.recorder.record(*e, t.reported(*e), 2, false, pol, f.rig.now_s()); });
  EXPECT_TRUE(f.exporter.take_queued().empty());
  f.rig.send(0, to_db(0x10, 200));
  // The flow is removed (the policy thread, its mutex held); a datapath thread that found
  // the entry before still counts a packet into it; the grace period ends at the next round.
  f.rig.slow_path().with_flows([&](flow::FlowTable& t, const policy::Classifier&) {
    t.remove(e, static_cast<uint8_t>(flowexport::EndReason::kIdleTimeout));
    flow::FlowTable::touch(*e, e->initiator, 60, 0x10, f.rig.now_s());
  });
  EXPECT_TRUE(f.exporter.take_queued().empty()) << "no record before the entry is reclaimed";
  f.rig.slow_path().run_once();
  auto last = f.exporter.take_queued();
  ASSERT_EQ(last.size(), 1u);  // only the initiator's direction moved since
  EXPECT_EQ(last[0].packets, 2u) << "the packet after the removal is in the last record";
  EXPECT_EQ(last[0].end_reason, flowexport::EndReason::kIdleTimeout);
  uint64_t packets = 0, bytes = 0;
  for (const auto& r : active) packets += r.packets, bytes += r.octets;
  for (const auto& r : last) packets += r.packets, bytes += r.octets;
  EXPECT_EQ(packets, 5u);
  EXPECT_EQ(bytes, e->bytes[0].get() + e->bytes[1].get());
}

TEST(FlowRecords, AnIdleFlowGivesItsRecordsWhenItExpires) {
  Fixture f;
  f.rig.send(0, to_db(0x02));
  ASSERT_EQ(f.rig.flows().size(), 1u);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  std::vector<flowexport::FlowRecord> got;
  while (got.empty() && std::chrono::steady_clock::now() < deadline) {
    f.rig.slow_path().run_once();
    got = f.exporter.take_queued();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(f.rig.flows().size(), 0u);
  EXPECT_EQ(got[0].packets, 1u);
  // Within its 1 s handshake timeout the 60 s active timeout never came: the record is
  // the idle expiry's.
  EXPECT_EQ(got[0].end_reason, flowexport::EndReason::kIdleTimeout);
  EXPECT_LE(got[0].start_ms, got[0].end_ms);
}

TEST(FlowRecords, ADeniedFlowSaysSo) {
  Fixture f;
  f.rig.send(1, from_db(0x02));  // vm3 -> vm1: no rule, default drop
  flow::FlowEntry* e = f.entry();
  ASSERT_NE(e, nullptr);
  f.rig.slow_path().with_flows([&](flow::FlowTable&, const policy::Classifier& pol) {
    const auto r = f.recorder.describe(*e, e->initiator, pol);
    EXPECT_EQ(r.state, static_cast<uint8_t>(flow::FlowState::kDenied));
    EXPECT_EQ(r.action, static_cast<uint8_t>(config::PolicyAction::kDrop));
    EXPECT_EQ(r.rule_name, "(default)");
    EXPECT_EQ(r.rule_id, 0xffffffffu);
    EXPECT_EQ(r.in_if, 2u);
    EXPECT_EQ(r.mirrors, "");
  });
}

// A flow kept by persist keeps its older policy's rule index under the new epoch: its
// record names no rule of the new policy (before: the new rule 0's name and action).
TEST(FlowRecords, APersistedFlowIsNotGivenTheNewPolicysRule) {
  std::string persist = kConfig;
  persist.replace(persist.find("action: allow}"), 14, "action: allow, on_change: persist}");
  Fixture f(persist);
  f.rig.send(0, to_db(0x02));
  f.rig.reload(kConfig.substr(0, kConfig.find("    - {name: pg")) + "    - {name: ssh, to: vm3, protocol: tcp, ports: [5432], action: reject}\n", 2);
  flow::FlowEntry* e = f.entry();
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->persisted);
  f.rig.slow_path().with_flows([&](flow::FlowTable&, const policy::Classifier& pol) {
    const auto r = f.recorder.describe(*e, e->initiator, pol);
    EXPECT_EQ(r.rule_name, "#0") << "epoch 1's rule pg, not epoch 2's ssh";
    EXPECT_EQ(r.action, static_cast<uint8_t>(config::PolicyAction::kAllow)) << "the flow's own verdict, not ssh's reject";
    EXPECT_EQ(r.state, static_cast<uint8_t>(flow::FlowState::kAllowed));
  });
}

}  // namespace

namespace {
// Inspect-then-shortcut (as in chain_test.cpp): the device is a router between web and db.
const std::string kChainConfig = web_db::yaml({.device = true}) + R"(chains:
  - {name: fw, out_port: fwa, return_port: fwb}
flow_export: {collectors: ["127.0.0.1:9"]}
policy:
  default: allow
  rules:
    - {name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: {inspect: fw}}
)";
}  // namespace

TEST(FlowRecords, AShortcutFlowReportsItsChainStateAndPacketsPerDirection) {
  config::Config cfg = *config::load_string(kChainConfig, "rig.yaml");
  ForwarderRig rig(kChainConfig);
  flowexport::Exporter exporter(cfg.flow_export);
  ASSERT_TRUE(exporter.open().has_value());
  flowexport::EntryRecorder recorder(cfg, exporter);
  rig.slow_path().set_recorder(&recorder);
  auto tcp4 = [](MacAddr dst, MacAddr src, const char* s, const char* d, uint16_t sp, uint16_t dp, uint8_t flags, uint8_t ttl) {
    return ipv4({dst, src}, ip4(s), ip4(d), packet::kProtoTcp, tcp(sp, dp, flags), ttl);
  };
  rig.send(0, tcp4(kR1, kVm1, "10.0.1.11", "10.0.2.13", 40000, 5432, 0x02, 64));  // SYN to the device
  rig.send(3, tcp4(kVm3, kR2, "10.0.1.11", "10.0.2.13", 40000, 5432, 0x02, 63));  // back from it: verified
  rig.send(1, tcp4(kR2, kVm3, "10.0.2.13", "10.0.1.11", 5432, 40000, 0x12, 64));  // shortcut
  rig.send(0, tcp4(kR1, kVm1, "10.0.1.11", "10.0.2.13", 40000, 5432, 0x10, 64));  // shortcut
  flow::FlowEntry* e = nullptr;
  rig.flows().for_each([&](flow::FlowEntry& x) { e = &x; });
  ASSERT_NE(e, nullptr);
  rig.slow_path().with_flows([&](flow::FlowTable& t, const policy::Classifier& pol) {
    recorder.record(*e, t.reported(*e), 4, true, pol, rig.now_s());
  });
  const auto recs = exporter.take_queued();
  ASSERT_EQ(recs.size(), 2u);
  for (const auto& r : recs) {
    EXPECT_EQ(r.state, static_cast<uint8_t>(flow::FlowState::kVerified));
    EXPECT_EQ(r.action, static_cast<uint8_t>(config::PolicyAction::kInspect));
    EXPECT_EQ(r.rule_name, "pg");
    EXPECT_EQ(r.end_reason, flowexport::EndReason::kForcedEnd);
  }
  const auto& fwd = recs[0].initiator ? recs[0] : recs[1];
  const auto& rev = recs[0].initiator ? recs[1] : recs[0];
  EXPECT_EQ(fwd.to_device, 1u);  // the SYN
  EXPECT_EQ(fwd.shortcut, 1u);
  EXPECT_EQ(rev.to_device, 0u);
  EXPECT_EQ(rev.shortcut, 1u);
  EXPECT_EQ(fwd.in_if, 1u);      // p1
  EXPECT_EQ(rev.in_if, 2u);      // p3
}
