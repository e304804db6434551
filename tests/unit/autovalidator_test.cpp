// The autovalidator (policy/autovalidator.hpp) through the real forwarder and policy
// thread: cache hits of every kind are checked and agree (replies, persist across a
// reload, chain flows pending and verified, QoS decisions); a cache that serves a verdict
// decide() would not give is caught, counted and does not pass quietly.
#include <gtest/gtest.h>

#include "packet/parse.hpp"
#include "qos/flow_state.hpp"
#include "support/forwarder_rig.hpp"
#include "support/web_db.hpp"

using namespace ivs;
using namespace ivs::test;
using namespace ivs::test::web_db;

namespace {

enum : uint16_t { kP1, kP2, kP3, kFwa, kFwb };

std::string topology(const std::string& rules, bool validator = true) {
  return web_db::yaml({.vm2 = true, .device = true}) + R"(chains:
  - {name: fw, out_port: fwa, return_port: fwb}
qos:
  assign:
    - {name: voice, from: vm1, dscp: EF}
flows: {autovalidator: )" + (validator ? "true" : "false") + R"(}
policy:
  default: allow
  rules:
)" + rules;
}
const std::string kRules =
    "    - {name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: {inspect: fw}}\n"
    "    - {name: web, to: vm2, protocol: udp, ports: [80], action: allow, on_change: persist}\n"
    "    - {name: dns, protocol: udp, ports: [53], action: drop}\n";

Bytes udp12(uint16_t sport, uint16_t dport, uint8_t tos = 0) {
  return ipv4({kVm2, kVm1}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoUdp, udp(sport, dport), 64, tos);
}
Bytes udp21(uint16_t sport, uint16_t dport) {
  return ipv4({kVm1, kVm2}, ip4("10.0.1.12"), ip4("10.0.1.11"), packet::kProtoUdp, udp(sport, dport));
}

void drain(ForwarderRig& rig) {
  for (uint16_t p = 0; p < 5; ++p) rig.take(p);
}

flow::FlowEntry* flow_to(ForwarderRig& rig, uint16_t dport) {
  flow::FlowEntry* found = nullptr;
  rig.flows().for_each([&](flow::FlowEntry& e) {
    if (e.first_dport == dport) found = &e;
  });
  return found;
}

}  // namespace

TEST(Autovalidator, EveryKindOfCacheHitAgrees) {
  ForwarderRig rig(topology(kRules));
  rig.add_mac(0, kVm1, kP1, true);
  rig.add_mac(0, kVm2, kP2, true);
  rig.add_mac(1, kVm3, kP3, true);
  rig.add_mac(0, kR1, kFwa);
  rig.add_mac(1, kR2, kFwb);
  rig.slow_path().run_once();
  // Allowed (with a QoS decision), its reply, denied, persist; each packet sent 3 times:
  // the first is an upcall, the next two cache hits.
  for (int i = 0; i < 3; ++i) {
    rig.send(kP1, udp12(4000, 9000, 0));
    rig.send(kP2, udp21(9000, 4000));
    rig.send(kP1, udp12(4001, 53));
    rig.send(kP1, udp12(4002, 80));
  }
  // A chain flow: pending (to the device), the device passes it back (verified), shortcut.
  const Bytes syn = ipv4({kR1, kVm1}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoTcp, tcp(40000, 5432, 0x02));
  const Bytes back = ipv4({kVm3, kR2}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoTcp, tcp(40000, 5432, 0x02), 63);
  rig.send(kP1, syn);
  rig.send(kFwb, back);
  rig.send(kP1, syn);
  drain(rig);
  // A reload that turns port 80 into a drop: the persist flow keeps its verdict, and
  // its hits are judged as the cache judges them (not as a new flow would be).
  rig.reload(topology(kRules + "    - {name: no80, protocol: udp, ports: [80], action: drop}\n"), 2);
  rig.send(kP1, udp12(4002, 80));
  ASSERT_EQ(rig.take(kP2).size(), 1u) << "persist keeps the flow allowed";
  rig.send(kP1, udp12(4000, 9000, 0));
  drain(rig);
  const auto& st = rig.autovalidator()->stats();
  EXPECT_GE(st.checked.load(), 10u);
  EXPECT_EQ(st.sampled.load(), st.checked.load() + st.stale.load());
  EXPECT_EQ(st.ring_full.load(), 0u);
  EXPECT_EQ(st.mismatch.load(), 0u);
}

// A deliberately broken cache: the flow's entry is made to serve a verdict (or a DSCP
// decision, or a rule) that decide() does not give. Each is caught on the next hit.
TEST(Autovalidator, CatchesABrokenCache) {
  struct Break {
    const char* what;
    uint16_t dport;
    void (*apply)(flow::FlowEntry&);
  };
  const Break breaks[] = {
      {"allowed flow served as denied", 9000, [](flow::FlowEntry& e) { e.state.store(flow::FlowState::kDenied); }},
      {"denied flow served as allowed", 53, [](flow::FlowEntry& e) { e.state.store(flow::FlowState::kAllowed); }},
      {"another rule", 9000, [](flow::FlowEntry& e) { e.rule = 2; }},
      {"DSCP decision lost", 9000, [](flow::FlowEntry& e) { qos::set_flow_decision(e, 0, {}); qos::set_flow_decision(e, 1, {}); }},
  };
  for (const auto& b : breaks) {
    SCOPED_TRACE(b.what);
    ForwarderRig rig(topology(kRules));
    rig.add_mac(0, kVm1, kP1, true);
    rig.add_mac(0, kVm2, kP2, true);
    rig.send(kP1, udp12(4000, b.dport));
    rig.send(kP1, udp12(4000, b.dport));
    drain(rig);
    const auto& st = rig.autovalidator()->stats();
    ASSERT_EQ(st.mismatch.load(), 0u);
    ASSERT_EQ(st.checked.load(), 1u);
    flow::FlowEntry* e = flow_to(rig, b.dport);
    ASSERT_NE(e, nullptr);
    b.apply(*e);
    rig.send(kP1, udp12(4000, b.dport));
    drain(rig);
    EXPECT_EQ(st.checked.load(), 2u);
    EXPECT_EQ(st.mismatch.load(), 1u);
  }
}

// Off (the default): nothing is sampled; the forwarder has no ring to write to.
TEST(Autovalidator, OffByDefault) {
  ForwarderRig rig(topology(kRules, false));
  rig.add_mac(0, kVm2, kP2, true);
  rig.send(kP1, udp12(4000, 9000));
  rig.send(kP1, udp12(4000, 9000));
  EXPECT_EQ(rig.autovalidator(), nullptr);
  EXPECT_EQ(rig.slow_path().autovalidator(), nullptr);
}
