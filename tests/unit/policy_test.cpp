// Policy + flow cache through the real forwarder: the first packet of a flow goes to the
// policy thread (run synchronously here) and comes back with its verdict; later packets
// hit the flow table; the reverse direction shares the entry; reject answers in place;
// a reload revalidates flows (reevaluate vs persist; a persisted flow is kept again by the
// next reload); upcalls are rate limited.
#include <fmt/format.h>
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

std::string config_with(const std::string& rules) {
  return routed(R"(policy:
  default: drop
  rules:
)" + rules);
}
const std::string kRules = R"(    - {name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: allow}
    - {name: ssh, to: vm3, protocol: tcp, ports: [22], action: reject}
)";

Bytes tcp_to_db(uint16_t sport, uint16_t dport, uint8_t flags) {
  return ipv4({kGwWeb, kVm1}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoTcp, tcp(sport, dport, flags));
}
Bytes tcp_from_db(uint16_t sport, uint16_t dport, uint8_t flags) {
  return ipv4({kGwDb, kVm3}, ip4("10.0.2.13"), ip4("10.0.1.11"), packet::kProtoTcp, tcp(sport, dport, flags));
}

}  // namespace

TEST(FlowKey, BothDirectionsShareTheKey) {
  packet::ParsedPacket a, b;
  Bytes fa = tcp_to_db(40000, 5432, 0x02), fb = tcp_from_db(5432, 40000, 0x12);
  ASSERT_EQ(packet::parse(fa.data(), static_cast<uint32_t>(fa.size()), a), std::nullopt);
  ASSERT_EQ(packet::parse(fb.data(), static_cast<uint32_t>(fb.size()), b), std::nullopt);
  auto ka = flow::make_key(fa.data(), static_cast<uint32_t>(fa.size()), a);
  auto kb = flow::make_key(fb.data(), static_cast<uint32_t>(fb.size()), b);
  ASSERT_TRUE(ka && kb);
  EXPECT_EQ(ka->key, kb->key);
  EXPECT_NE(ka->direction, kb->direction);
  EXPECT_EQ(flow::to_string(ka->key), "tcp 10.0.1.11:40000 <-> 10.0.2.13:5432");
  // ping and its reply: one flow (keyed by the echo identifier)
  Bytes req = ipv4({kGwWeb, kVm1}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoIcmp, icmp_echo(8, 77));
  Bytes rep = ipv4({kGwDb, kVm3}, ip4("10.0.2.13"), ip4("10.0.1.11"), packet::kProtoIcmp, icmp_echo(0, 77));
  ASSERT_EQ(packet::parse(req.data(), static_cast<uint32_t>(req.size()), a), std::nullopt);
  ASSERT_EQ(packet::parse(rep.data(), static_cast<uint32_t>(rep.size()), b), std::nullopt);
  EXPECT_EQ(flow::make_key(req.data(), static_cast<uint32_t>(req.size()), a)->key,
            flow::make_key(rep.data(), static_cast<uint32_t>(rep.size()), b)->key);
}

TEST(Policy, AllowedFlowIsCachedAndTheReverseDirectionFollows) {
  ForwarderRig rig(config_with(kRules));
  rig.send(0, tcp_to_db(40000, 5432, 0x02));
  EXPECT_EQ(rig.take(1).size(), 1u);  // first packet: upcall, verdict allow, delivered
  EXPECT_EQ(rig.slow_path().stats().installed.get(), 1u);
  EXPECT_GT(rig.slow_path().stats().busy_cycles.get(), 0u);  // the slow path's load is counted
  EXPECT_EQ(rig.flows().size(), 1u);
  rig.send(1, tcp_from_db(5432, 40000, 0x12));  // reply: no rule of its own, same flow
  EXPECT_EQ(rig.take(0).size(), 1u);
  rig.send(0, tcp_to_db(40000, 5432, 0x10));
  EXPECT_EQ(rig.take(1).size(), 1u);
  EXPECT_EQ(rig.slow_path().stats().upcalls.get(), 1u) << "later packets must hit the flow table";
  EXPECT_EQ(rig.flows().size(), 1u);
}

TEST(Policy, DeniedAndRejectedFlows) {
  ForwarderRig rig(config_with(kRules));
  rig.send(0, tcp_to_db(40001, 80, 0x02));  // default: drop
  EXPECT_TRUE(rig.take(1).empty());
  EXPECT_EQ(rig.drops(0, DropReason::kPolicyDenied), 1u);
  rig.send(0, tcp_to_db(40001, 80, 0x02));  // cached verdict, no second upcall
  EXPECT_EQ(rig.drops(0, DropReason::kPolicyDenied), 2u);
  EXPECT_EQ(rig.slow_path().stats().upcalls.get(), 1u);

  rig.send(0, tcp_to_db(40002, 22, 0x02));  // reject: a RST goes back to vm1
  EXPECT_TRUE(rig.take(1).empty());
  auto back = rig.take(0);
  ASSERT_EQ(back.size(), 1u);
  packet::ParsedPacket pp;
  ASSERT_EQ(packet::parse(back[0].data(), static_cast<uint32_t>(back[0].size()), pp), std::nullopt);
  EXPECT_EQ(pp.src_ip, ip4("10.0.2.13"));
  EXPECT_EQ(pp.dst_ip, ip4("10.0.1.11"));
  EXPECT_EQ(pp.src_port, 22);
  EXPECT_EQ(pp.dst_port, 40002);
  EXPECT_EQ(pp.tcp_flags, 0x14);  // RST+ACK
  EXPECT_TRUE(packet::csum_ok(&back[0][14], 20));
  EXPECT_EQ(MacAddr::from(&back[0][0]), kVm1);
  EXPECT_EQ(rig.drops(0, DropReason::kPolicyRejected), 1u);

  rig.send(0, ipv4({kGwWeb, kVm1}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoUdp, udp(5000, 22)));
  EXPECT_TRUE(rig.take(1).empty());  // default drop for UDP
}

TEST(Policy, ReloadReevaluatesOrPersists) {
  const std::string persist_rules =
      "    - {name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: allow, on_change: persist}\n"
      "    - {name: web, from: vm1, to: vm3, protocol: tcp, ports: [80], action: allow}\n";
  ForwarderRig rig(config_with(persist_rules));
  rig.send(0, tcp_to_db(40000, 5432, 0x02));
  rig.send(0, tcp_to_db(40001, 80, 0x02));
  EXPECT_EQ(rig.take(1).size(), 2u);
  // New policy: neither rule exists any more (default drop).
  rig.reload(config_with("    - {name: other, protocol: udp, action: allow}\n"), 2);
  EXPECT_EQ(rig.slow_path().epoch(), 2u);
  EXPECT_EQ(rig.slow_path().stats().persisted.get(), 1u);
  EXPECT_EQ(rig.slow_path().stats().changed.get(), 1u);
  rig.send(0, tcp_to_db(40000, 5432, 0x10));  // persist: the established flow goes on
  EXPECT_EQ(rig.take(1).size(), 1u);
  rig.send(0, tcp_to_db(40001, 80, 0x10));  // reevaluate: cut
  EXPECT_TRUE(rig.take(1).empty());
  EXPECT_EQ(rig.drops(0, DropReason::kPolicyDenied), 1u);
  rig.send(0, tcp_to_db(40009, 5432, 0x02));  // a new flow to 5432 follows the new policy
  EXPECT_TRUE(rig.take(1).empty());
  EXPECT_GE(rig.slow_path().last_convergence_s(), 0.0);
}

// A flow kept by persist is kept again by the next reload: its rule (an older policy's
// index) said persist. Before, that index was looked up in the previous policy, where
// another rule without persist had it, and the flow was cut at the second reload. While it
// is kept, `persisted` says its rule index is an older policy's (the views then show a
// number, never the new rule with that index); when a policy gives it the same verdict
// again, it is an ordinary flow of that rule.
TEST(Policy, PersistedFlowIsKeptAgainByTheNextReload) {
  ForwarderRig rig(config_with("    - {name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: allow, on_change: persist}\n"));
  rig.send(0, tcp_to_db(40000, 5432, 0x02));
  ASSERT_EQ(rig.take(1).size(), 1u);
  struct Seen {
    int32_t rule = -2;
    uint32_t epoch = 0;
    bool persisted = false;
  };
  auto seen = [&] {
    Seen out;
    rig.slow_path().with_flows([&](const flow::FlowTable& t, const policy::Classifier&) {
      t.for_each([&](const flow::FlowEntry& e) { out = {e.rule, e.epoch, e.persisted}; });
    });
    return out;
  };
  for (uint32_t epoch : {2u, 3u}) {  // rule 0 is another rule each time, without persist
    SCOPED_TRACE(fmt::format("epoch {}", epoch));
    rig.reload(config_with(fmt::format("    - {{name: other{}, protocol: udp, action: allow}}\n", epoch)), epoch);
    rig.send(0, tcp_to_db(40000, 5432, 0x10));
    EXPECT_EQ(rig.take(1).size(), 1u) << "kept by persist";
    const Seen s = seen();
    EXPECT_TRUE(s.persisted);
    EXPECT_EQ(s.rule, 0) << "epoch 1's rule index";
    EXPECT_EQ(s.epoch, epoch);
  }
  EXPECT_EQ(rig.slow_path().stats().persisted.get(), 2u);
  // A policy that allows it again by a rule of its own: an ordinary flow of that rule.
  rig.reload(config_with("    - {name: x, protocol: udp, action: allow}\n"
                         "    - {name: pg4, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: allow}\n"), 4);
  EXPECT_FALSE(seen().persisted);
  EXPECT_EQ(seen().rule, 1);
  EXPECT_EQ(rig.slow_path().stats().persisted.get(), 2u);
}

TEST(Policy, DeniedFlowAllowedAfterReloadIsDecidedAfresh) {
  ForwarderRig rig(config_with(kRules));
  rig.send(0, tcp_to_db(40000, 8080, 0x02));
  EXPECT_TRUE(rig.take(1).empty());
  rig.reload(config_with(kRules + "    - {name: alt, from: vm1, to: vm3, protocol: tcp, ports: [8080], action: allow}\n"), 2);
  EXPECT_EQ(rig.slow_path().stats().removed_on_change.get(), 1u);
  rig.send(0, tcp_to_db(40000, 8080, 0x10));
  EXPECT_EQ(rig.take(1).size(), 1u);
}

TEST(Policy, IdleFlowsExpire) {
  ForwarderRig rig(config_with(kRules) + "flows: {udp_seconds: 1}\n");
  rig.send(0, ipv4({kGwWeb, kVm1}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoUdp, udp(5000, 53)));
  ASSERT_EQ(rig.flows().size(), 1u);
  // Idle > 1 s (whole seconds). Aging makes one pass a second over the table, in slices of
  // 64k entries: keep the policy thread's loop turning for up to 4 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  while (rig.flows().size() > 0 && std::chrono::steady_clock::now() < deadline) {
    rig.slow_path().run_once();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(rig.flows().size(), 0u);
  EXPECT_EQ(rig.slow_path().stats().expired.get(), 1u);
}

TEST(Policy, ActiveFlowsSurviveTheAgingPass) {
  // A flow the datapath has just used is not idle, whenever the policy thread's
  // once-a-second aging pass runs (the datapath and the aging pass share one clock).
  ForwarderRig rig(config_with(kRules));
  rig.send(0, tcp_to_db(41000, 5432, 0x02));
  ASSERT_EQ(rig.flows().size(), 1u);
  // The aging pass visits the table in slices of 64k entries, one per call: finish this
  // second's pass, so that the next call after the boundary starts a new one.
  for (int i = 0; i < 64; ++i) rig.slow_path().run_once();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a second boundary passes
  rig.send(0, tcp_to_db(41000, 5432, 0x02));                      // used again, then aged
  for (int i = 0; i < 64; ++i) rig.slow_path().run_once();  // a whole pass
  EXPECT_EQ(rig.flows().size(), 1u);
  EXPECT_EQ(rig.slow_path().stats().expired.get(), 0u);
}

TEST(Policy, UpcallsAreRateLimitedPerPort) {
  ForwarderRig rig(config_with(kRules), 1024, 1023, /*upcall_rate=*/5);
  for (uint16_t sport = 1000; sport < 1020; ++sport) rig.send(0, tcp_to_db(sport, 5432, 0x02));
  // The bucket holds one second's worth (5): the rest of this instant's new flows are dropped, counted.
  EXPECT_EQ(rig.take(1).size(), 5u);
  EXPECT_EQ(rig.drops(0, DropReason::kUpcallRateLimited), 15u);
  EXPECT_EQ(rig.slow_path().stats().upcalls.get(), 5u);
}

TEST(Policy, ExactMatchCacheServesLaterPacketsAndForgetsRemovedFlows) {
  ForwarderRig rig(config_with(kRules));
  rig.send(0, tcp_to_db(40000, 8080, 0x02));  // default drop; installed
  rig.send(0, tcp_to_db(40000, 8080, 0x10));  // flow table hit, fills the exact-match cache
  rig.send(0, tcp_to_db(40000, 8080, 0x10));  // exact-match cache hit
  EXPECT_EQ(rig.event(pipeline::Event::kFlowTableHits), 1u);
  EXPECT_EQ(rig.event(pipeline::Event::kEmcHits), 1u);
  EXPECT_EQ(rig.drops(0, DropReason::kPolicyDenied), 3u);
  // Allowed now: the denied entry is removed; the cached slot must not keep denying.
  rig.reload(config_with(kRules + "    - {name: alt, from: vm1, to: vm3, protocol: tcp, ports: [8080], action: allow}\n"), 2);
  rig.send(0, tcp_to_db(40000, 8080, 0x10));
  EXPECT_EQ(rig.take(1).size(), 1u);
  EXPECT_EQ(rig.event(pipeline::Event::kEmcHits), 1u);
}

namespace {
// An ICMP error (`type`, `code`) from vm3 to vm1 quoting the start of a TCP packet
// vm1 -> vm3 (sport -> dport), as a router or vm3's stack sends it.
Bytes icmp_error_to_vm1(uint8_t type, uint8_t code, uint16_t sport, uint16_t dport) {
  const Bytes quoted = ipv4({kGwWeb, kVm1}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoTcp, tcp(sport, dport, 0x02));
  Bytes body(8, 0);
  body[0] = type;
  body[1] = code;
  packet::store_be16(&body[6], 1400);  // next-hop MTU (fragmentation needed)
  body.insert(body.end(), quoted.begin() + 14, quoted.begin() + 14 + 28);  // IP header + 8 bytes of TCP
  packet::store_be16(&body[2], packet::csum(body.data(), static_cast<uint32_t>(body.size())));
  return ipv4({kGwDb, kVm3}, ip4("10.0.2.13"), ip4("10.0.1.11"), packet::kProtoIcmp, body);
}
}  // namespace

// Under default drop, path MTU discovery needs "fragmentation needed" to reach the sender
// of an allowed flow (conntrack's related); an error quoting a denied flow stays dropped,
// and one quoting no flow is an ICMP packet like any other.
TEST(Policy, IcmpErrorsTravelWithTheFlowTheyQuote) {
  ForwarderRig rig(config_with(kRules));
  rig.send(0, tcp_to_db(40000, 5432, 0x02));  // allowed by rule pg
  ASSERT_EQ(rig.take(1).size(), 1u);
  rig.send(1, icmp_error_to_vm1(3, 4, 40000, 5432));
  EXPECT_EQ(rig.take(0).size(), 1u);
  EXPECT_EQ(rig.event(pipeline::Event::kIcmpRelated), 1u);
  EXPECT_EQ(rig.slow_path().stats().upcalls.get(), 1u) << "a related error is decided by its flow, not the policy";

  rig.send(0, tcp_to_db(40001, 80, 0x02));  // denied by default
  rig.send(1, icmp_error_to_vm1(3, 3, 40001, 80));
  EXPECT_TRUE(rig.take(0).empty());
  EXPECT_EQ(rig.drops(1, DropReason::kRelatedDenied), 1u);

  // An error quoting the allowed flow but sent to someone other than the quoted packet's
  // sender is not related (it would let a VM reach any host past the policy).
  Bytes forged = icmp_error_to_vm1(3, 4, 40000, 5432);
  packet::store_be32(&forged[30], ip4("10.0.1.50"));
  packet::store_be16(&forged[24], 0);
  packet::store_be16(&forged[24], packet::csum(&forged[14], 20));
  rig.send(1, forged);
  EXPECT_TRUE(rig.take(0).empty());
  EXPECT_EQ(rig.event(pipeline::Event::kIcmpRelated), 1u);
  EXPECT_EQ(rig.drops(1, DropReason::kPolicyDenied), 1u);

  rig.send(1, icmp_error_to_vm1(11, 0, 40002, 5432));  // quotes no flow: the policy's default
  EXPECT_TRUE(rig.take(0).empty());
  EXPECT_EQ(rig.drops(1, DropReason::kPolicyDenied), 2u);
  EXPECT_EQ(rig.event(pipeline::Event::kIcmpRelated), 1u);
}

TEST(FlowKey, AnIcmpErrorIsKeyedByTheFlowItQuotes) {
  const Bytes err = icmp_error_to_vm1(3, 4, 40000, 5432);
  packet::ParsedPacket pp;
  ASSERT_EQ(packet::parse(err.data(), static_cast<uint32_t>(err.size()), pp), std::nullopt);
  flow::DirectedKey rk;
  ASSERT_TRUE(flow::make_related_key(err.data(), static_cast<uint32_t>(err.size()), pp, rk));
  const Bytes orig = tcp_to_db(40000, 5432, 0x02);
  packet::ParsedPacket po;
  ASSERT_EQ(packet::parse(orig.data(), static_cast<uint32_t>(orig.size()), po), std::nullopt);
  const auto ko = flow::make_key(orig.data(), static_cast<uint32_t>(orig.size()), po);
  EXPECT_EQ(rk.key, ko->key);
  EXPECT_NE(rk.direction, ko->direction);  // the error travels back to the sender
  // Cut inside the quoted header: no related key (and no read past the frame).
  // Only the first segment cut (the frame is whole, as in a chained mbuf): the outer
  // headers parse, the quoted ones are not all readable.
  for (size_t cut = 14 + 20 + 8; cut < 14 + 20 + 8 + 24; ++cut) {
    packet::ParsedPacket pc;
    ASSERT_EQ(packet::parse(err.data(), static_cast<uint32_t>(cut), static_cast<uint32_t>(err.size()), pc), std::nullopt) << cut;
    EXPECT_FALSE(flow::make_related_key(err.data(), static_cast<uint32_t>(cut), pc, rk)) << cut;
  }
  packet::ParsedPacket whole;
  ASSERT_EQ(packet::parse(err.data(), static_cast<uint32_t>(err.size()), whole), std::nullopt);
  EXPECT_TRUE(flow::make_related_key(err.data(), static_cast<uint32_t>(14 + 20 + 8 + 24), whole, rk));
  // An echo request is not an error.
  const Bytes echo = ipv4({kGwWeb, kVm1}, ip4("10.0.1.11"), ip4("10.0.2.13"), packet::kProtoIcmp, icmp_echo());
  ASSERT_EQ(packet::parse(echo.data(), static_cast<uint32_t>(echo.size()), pp), std::nullopt);
  EXPECT_FALSE(flow::make_related_key(echo.data(), static_cast<uint32_t>(echo.size()), pp, rk));
}

// The point after the flow lookup (AttachPoint::kFlow): a module's stage there is called
// once per burst with the packets that found their flow, each with its flow (entry, state,
// direction); the same for a re-injected packet and for trace (hit and miss); not for a
// packet going up to the policy thread, nor for an ICMP error that follows the flow it
// quotes. It can update the entry's module slot and drop a packet, which then gets no
// verdict.
namespace {
struct FlowSeen {
  bool entry;
  uint8_t state;
  uint8_t direction;
  bool simulating;
};
class FlowProbe final : public pipeline::Module {
 public:
  explicit FlowProbe(std::vector<std::vector<FlowSeen>>* calls) : calls_(calls) {}
  std::string_view name() const noexcept override { return "flow_probe"; }
  std::unique_ptr<pipeline::Stage> make_stage(pipeline::AttachPoint at) const override {
    struct Probe final : pipeline::Stage {
      explicit Probe(std::vector<std::vector<FlowSeen>>* c) : calls(c) {}
      void run(pipeline::Forwarder& f, pipeline::Burst& b) noexcept override {
        std::vector<FlowSeen> seen;  // (a test: allocates)
        for (uint16_t t = 0; t < b.n_flowed; ++t) {
          const uint16_t j = b.flowed[t];
          const pipeline::FlowMeta& m = b.flow[j];
          const uint8_t dir = b.keys[j].direction;
          seen.push_back({m.entry != nullptr, m.state, dir, f.simulating()});
          if (m.entry && !f.simulating()) m.entry->slot.count[dir].inc();  // the module's slot
          if (b.pp[j].src_port == 40099) {  // the probe drops this one
            f.drop(b.pkts[j].in_port, b.pkts[j].m, DropReason::kPolicyDenied);
            b.pkts[j].m = nullptr;
          }
        }
        calls->push_back(std::move(seen));
      }
      std::vector<std::vector<FlowSeen>>* calls;
    };
    return at == pipeline::AttachPoint::kFlow ? std::make_unique<Probe>(calls_) : nullptr;
  }

 private:
  std::vector<std::vector<FlowSeen>>* calls_;
};
}  // namespace

TEST(Policy, FlowStagesSeeEachLookedUpPacketOncePerBurst) {
  ForwarderRig rig(config_with(kRules));
  std::vector<std::vector<FlowSeen>> calls;
  rig.modules().push_back(std::make_unique<FlowProbe>(&calls));
  rig.attach_mirrors(nullptr, nullptr);  // a new Forwarder: it asks the modules for their stages
  const uint8_t allowed = static_cast<uint8_t>(flow::FlowState::kAllowed);
  // A new flow: nothing at the lookup (the packet goes up), then the re-injected packet.
  rig.send(0, tcp_to_db(40000, 5432, 0x02));
  ASSERT_EQ(rig.take(1).size(), 1u);
  ASSERT_EQ(calls.size(), 1u);
  ASSERT_EQ(calls[0].size(), 1u);
  EXPECT_TRUE(calls[0][0].entry) << "a re-injected packet carries its new entry";
  EXPECT_EQ(calls[0][0].state, allowed);
  // Cache hits, both directions, one call for the burst.
  calls.clear();
  rte_mbuf* ms[3] = {rig.mbuf(tcp_to_db(40000, 5432, 0x10)), rig.mbuf(tcp_from_db(5432, 40000, 0x10)),
                     rig.mbuf(tcp_to_db(40000, 5432, 0x10))};
  rig.forwarder().process(0, ms, 1, rig.now_s(), rte_rdtsc());
  rig.forwarder().process(1, ms + 1, 1, rig.now_s(), rte_rdtsc());
  rig.forwarder().process(0, ms + 2, 1, rig.now_s(), rte_rdtsc());
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[1][0].direction, 1 - calls[0][0].direction);
  EXPECT_EQ(rig.take(1).size(), 2u);
  EXPECT_EQ(rig.take(0).size(), 1u);
  calls.clear();
  rig.burst(0, tcp_to_db(40000, 5432, 0x10), 4, rte_rdtsc());
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].size(), 4u);
  EXPECT_EQ(rig.take(1).size(), 4u);
  // The stage updated the entry's module slot: 1 (re-injected) + 2 + 4 from vm1, 1 back.
  const flow::FlowKey key = [] {
    const Bytes f = tcp_to_db(40000, 5432, 0x10);
    packet::ParsedPacket pp;
    EXPECT_EQ(packet::parse(f.data(), static_cast<uint32_t>(f.size()), pp), std::nullopt);
    return flow::make_key(f.data(), static_cast<uint32_t>(f.size()), pp)->key;
  }();
  const flow::FlowKey* kp = &key;
  flow::FlowEntry* fe = nullptr;
  rig.flows().lookup_bulk(&kp, 1, &fe);
  ASSERT_TRUE(fe);
  EXPECT_EQ(fe->slot.count[0].get() + fe->slot.count[1].get(), 8u);
  // An ICMP error following the flow it quotes: forwarded, not seen by the stage.
  calls.clear();
  rig.send(1, icmp_error_to_vm1(3, 4, 40000, 5432));
  EXPECT_EQ(rig.take(0).size(), 1u);
  EXPECT_EQ(rig.event(pipeline::Event::kIcmpRelated), 1u);
  EXPECT_TRUE(calls.empty());
  // A denied flow's packets are seen with their state; a packet the stage drops gets no verdict.
  rig.send(0, tcp_to_db(40001, 80, 0x02));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0][0].state, static_cast<uint8_t>(flow::FlowState::kDenied));
  calls.clear();
  rig.send(0, tcp_to_db(40099, 5432, 0x02));  // allowed by pg, dropped by the probe
  EXPECT_TRUE(rig.take(1).empty());
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(rig.drops(0, DropReason::kPolicyDenied), 2u);  // the denied flow's and the probe's
  // Trace: a hit and a miss (on the entry trace would install) pass the same stage.
  calls.clear();
  auto hit = rig.trace(0, tcp_to_db(40000, 5432, 0x10));
  EXPECT_EQ(hit.outputs.size(), 1u);
  auto miss = rig.trace(0, tcp_to_db(40002, 5432, 0x02));
  EXPECT_EQ(miss.outputs.size(), 1u);
  ASSERT_EQ(calls.size(), 2u);
  for (const auto& c : calls) {
    ASSERT_EQ(c.size(), 1u);
    EXPECT_TRUE(c[0].entry);
    EXPECT_TRUE(c[0].simulating);
    EXPECT_EQ(c[0].state, allowed);
  }
  rig.modules().pop_back();
}
