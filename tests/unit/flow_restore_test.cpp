// Flow restore across a restart (flow/flow_snapshot.*, policy/flow_restore.cpp): the
// established flows saved by one switch come back in the next with the verdict its policy
// gives them, never one it denies; a file that is corrupt, truncated or of another format
// is refused whole; a flow whose port is gone stays out.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "flow/flow_snapshot.hpp"
#include "qos/flow_state.hpp"
#include "support/forwarder_rig.hpp"
#include "support/web_db.hpp"

using namespace ivs;
using namespace ivs::test;
using namespace ivs::test::web_db;

namespace {

const std::string kAllowPg = routed(R"(policy:
  default: drop
  rules:
    - {name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: allow}
)");
const std::string kDenyAll = routed(R"(policy:
  default: drop
)");

Bytes to_db(uint16_t sport) {
  return ipv4({kGwWeb, kVm1}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoTcp, tcp(sport, 5432, 0x02));
}

// The names a switch restores by, checked against its forwarding tables (zones, membership).
policy::FlowNames names_of(const ForwarderRig& rig) {
  const policy::FlowNames n = policy::flow_names_of(rig.config());
  const auto& t = rig.tables();
  EXPECT_EQ(n.networks.size(), t.network_count());
  EXPECT_EQ(n.ports.size(), t.port_count());
  for (size_t w = 0; w < n.networks.size() && w < t.network_count(); ++w) {
    EXPECT_EQ(n.networks[w], t.network(static_cast<int16_t>(w)).name);
    EXPECT_EQ(n.zones[w], t.network(static_cast<int16_t>(w)).zone) << n.networks[w];
    for (size_t p = 0; p < n.ports.size() && p < t.port_count(); ++p)
      EXPECT_EQ(n.port_carries(p, w), t.membership(static_cast<uint16_t>(p), static_cast<int16_t>(w)) != forward::Membership::kNone);
  }
  return n;
}

// One switch with two allowed flows and one denied (vm1 -> vm3:5432 from two ports, and
// vm3 -> vm1:22), stopped: what it saves.
flow::FlowSnapshot saved_by_first_switch() {
  ForwarderRig rig(kAllowPg);
  rig.send(0, to_db(40000));
  rig.send(0, to_db(40001));
  rig.send(1, ipv4({kGwDb, kVm3}, ip4("10.0.2.13"), ip4("10.0.1.11"), packet::kProtoTcp, tcp(41000, 22, 0x02)));
  EXPECT_EQ(rig.flows().size(), 3u);
  return rig.slow_path().save_flows(names_of(rig));
}

size_t count_state(flow::FlowTable& t, flow::FlowState s) {
  size_t n = 0;
  t.for_each([&](const flow::FlowEntry& e) { n += e.state.load() == s; });
  return n;
}

}  // namespace

TEST(FlowRestore, RoundTripThroughTheFileRestoresEveryFlowWithItsVerdict) {
  const flow::FlowSnapshot saved = saved_by_first_switch();
  ASSERT_EQ(saved.flows.size(), 3u);
  char path[] = "/tmp/ivs-flows-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  ASSERT_TRUE(flow::write_flow_snapshot(path, saved).has_value());
  auto read = flow::read_flow_snapshot(path, 1024);
  std::remove(path);
  ASSERT_TRUE(read.has_value()) << read.error().message;
  EXPECT_EQ(read->flows.size(), 3u);
  EXPECT_EQ(flow::serialize_flow_snapshot(*read), flow::serialize_flow_snapshot(saved));

  ForwarderRig next(kAllowPg);
  EXPECT_EQ(next.slow_path().restore_flows(*read, names_of(next)), 3u);
  EXPECT_EQ(next.slow_path().stats().restored.get(), 3u);
  EXPECT_EQ(next.slow_path().stats().restore_refused.get(), 0u);
  EXPECT_EQ(count_state(next.flows(), flow::FlowState::kAllowed), 2u);
  EXPECT_EQ(count_state(next.flows(), flow::FlowState::kDenied), 1u);
  // Restored means served from the table: the flow's next packet is no upcall.
  const uint64_t upcalls = next.slow_path().stats().upcalls.get();
  next.send(0, to_db(40000));
  EXPECT_EQ(next.slow_path().stats().upcalls.get(), upcalls);
  const auto missing = flow::read_flow_snapshot("/nonexistent/ivs.flows", 1024);
  ASSERT_FALSE(missing.has_value());
  EXPECT_TRUE(missing.error().missing);
}

TEST(FlowRestore, AFlowThePolicyNowDeniesIsNotRestored) {
  const flow::FlowSnapshot saved = saved_by_first_switch();
  ForwarderRig next(kDenyAll);
  // The denied flow is still denied under the new policy: it may come back; the two the
  // old policy allowed must not.
  EXPECT_EQ(next.slow_path().restore_flows(saved, names_of(next)), 1u);
  EXPECT_EQ(next.slow_path().stats().restore_refused.get(), 2u);
  EXPECT_EQ(count_state(next.flows(), flow::FlowState::kAllowed), 0u);
  // And the flow's next packet is decided by the policy thread: dropped.
  const uint64_t upcalls = next.slow_path().stats().upcalls.get();
  next.send(0, to_db(40000));
  EXPECT_EQ(next.slow_path().stats().upcalls.get(), upcalls + 1);
  EXPECT_EQ(count_state(next.flows(), flow::FlowState::kAllowed), 0u);
}

TEST(FlowRestore, AFlowWhosePortIsGoneIsNotRestored) {
  const flow::FlowSnapshot saved = saved_by_first_switch();
  // The same switch with vm1's port renamed: p1 no longer exists.
  std::string yaml = kAllowPg;
  for (size_t at; (at = yaml.find("p1")) != std::string::npos;) yaml.replace(at, 2, "q1");
  ForwarderRig next(yaml);
  // The two flows vm1 started came in by p1; the one vm3 started came in by p3.
  EXPECT_EQ(next.slow_path().restore_flows(saved, names_of(next)), 1u);
  EXPECT_EQ(next.slow_path().stats().restore_refused.get(), 2u);
}

TEST(FlowRestore, ACorruptTruncatedOrOtherVersionFileIsRefusedWhole) {
  const std::vector<uint8_t> good = flow::serialize_flow_snapshot(saved_by_first_switch());
  ASSERT_TRUE(flow::parse_flow_snapshot(good, 1024).has_value());
  for (size_t len = 0; len < good.size(); ++len)  // every truncation
    EXPECT_FALSE(flow::parse_flow_snapshot(std::span(good.data(), len), 1024).has_value()) << len;
  for (size_t at = 0; at < good.size(); ++at) {  // every single-byte corruption
    std::vector<uint8_t> bad = good;
    bad[at] ^= 0x40;
    EXPECT_FALSE(flow::parse_flow_snapshot(bad, 1024).has_value()) << at;
  }
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_FALSE(flow::parse_flow_snapshot(longer, 1024).has_value());
  std::vector<uint8_t> v2 = good;
  v2[8] = 2;
  const auto refused = flow::parse_flow_snapshot(v2, 1024);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().find("format version 2"), std::string::npos) << refused.error();
  // More flows than the table holds: refused, not cut.
  EXPECT_FALSE(flow::parse_flow_snapshot(good, 2).has_value());
}

namespace {
// Two networks without a subnet (each its own zone: its position + 1), one port each;
// the policy allows TCP 80 in network a only.
std::string two_switched(bool swapped) {
  const std::string a = "  - {name: a, vlan: 10}\n", b = "  - {name: b, vlan: 20}\n";
  return "ports:\n  - {name: pa, type: discard, network: a}\n  - {name: pb, type: discard, network: b}\n"
         "networks:\n" + (swapped ? b + a : a + b) +
         "policy:\n  default: drop\n  rules:\n    - {name: web, network: a, protocol: tcp, ports: [80], action: allow}\n";
}
const MacAddr kHostA = mac("02:00:00:00:0a:01"), kHostB = mac("02:00:00:00:0a:02");
Bytes web_syn() { return ipv4({kHostB, kHostA}, ip4("192.168.0.1"), ip4("192.168.0.2"), packet::kProtoTcp, tcp(40000, 80, 0x02)); }
}  // namespace

TEST(FlowRestore, AFlowIsRestoredInTheZoneItsNetworkHasNowNotTheOneItWasSavedWith) {
  flow::FlowSnapshot saved;
  {
    ForwarderRig first(two_switched(false));
    first.send(0, web_syn());  // network a, zone 1: allowed
    ASSERT_EQ(count_state(first.flows(), flow::FlowState::kAllowed), 1u);
    saved = first.slow_path().save_flows(names_of(first));
  }
  ASSERT_EQ(saved.flows.size(), 1u);
  EXPECT_EQ(saved.flows[0].key.zone, 1u);
  // The networks swapped: b is zone 1 now, a zone 2.
  ForwarderRig next(two_switched(true));
  EXPECT_EQ(next.slow_path().restore_flows(saved, names_of(next)), 1u);
  next.flows().for_each([&](const flow::FlowEntry& e) { EXPECT_EQ(e.key.zone, 2u); });
  // The same 5-tuple in network b (port pb) is no restored flow of a: it is decided (denied).
  const uint64_t upcalls = next.slow_path().stats().upcalls.get();
  next.send(1, web_syn());
  EXPECT_EQ(next.slow_path().stats().upcalls.get(), upcalls + 1);
  EXPECT_EQ(count_state(next.flows(), flow::FlowState::kAllowed), 1u);
  // In network a (port pa) it is the restored flow: no upcall.
  next.send(0, web_syn());
  EXPECT_EQ(next.slow_path().stats().upcalls.get(), upcalls + 1);
}

TEST(FlowRestore, AFlowWhosePortNoLongerCarriesItsNetworkIsNotRestored) {
  flow::FlowSnapshot saved;
  {
    ForwarderRig first(two_switched(false));
    first.send(0, web_syn());
    saved = first.slow_path().save_flows(names_of(first));
  }
  // pa now in network b: the flow of network a that came in by pa stays out.
  std::string yaml = two_switched(false);
  yaml.replace(yaml.find("network: a}"), 11, "network: b}");
  ForwarderRig next(yaml);
  EXPECT_EQ(next.slow_path().restore_flows(saved, names_of(next)), 0u);
  EXPECT_EQ(next.slow_path().stats().restore_refused.get(), 1u);
}

namespace {
// One network, VMs v1..v4 (port pN, 10.0.1.1N) or, `removed`, v1 and v4 only; QoS on.
std::string qos_vms(bool removed) {
  std::string y = "ports:\n", v = "vms:\n";
  for (int i = 1; i <= 4; ++i) {
    if (removed && (i == 2 || i == 3)) continue;
    const std::string n = std::to_string(i);
    y += "  - {name: p" + n + ", type: discard, network: web}\n";
    v += "  - {name: v" + n + ", port: p" + n + ", mac: \"02:00:00:00:01:0" + n + "\", ip: 10.0.1.1" + n + "}\n";
  }
  return y + "networks:\n  - {name: web, vlan: 10, subnet: 10.0.1.0/24}\n" + v +
         "qos:\n  assign:\n    - {name: voice, from: v4, dscp: EF}\npolicy:\n  default: allow\n";
}
}  // namespace

TEST(FlowRestore, ARestoredFlowsQosSenderVmIsLookedUpInTheNewConfigNotTakenFromTheFile) {
  flow::FlowSnapshot saved;
  {
    ForwarderRig first(qos_vms(false));
    first.send(3, ipv4({mac("02:00:00:00:01:01"), mac("02:00:00:00:01:04")}, ip4("10.0.1.14"), ip4("10.0.1.11"),
                       packet::kProtoUdp, udp(4000, 5000), 64, 46 << 2));
    ASSERT_EQ(first.flows().size(), 1u);
    first.flows().for_each([&](const flow::FlowEntry& e) { EXPECT_EQ(qos::flow_decision(e, e.initiator).vm, 3); });
    saved = first.slow_path().save_flows(names_of(first));
  }
  // v2 and v3 removed: v4 is VM 1 now, and there is no VM 3.
  ForwarderRig next(qos_vms(true));
  EXPECT_EQ(next.slow_path().restore_flows(saved, names_of(next)), 1u);
  next.flows().for_each([&](const flow::FlowEntry& e) {
    EXPECT_EQ(qos::flow_decision(e, e.initiator).vm, 1);
    EXPECT_EQ(qos::flow_decision(e, 1 - e.initiator).vm, 0);
    EXPECT_EQ(qos::flow_decision(e, e.initiator).dscp, 46);
  });
  // A file's slot words are never used: a hostile VM index stays out too.
  for (auto& f : saved.flows) f.slot_word[0] = f.slot_word[1] = ~uint64_t{0};
  ForwarderRig again(qos_vms(true));
  EXPECT_EQ(again.slow_path().restore_flows(saved, names_of(again)), 1u);
  again.flows().for_each([&](const flow::FlowEntry& e) { EXPECT_EQ(qos::flow_decision(e, e.initiator).vm, 1); });
}

namespace {
// The bytes with their checksum made right again: the field checks behind it are reached.
std::vector<uint8_t> resigned(std::vector<uint8_t> b) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i + 8 < b.size(); ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  for (size_t i = 0; i < 8; ++i) b[b.size() - 8 + i] = static_cast<uint8_t>(h >> (8 * i));
  return b;
}
void put_u32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
std::string refusal(const flow::FlowSnapshot& s) {
  const auto r = flow::parse_flow_snapshot(flow::serialize_flow_snapshot(s), 1024);
  return r ? "" : r.error();
}
}  // namespace

TEST(FlowRestore, EachFieldIsCheckedBehindAGoodChecksum) {
  const flow::FlowSnapshot good = saved_by_first_switch();
  ASSERT_EQ(refusal(good), "");
  const std::vector<uint8_t> bytes = flow::serialize_flow_snapshot(good);
  ASSERT_TRUE(flow::parse_flow_snapshot(resigned(bytes), 1024).has_value());
  // The name count: n_ports (after magic, version, flags, digest, epoch) far past the file.
  std::vector<uint8_t> b = bytes;
  put_u32(b, 28, 60000);
  EXPECT_FALSE(flow::parse_flow_snapshot(resigned(b), 1024).has_value());
  // The flow count, one more than the flows there.
  b = bytes;
  const size_t count_at = b.size() - 8 - good.flows.size() * flow::kSavedFlowBytes - 4;
  put_u32(b, count_at, static_cast<uint32_t>(good.flows.size() + 1));
  const auto more = flow::parse_flow_snapshot(resigned(b), 1024);
  ASSERT_FALSE(more.has_value());
  EXPECT_NE(more.error().find("flows announced"), std::string::npos) << more.error();

  const auto each = [&](const char* what, auto&& spoil, const char* why) {
    flow::FlowSnapshot s = good;
    spoil(s.flows[0]);
    EXPECT_NE(refusal(s).find(why), std::string::npos) << what << ": " << refusal(s);
  };
  each("network out of range", [&](flow::SavedFlow& f) { f.network = static_cast<uint16_t>(good.networks.size()); }, "does not name");
  each("port out of range", [&](flow::SavedFlow& f) { f.first_port = static_cast<uint16_t>(good.ports.size()); }, "does not name");
  each("initiator 2", [](flow::SavedFlow& f) { f.initiator = 2; }, "initiator");
  each("state 9", [](flow::SavedFlow& f) { f.state = 9; }, "state");
  each("family 5", [](flow::SavedFlow& f) { f.key.family = 5; }, "family");
  each("padding", [](flow::SavedFlow& f) { f.key.pad[3] = 1; }, "padding");
  each("IPv4 tail", [](flow::SavedFlow& f) { f.key.addr[1][9] = 1; }, "past its addresses");
  each("source port", [](flow::SavedFlow& f) { ++f.first_sport; }, "first ports");
  each("destination port", [](flow::SavedFlow& f) { ++f.first_dport; }, "first ports");
  each("ports swapped", [](flow::SavedFlow& f) { std::swap(f.first_sport, f.first_dport); }, "first ports");
}

TEST(FlowRestore, OnlyAPlainFileOfOursIsRead) {
  const flow::FlowSnapshot saved = saved_by_first_switch();
  char dir[] = "/tmp/ivs-flowdir-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/sw.flows", other = std::string(dir) + "/other";
  ASSERT_TRUE(flow::write_flow_snapshot(path, saved).has_value());
  EXPECT_TRUE(flow::read_flow_snapshot(path, 1024).has_value());
  // Group-writable: refused.
  ASSERT_EQ(chmod(path.c_str(), 0620), 0);
  EXPECT_FALSE(flow::read_flow_snapshot(path, 1024).has_value());
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  // A second link: refused.
  ASSERT_EQ(link(path.c_str(), other.c_str()), 0);
  EXPECT_FALSE(flow::read_flow_snapshot(path, 1024).has_value());
  std::remove(other.c_str());
  // A symlink: refused; a FIFO: refused without hanging.
  ASSERT_EQ(symlink(path.c_str(), other.c_str()), 0);
  EXPECT_FALSE(flow::read_flow_snapshot(other, 1024).has_value());
  std::remove(other.c_str());
  ASSERT_EQ(mkfifo(other.c_str(), 0600), 0);
  EXPECT_FALSE(flow::read_flow_snapshot(other, 1024).has_value());
  std::remove(other.c_str());
  // A symlink at the temporary name is replaced, not written through.
  ASSERT_EQ(symlink(other.c_str(), (path + ".tmp").c_str()), 0);
  ASSERT_TRUE(flow::write_flow_snapshot(path, saved).has_value());
  EXPECT_NE(access(other.c_str(), F_OK), 0);
  EXPECT_TRUE(flow::read_flow_snapshot(path, 1024).has_value());
  std::remove(path.c_str());
  rmdir(dir);
}
