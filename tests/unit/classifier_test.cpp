// The compiled classifier (DPDK rte_acl) must decide exactly like the reference linear
// evaluator: thousands of random rules and packets, seeded; a failure prints the seed
// and the packet so it can be replayed (IVS_SEED=... ./ivs_unit_tests).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "config/loader.hpp"
#include "policy/classifier.hpp"

using namespace ivs;

namespace {

struct RandomPolicy {
  std::string yaml;
  std::vector<std::pair<uint32_t, uint8_t>> prefixes;  // to aim packets at
};

RandomPolicy random_policy(std::mt19937& rng, int n_rules) {
  RandomPolicy rp;
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  auto prefix = [&]() {
    const uint8_t len = static_cast<uint8_t>(8 + pick(25));
    uint32_t a = (10u << 24) | (rng() & 0x0003ffff);  // 10.0.0.0/14: rules overlap often
    a &= len == 0 ? 0 : ~uint32_t{0} << (32 - len);
    rp.prefixes.emplace_back(a, len);
    return fmt::format("{}/{}", Ipv4Addr{a}.to_string(), len);
  };
  auto range = [&]() {
    const int lo = pick(3) == 0 ? pick(1024) : pick(65536);
    const int hi = std::min(65535, lo + (pick(2) ? 0 : pick(5000)));
    return lo == hi ? fmt::format("{}", lo) : fmt::format("\"{}-{}\"", lo, hi);
  };
  std::string y =
      "networks:\n  - {name: web, vlan: 10, subnet: 10.0.0.0/16, gateway: 10.0.0.1}\n"
      "  - {name: db, vlan: 20, subnet: 10.1.0.0/16, gateway: 10.1.0.1}\n"
      "policy:\n  default: " + std::string(pick(2) ? "allow" : "drop") + "\n  rules:\n";
  static const char* kActions[] = {"allow", "drop", "reject"};
  for (int i = 0; i < n_rules; ++i) {
    y += fmt::format("    - name: r{}\n      action: {}\n", i, kActions[pick(3)]);
    if (pick(3)) y += fmt::format("      from: [{}]\n", pick(4) ? prefix() : prefix() + ", " + prefix());
    if (pick(3)) y += fmt::format("      to: {}\n", prefix());
    const int proto = pick(5);
    if (proto == 1 || proto == 2) {
      y += fmt::format("      protocol: {}\n", proto == 1 ? "tcp" : "udp");
      if (pick(2)) y += fmt::format("      ports: [{}{}]\n", range(), pick(3) ? "" : ", " + range());
      if (pick(5) == 0) y += fmt::format("      src_ports: {}\n", range());
    } else if (proto == 3) {
      y += "      protocol: icmp\n";
      if (pick(2)) y += fmt::format("      icmp_type: {}\n", pick(2) ? 8 : pick(256));
    } else if (proto == 4) {
      y += "      protocol: 47\n";
    }
    if (pick(6) == 0) y += fmt::format("      network: {}\n", pick(2) ? "web" : "db");
  }
  rp.yaml = y;
  return rp;
}

policy::FlowTuple random_tuple(std::mt19937& rng, const RandomPolicy& rp) {
  auto pick = [&](unsigned n) { return rng() % n; };
  auto addr = [&]() -> uint32_t {
    if (!rp.prefixes.empty() && pick(4)) {  // mostly inside some rule's prefix, sometimes on its edge
      auto [a, len] = rp.prefixes[pick(static_cast<unsigned>(rp.prefixes.size()))];
      const uint32_t host = len == 32 ? 0 : (rng() & (~uint32_t{0} >> len));
      return a | (pick(5) == 0 ? 0 : host);
    }
    return (10u << 24) | (rng() & 0x0007ffff);
  };
  policy::FlowTuple t;
  static const uint8_t kProtos[] = {6, 17, 1, 47, 50};
  t.proto = kProtos[pick(5)];
  t.src_ip = addr();
  t.dst_ip = addr();
  t.src_port = static_cast<uint16_t>(pick(3) == 0 ? pick(1024) : pick(65536));
  t.dst_port = static_cast<uint16_t>(pick(3) == 0 ? pick(1024) : pick(65536));
  if (t.proto == 1) {
    t.src_port = static_cast<uint16_t>(pick(2) ? 8 : pick(256));
    t.dst_port = 0;
  }
  t.network = static_cast<int16_t>(pick(2));
  return t;
}

}  // namespace

TEST(Classifier, RteAclAgreesWithReference) {
  const char* env = std::getenv("IVS_SEED");
  const uint32_t seed0 = env ? static_cast<uint32_t>(std::strtoul(env, nullptr, 10)) : 20261121u;
  for (int round = 0; round < 6; ++round) {
    const uint32_t seed = seed0 + static_cast<uint32_t>(round);
    std::mt19937 rng(seed);
    const int n_rules = round < 5 ? 50 + round * 400 : 2000;
    auto rp = random_policy(rng, n_rules);
    auto cfg = config::load_string(rp.yaml, "random.yaml");
    ASSERT_TRUE(cfg) << "seed " << seed << ": " << cfg.error().front();
    auto cls = policy::Classifier::compile(*cfg, 1);
    ASSERT_TRUE(cls) << "seed " << seed << ": " << cls.error();
    for (int i = 0; i < 5000; ++i) {
      const auto t = random_tuple(rng, rp);
      const auto fast = (*cls)->classify(t), ref = (*cls)->classify_reference(t);
      ASSERT_EQ(fast, ref) << "seed " << seed << " packet " << i << ": proto " << int(t.proto) << " "
                           << Ipv4Addr{t.src_ip}.to_string() << ":" << t.src_port << " -> " << Ipv4Addr{t.dst_ip}.to_string()
                           << ":" << t.dst_port << " net " << t.network << ": rte_acl rule " << fast.rule
                           << ", reference rule " << ref.rule;
    }
  }
}

TEST(Classifier, GroupsLabelsAndVmsResolve) {
  auto cfg = config::load_string(R"(
ports: [{name: p1, type: discard, network: web}]
networks: [{name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}]
vms:
  - {name: a, port: p1, mac: "02:00:00:00:00:01", ip: 10.0.1.11, labels: [tier=web]}
  - {name: b, port: p1, mac: "02:00:00:00:00:02", ip: 10.0.1.12, labels: [tier=db]}
policy:
  default: drop
  groups:
    - {name: webs, labels: [tier=web]}
    - {name: dbs, vms: [b], cidrs: [192.168.0.0/16]}
  rules:
    - {name: web-to-db, from: webs, to: dbs, protocol: tcp, ports: [5432], action: allow}
    - {name: ssh, to: b, protocol: tcp, ports: [22], action: reject}
)", "t.yaml");
  ASSERT_TRUE(cfg) << cfg.error().front();
  auto cls = policy::Classifier::compile(*cfg, 7);
  ASSERT_TRUE(cls);
  policy::FlowTuple t{false, 6, Ipv4Addr::parse("10.0.1.11")->value,
                      Ipv4Addr::parse("10.0.1.12")->value, 40000, 5432, 0};
  EXPECT_EQ((*cls)->classify(t), (policy::Verdict{config::PolicyAction::kAllow, 0}));
  t.dst_ip = Ipv4Addr::parse("192.168.3.4")->value;
  EXPECT_EQ((*cls)->classify(t).rule, 0);
  t.dst_ip = Ipv4Addr::parse("10.0.1.12")->value;
  t.dst_port = 22;
  EXPECT_EQ((*cls)->classify(t), (policy::Verdict{config::PolicyAction::kReject, 1}));
  t.dst_port = 80;
  EXPECT_EQ((*cls)->classify(t), (policy::Verdict{config::PolicyAction::kDrop, -1}));
  t.src_ip = Ipv4Addr::parse("10.0.1.12")->value;  // b is not in webs
  t.dst_port = 5432;
  EXPECT_EQ((*cls)->classify(t).rule, -1);
  EXPECT_EQ((*cls)->epoch(), 7u);
  t.ipv6 = true;  // IPv4 endpoints never match IPv6 flows
  EXPECT_EQ((*cls)->classify(t).rule, -1);
}
