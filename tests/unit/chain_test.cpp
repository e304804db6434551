// Inspect-then-shortcut through the real forwarder and policy thread: a flow matched by an
// `inspect` rule goes, unmodified, to the chain's device; what the device passes back is
// delivered and verifies the flow; later packets (both directions) are routed by the
// switch with its own MACs; a device that never answers or is down gets the chain's
// fail-closed / fail-open behaviour; a reload that drops the rule ends the shortcut.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "flow/flow_key.hpp"
#include "packet/parse.hpp"
#include "support/forwarder_rig.hpp"
#include "support/web_db.hpp"

using namespace ivs;
using namespace ivs::test;
using namespace ivs::test::web_db;

namespace {

// The device is a router between web and db: leg fwa (10.0.1.1, MAC R1) in web, leg fwb
// (10.0.2.1, MAC R2) in db; the VMs use it as their gateway.
// (the switch's own gateway MACs, which it uses on the shortcut)
const MacAddr kSwWeb = kGwWeb, kSwDb = kGwDb;
enum : uint16_t { kP1, kP3, kFwa, kFwb };

std::string config_with(const std::string& chain, const std::string& rules) {
  return web_db::yaml({.device = true, .vm1_v6 = "\"fd00:1::11\"", .vm3_v6 = "\"fd00:2::13\""}) + R"(chains:
  - {name: fw, out_port: fwa, return_port: fwb)" + chain + R"(}
policy:
  default: allow
  rules:
)" + rules;
}
const std::string kInspect = "    - {name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: {inspect: fw}}\n";

// vm1 -> its gateway (the device) and vm3 -> its gateway; the device's routed copy.
Bytes from_vm1(uint8_t flags, uint8_t ttl = 64) {
  return ipv4({kR1, kVm1}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoTcp, tcp(40000, 5432, flags), ttl);
}
Bytes from_vm3(uint8_t flags) {
  return ipv4({kR2, kVm3}, ip4("10.0.2.13"), ip4("10.0.1.11"), packet::kProtoTcp, tcp(5432, 40000, flags));
}
Bytes device_to_vm3(uint8_t flags) {
  return ipv4({kVm3, kR2}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoTcp, tcp(40000, 5432, flags), 63);
}
Bytes device_to_vm1(uint8_t flags) {
  return ipv4({kVm1, kR1}, ip4("10.0.2.13"), ip4("10.0.1.11"), packet::kProtoTcp, tcp(5432, 40000, flags), 63);
}

const flow::FlowEntry* only_flow(ForwarderRig& rig) {
  const flow::FlowEntry* found = nullptr;
  rig.flows().for_each([&](const flow::FlowEntry& e) { found = &e; });
  if (!found || rig.flows().size() != 1) throw std::runtime_error("expected exactly one flow");
  return found;
}
flow::FlowState state_of(ForwarderRig& rig) { return only_flow(rig)->state.load(); }

void expect_frame(const Bytes& f, MacAddr dst, MacAddr src, uint8_t ttl) {
  ASSERT_GE(f.size(), 34u);
  EXPECT_EQ(MacAddr::from(f.data()), dst);
  EXPECT_EQ(MacAddr::from(f.data() + 6), src);
  EXPECT_EQ(f[22], ttl);
  packet::ParsedPacket pp;
  ASSERT_EQ(packet::parse(f.data(), static_cast<uint32_t>(f.size()), pp), std::nullopt);
  uint32_t sum = 0;  // the IPv4 header checksum must still verify
  for (int i = 14; i < 34; i += 2) sum += (f[static_cast<size_t>(i)] << 8) | f[static_cast<size_t>(i + 1)];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(sum, 0xffffu);
}

}  // namespace

TEST(Chain, FirstPacketThroughTheDeviceThenShortcutBothWays) {
  ForwarderRig rig(config_with("", kInspect));
  const Bytes syn = from_vm1(0x02);
  rig.send(kP1, syn);
  auto out = rig.take(kFwa);  // to the device, unmodified
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], syn);
  EXPECT_TRUE(rig.take(kP3).empty());
  EXPECT_EQ(state_of(rig), flow::FlowState::kPending);

  rig.send(kFwb, device_to_vm3(0x02));  // the device routed it: delivered, flow verified
  out = rig.take(kP3);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], device_to_vm3(0x02));
  EXPECT_EQ(state_of(rig), flow::FlowState::kVerified);
  EXPECT_EQ(rig.event(pipeline::Event::kChainVerified), 1u);

  rig.send(kP3, from_vm3(0x12));  // reply: shortcut to vm1 with the switch's web MAC
  EXPECT_TRUE(rig.take(kFwb).empty());
  out = rig.take(kP1);
  ASSERT_EQ(out.size(), 1u);
  expect_frame(out[0], kVm1, kSwWeb, 63);

  rig.send(kP1, from_vm1(0x10));  // and on: shortcut to vm3 with the switch's db MAC
  EXPECT_TRUE(rig.take(kFwa).empty());
  out = rig.take(kP3);
  ASSERT_EQ(out.size(), 1u);
  expect_frame(out[0], kVm3, kSwDb, 63);

  const flow::ChainPath& c = only_flow(rig)->chain;
  EXPECT_EQ(c.to_device[0].get() + c.to_device[1].get(), 1u);
  EXPECT_EQ(c.shortcut[0].get() + c.shortcut[1].get(), 2u);
  EXPECT_EQ(rig.event(pipeline::Event::kChainShortcut), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(15));
  rig.slow_path().run_once();  // the tracker counts the verified flow
  rig.slow_path().with_flows([&](const flow::FlowTable&, const policy::Classifier&) {
    rig.slow_path().with_chains_locked([&](const policy::ChainTracker& t) {
      EXPECT_EQ(t.stats().at("fw").pending.get(), 1u);
      EXPECT_EQ(t.stats().at("fw").verified.get(), 1u);
      EXPECT_EQ(t.pending_now(), 0u);
    });
  });
}

TEST(Chain, HandshakeModeKeepsTheDevicePathUntilTheThirdPacket) {
  ForwarderRig rig(config_with(", inspect_packets: handshake", kInspect));
  rig.send(kP1, from_vm1(0x02));
  ASSERT_EQ(rig.take(kFwa).size(), 1u);
  rig.send(kFwb, device_to_vm3(0x02));
  ASSERT_EQ(rig.take(kP3).size(), 1u);
  EXPECT_EQ(state_of(rig), flow::FlowState::kPending);
  rig.send(kP3, from_vm3(0x12));  // SYN+ACK: to the device on vm3's side (the return port)
  ASSERT_EQ(rig.take(kFwb).size(), 1u);
  rig.send(kFwa, device_to_vm1(0x12));
  ASSERT_EQ(rig.take(kP1).size(), 1u);
  EXPECT_EQ(state_of(rig), flow::FlowState::kPending);
  rig.send(kP1, from_vm1(0x10));  // ACK
  ASSERT_EQ(rig.take(kFwa).size(), 1u);
  rig.send(kFwb, device_to_vm3(0x10));
  ASSERT_EQ(rig.take(kP3).size(), 1u);
  EXPECT_EQ(state_of(rig), flow::FlowState::kVerified);
  rig.send(kP1, from_vm1(0x18));
  EXPECT_EQ(rig.take(kP3).size(), 1u);
  EXPECT_TRUE(rig.take(kFwa).empty());
}

TEST(Chain, DeviceThatNeverAnswersFailClosedOrOpen) {
  for (const bool open : {false, true}) {
    SCOPED_TRACE(open ? "fail-open" : "fail-closed");
    ForwarderRig rig(config_with(open ? ", verify_timeout_ms: 10, on_failure: open" : ", verify_timeout_ms: 10", kInspect));
    rig.send(kP1, from_vm1(0x02));
    ASSERT_EQ(rig.take(kFwa).size(), 1u);  // the device drops it: nothing comes back
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    rig.slow_path().run_once();
    EXPECT_EQ(state_of(rig), open ? flow::FlowState::kViaDevice : flow::FlowState::kDenied);
    rig.send(kP1, from_vm1(0x02));  // retransmission
    EXPECT_EQ(rig.take(kFwa).size(), open ? 1u : 0u);
    EXPECT_TRUE(rig.take(kP3).empty());
    EXPECT_EQ(rig.drops(kP1, DropReason::kPolicyDenied), open ? 0u : 1u);
  }
}

TEST(Chain, DeviceDownDeniesOrBypasses) {
  for (const bool open : {false, true}) {
    SCOPED_TRACE(open ? "fail-open" : "fail-closed");
    ForwarderRig rig(config_with(open ? ", on_failure: open" : "", kInspect));
    rig.port_down.insert(kFwb);
    rig.send(kP1, from_vm1(0x02));
    // fail-open: vm3 is a configured VM, so the switch routes the flow itself at once
    // (verified without the device); fail-closed: dropped.
    EXPECT_EQ(state_of(rig), open ? flow::FlowState::kVerified : flow::FlowState::kDenied);
    EXPECT_EQ(rig.drops(kP1, DropReason::kPolicyDenied), open ? 0u : 1u);
    auto out = rig.take(kP3);
    ASSERT_EQ(out.size(), open ? 1u : 0u);
    if (open) expect_frame(out[0], kVm3, kSwDb, 63);
    EXPECT_EQ(rig.event(pipeline::Event::kChainToDevice), 0u);
    rig.slow_path().with_flows([&](const flow::FlowTable&, const policy::Classifier&) {
      rig.slow_path().with_chains_locked([&](const policy::ChainTracker& t) {
        const auto& st = t.stats().at("fw");
        EXPECT_FALSE(st.healthy);
        EXPECT_EQ(st.bypassed.get(), open ? 1u : 0u);
        EXPECT_EQ(st.denied.get(), open ? 0u : 1u);
      });
    });
  }
}

TEST(Chain, ReloadWithoutTheInspectRuleEndsTheShortcut) {
  ForwarderRig rig(config_with("", kInspect));
  rig.send(kP1, from_vm1(0x02));
  rig.take(kFwa);
  rig.send(kFwb, device_to_vm3(0x02));
  rig.take(kP3);
  ASSERT_EQ(state_of(rig), flow::FlowState::kVerified);
  rig.reload(config_with("", "    - {name: pg-drop, to: vm3, protocol: tcp, ports: [5432], action: drop}\n"), 2);
  rig.send(kP1, from_vm1(0x10));
  EXPECT_TRUE(rig.take(kP3).empty());
  EXPECT_EQ(state_of(rig), flow::FlowState::kDenied);
}

TEST(Chain, ReloadThatAllowsTheFlowSendsItBackThroughTheDevice) {
  ForwarderRig rig(config_with("", kInspect));
  rig.add_mac(0, kR1, kFwa);  // the device's web leg, as learned
  rig.send(kP1, from_vm1(0x02));
  rig.take(kFwa);
  rig.send(kFwb, device_to_vm3(0x02));
  rig.take(kP3);
  ASSERT_EQ(state_of(rig), flow::FlowState::kVerified);
  rig.send(kP1, from_vm1(0x10));
  ASSERT_EQ(rig.take(kP3).size(), 1u);  // shortcut
  rig.reload(config_with("", "    - {name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: allow}\n"), 2);
  rig.send(kP1, from_vm1(0x10));  // decided afresh: allowed, switched to its gateway (the device)
  EXPECT_EQ(rig.take(kFwa).size(), 1u);
  EXPECT_TRUE(rig.take(kP3).empty());
  EXPECT_EQ(state_of(rig), flow::FlowState::kAllowed);
}

TEST(Chain, PacketsNotOnAChainAreUntouched) {
  ForwarderRig rig(config_with("", kInspect));
  // TCP 80 is not inspected (default allow): switched by MAC like any frame to the device.
  rig.add_mac(0, kR1, kFwa);
  rig.send(kP1, ipv4({kR1, kVm1}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoTcp, tcp(40001, 80, 0x02)));
  EXPECT_EQ(rig.take(kFwa).size(), 1u);
  EXPECT_EQ(state_of(rig), flow::FlowState::kAllowed);
  EXPECT_EQ(only_flow(rig)->chain.chain, -1);
}

TEST(Chain, AFlowStartingOnTheReturnSideUsesTheDeviceLegInItsNetwork) {
  ForwarderRig rig(config_with("", "    - {name: back, from: vm3, to: vm1, protocol: tcp, action: {inspect: fw}}\n"));
  rig.send(kP3, from_vm3(0x02));  // vm3 starts it: its packets reach the device on fwb (db)
  EXPECT_EQ(rig.take(kFwb).size(), 1u);
  EXPECT_TRUE(rig.take(kFwa).empty());
  rig.send(kFwa, device_to_vm1(0x02));  // the device routed it into web
  EXPECT_EQ(rig.take(kP1).size(), 1u);
  EXPECT_EQ(state_of(rig), flow::FlowState::kVerified);
  rig.send(kP1, from_vm1(0x12));
  auto out = rig.take(kP3);
  ASSERT_EQ(out.size(), 1u);
  expect_frame(out[0], kVm3, kSwDb, 63);
}

TEST(Chain, AFirstPacketFromTheDeviceIsDeliveredWithoutStartingTheFlow) {
  ForwarderRig rig(config_with("", kInspect));
  rig.send(kFwb, device_to_vm3(0x10));  // e.g. in flight across a reload
  EXPECT_EQ(rig.take(kP3).size(), 1u);
  EXPECT_EQ(rig.flows().size(), 0u);
  rig.send(kP1, from_vm1(0x02));  // the flow starts with the VM's packet, pending as usual
  EXPECT_EQ(rig.take(kFwa).size(), 1u);
  EXPECT_EQ(state_of(rig), flow::FlowState::kPending);
}

TEST(Chain, FailOpenDeviceGoingDownReleasesFlowsWaitingOnIt) {
  ForwarderRig rig(config_with(", verify_timeout_ms: 10, on_failure: open", kInspect));
  rig.send(kP1, from_vm1(0x02));
  rig.take(kFwa);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  rig.slow_path().run_once();
  ASSERT_EQ(state_of(rig), flow::FlowState::kViaDevice);
  rig.port_down.insert(kFwb);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the health check runs once a second
  rig.slow_path().run_once();
  rig.slow_path().run_once();  // the removed entry's grace period
  EXPECT_EQ(rig.flows().size(), 0u);
  rig.send(kP1, from_vm1(0x02));  // decided afresh: bypassed, routed by the switch
  EXPECT_EQ(state_of(rig), flow::FlowState::kVerified);
  EXPECT_EQ(rig.take(kP3).size(), 1u);
}

TEST(Chain, Ipv6FlowIsShortcutWithTheHopLimitDecremented) {
  // Rules without endpoints match IPv6 flows too.
  ForwarderRig rig(config_with("", "    - {name: v6, protocol: tcp, action: {inspect: fw}}\n"));
  const std::array<uint8_t, 16> a{0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11};
  const std::array<uint8_t, 16> z{0xfd, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x13};
  rig.send(kP1, ipv6({kR1, kVm1}, a, z, packet::kProtoTcp, tcp(40000, 443, 0x02)));
  ASSERT_EQ(rig.take(kFwa).size(), 1u);
  rig.send(kFwb, ipv6({kVm3, kR2}, a, z, packet::kProtoTcp, tcp(40000, 443, 0x02), 63));
  ASSERT_EQ(rig.take(kP3).size(), 1u);
  ASSERT_EQ(state_of(rig), flow::FlowState::kVerified);
  rig.send(kP3, ipv6({kR2, kVm3}, z, a, packet::kProtoTcp, tcp(443, 40000, 0x12)));
  auto out = rig.take(kP1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(MacAddr::from(out[0].data()), kVm1);
  EXPECT_EQ(MacAddr::from(out[0].data() + 6), kSwWeb);
  EXPECT_EQ(out[0][14 + 7], 63);  // hop limit
  EXPECT_TRUE(rig.take(kFwb).empty());
}

// Trace equals datapath for a new chain flow (issue 16): the trace's decision is the
// policy thread's own decide(), and the stages after it run on the entry it would
// install. Before, trace ran a copy of the slow path that sent a flow to the device when
// the device was down and the chain failed closed (the datapath denies it), and always
// used the chain's out port, also for flows that start on the return side.
TEST(Chain, TraceEqualsDatapathForNewFlows) {
  const std::string rules = kInspect + "    - {name: back, from: vm3, to: vm1, protocol: tcp, ports: [7000], action: {inspect: fw}}\n";
  const Bytes from_return_side = ipv4({kR2, kVm3}, ip4("10.0.2.13"), ip4("10.0.1.11"), packet::kProtoTcp, tcp(40001, 7000, 0x02));
  struct Case {
    const char* name;
    const char* chain;
    bool device_down;
    uint16_t port;
    Bytes frame;
    uint16_t expected_port;  // where the datapath sends it; UINT16_MAX: dropped
  };
  const Case cases[] = {
      {"device up, from the out side", "", false, kP1, from_vm1(0x02), kFwa},
      {"device up, from the return side", "", false, kP3, from_return_side, kFwb},
      {"device down, fail-closed", "", true, kP1, from_vm1(0x02), UINT16_MAX},
      {"device down, fail-open: bypassed, routed by the switch", ", on_failure: open", true, kP1, from_vm1(0x02), kP3},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ForwarderRig rig(config_with(c.chain, rules));
    if (c.device_down) rig.port_down.insert(kFwb);
    rig.slow_path().run_once();  // the policy thread has looked at the devices' health
    const auto traced = rig.trace(c.port, c.frame);
    EXPECT_EQ(rig.flows().size(), 0u) << "trace installs nothing";
    rig.send(c.port, c.frame);
    std::vector<std::pair<uint16_t, Bytes>> sent;
    for (uint16_t p : {kP1, kP3, kFwa, kFwb})
      for (auto& f : rig.take(p)) sent.emplace_back(p, std::move(f));
    EXPECT_EQ(traced.outputs, sent);
    if (c.expected_port == UINT16_MAX) {
      EXPECT_TRUE(sent.empty());
    } else {
      ASSERT_EQ(sent.size(), 1u);
      EXPECT_EQ(sent[0].first, c.expected_port);
    }
  }
}
