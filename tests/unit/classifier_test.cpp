// The compiled classifier (DPDK rte_acl) must decide exactly like the reference linear
// evaluator: thousands of random rules and packets, seeded; a failure prints the seed
// and the packet so it can be replayed (IVS_SEED=... ./ivs_unit_tests).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <random>

#include "config/loader.hpp"
#include "policy/classifier.hpp"

using namespace ivs;

namespace {

using Addr6 = std::array<uint8_t, 16>;

struct RandomPolicy {
  std::string yaml;
  std::vector<std::pair<uint32_t, uint8_t>> prefixes;  // to aim packets at
  std::vector<std::pair<Addr6, uint8_t>> prefixes6;    // IPv6 ones (VMs' addresses among them)
};

// The VMs every random policy has: IPv4 and IPv6 addresses (and their EUI-64 link-local
// ones) that rules name by VM or group.
constexpr int kVms = 4;

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
  // IPv6: 2001:db8::/32, the other bytes drawn from a few values so that prefixes overlap
  // often; lengths across every 32-bit word boundary of rte_acl's four address fields.
  auto addr6 = [&]() {
    Addr6 a{0x20, 0x01, 0x0d, 0xb8};
    static const uint8_t kBytes[] = {0x00, 0x01, 0x80, 0xff};
    for (int i = 4; i < 16; ++i) a[i] = pick(4) ? kBytes[pick(4)] : static_cast<uint8_t>(rng());
    return a;
  };
  auto prefix6 = [&]() {
    static const int kLens[] = {16, 31, 32, 33, 48, 63, 64, 65, 95, 96, 97, 120, 127, 128};
    const int len = pick(3) ? kLens[pick(14)] : 16 + pick(113);
    Addr6 a = addr6();
    for (int bit = len; bit < 128; ++bit) a[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
    rp.prefixes6.emplace_back(a, static_cast<uint8_t>(len));
    IpPrefix p;
    p.family = 6;
    p.len = static_cast<uint8_t>(len);
    p.bytes = a;
    return fmt::format("\"{}\"", p.to_string());
  };
  auto range = [&]() {
    const int lo = pick(3) == 0 ? pick(1024) : pick(65536);
    const int hi = std::min(65535, lo + (pick(2) ? 0 : pick(5000)));
    return lo == hi ? fmt::format("{}", lo) : fmt::format("\"{}-{}\"", lo, hi);
  };
  std::string y =
      "ports:\n  - {name: p1, type: discard, network: web}\n  - {name: p2, type: discard, network: db}\n"
      "networks:\n  - {name: web, vlan: 10, subnet: 10.0.0.0/16, gateway: 10.0.0.1}\n"
      "  - {name: db, vlan: 20, subnet: 10.1.0.0/16, gateway: 10.1.0.1}\n"
      "vms:\n";
  for (int v = 0; v < kVms; ++v) {
    const uint32_t ip = (10u << 24) | (static_cast<uint32_t>(v % 2) << 16) | static_cast<uint32_t>(11 + v);
    rp.prefixes.emplace_back(ip, 32);
    Addr6 a6 = addr6();
    rp.prefixes6.emplace_back(a6, 128);
    IpPrefix p;
    p.family = 6;
    p.len = 128;
    p.bytes = a6;
    const MacAddr mac{{0x02, 0, 0, 0, 0, static_cast<uint8_t>(v + 1)}};
    rp.prefixes6.emplace_back(ipv6_link_local_of(mac), 128);
    y += fmt::format("  - {{name: vm{}, port: p{}, mac: \"{}\", ip: {}, allowed_addresses: [\"{}\"], labels: [{}]}}\n", v,
                     v % 2 + 1, mac.to_string(), Ipv4Addr{ip}.to_string(), p.to_string(), v < 2 ? "tier=a" : "tier=b");
  }
  y += "policy:\n  default: " + std::string(pick(2) ? "allow" : "drop") +
       "\n  groups:\n    - {name: ga, labels: [tier=a]}\n    - {name: gb, labels: [tier=b], cidrs: [" + prefix() + ", " +
       prefix6() + "]}\n  rules:\n";
  static const char* kActions[] = {"allow", "drop", "reject"};
  for (int i = 0; i < n_rules; ++i) {
    y += fmt::format("    - name: r{}\n      action: {}\n", i, kActions[pick(3)]);
    // The rule's family: IPv4 prefixes, IPv6 prefixes, both (each side lists one of each),
    // or VMs and groups (both families, by their addresses).
    const int fam = pick(4);
    auto side = [&]() -> std::string {
      switch (fam) {
        case 0: return pick(4) ? prefix() : prefix() + ", " + prefix();
        case 1: return pick(4) ? prefix6() : prefix6() + ", " + prefix6();
        case 2: return prefix() + ", " + prefix6();
        default: {
          static const char* kNames[] = {"vm0", "vm1", "vm2", "vm3", "ga", "gb"};
          return pick(3) ? kNames[pick(6)] : std::string(kNames[pick(6)]) + ", " + (pick(2) ? prefix() : prefix6());
        }
      }
    };
    const bool from = pick(3), to = pick(3);
    if (from) y += fmt::format("      from: [{}]\n", side());
    if (to) y += fmt::format("      to: [{}]\n", side());
    const bool v4_ok = fam != 1 || (!from && !to), v6_ok = fam != 0 || (!from && !to);
    const int proto = pick(6);
    if (proto == 1 || proto == 2) {
      y += fmt::format("      protocol: {}\n", proto == 1 ? "tcp" : "udp");
      if (pick(2)) y += fmt::format("      ports: [{}{}]\n", range(), pick(3) ? "" : ", " + range());
      if (pick(5) == 0) y += fmt::format("      src_ports: {}\n", range());
    } else if (proto == 3 && v4_ok) {
      y += "      protocol: icmp\n";
      if (pick(2)) y += fmt::format("      icmp_type: {}\n", pick(2) ? 8 : pick(256));
    } else if (proto == 5 && v6_ok) {
      y += "      protocol: icmpv6\n";
      if (pick(2)) y += fmt::format("      icmp_type: {}\n", pick(2) ? 128 : pick(256));
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
  auto addr6 = [&]() -> Addr6 {
    if (!rp.prefixes6.empty() && pick(4)) {  // inside a prefix: host bits random, zero or all ones
      auto [a, len] = rp.prefixes6[pick(static_cast<unsigned>(rp.prefixes6.size()))];
      const unsigned fill = pick(5);
      for (int bit = len; bit < 128; ++bit)
        if (fill == 0 || (fill > 1 && (rng() & 1))) a[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
      if (pick(8) == 0) a[pick(16)] ^= static_cast<uint8_t>(1u << pick(8));  // just outside, often
      return a;
    }
    Addr6 a{0x20, 0x01, 0x0d, 0xb8};
    for (int i = 4; i < 16; ++i) a[i] = static_cast<uint8_t>(rng());
    return a;
  };
  policy::FlowTuple t;
  t.ipv6 = pick(2);
  static const uint8_t kProtos[] = {6, 17, 1, 47, 50, 58};
  t.proto = kProtos[pick(6)];
  if (t.ipv6) {
    t.src6 = addr6();
    t.dst6 = addr6();
  } else {
    t.src_ip = addr();
    t.dst_ip = addr();
  }
  t.src_port = static_cast<uint16_t>(pick(3) == 0 ? pick(1024) : pick(65536));
  t.dst_port = static_cast<uint16_t>(pick(3) == 0 ? pick(1024) : pick(65536));
  if (t.proto == 1 || t.proto == 58) {
    t.src_port = static_cast<uint16_t>(pick(2) ? (t.proto == 1 ? 8 : 128) : pick(256));
    t.dst_port = 0;
  }
  t.network = static_cast<int16_t>(pick(2));
  return t;
}

std::string describe(const policy::FlowTuple& t) {
  auto a6 = [](const Addr6& a) {
    IpPrefix p;
    p.family = 6;
    p.len = 128;
    p.bytes = a;
    return p.to_string();
  };
  return fmt::format("proto {} {}:{} -> {}:{} net {}", t.proto, t.ipv6 ? a6(t.src6) : Ipv4Addr{t.src_ip}.to_string(), t.src_port,
                     t.ipv6 ? a6(t.dst6) : Ipv4Addr{t.dst_ip}.to_string(), t.dst_port, t.network);
}

}  // namespace

// IPv4 and IPv6 rules and packets (issue 21 item 3): both tries against the reference.
TEST(Classifier, RteAclAgreesWithReference) {
  const char* env = std::getenv("IVS_SEED");
  const uint32_t seed0 = env ? static_cast<uint32_t>(std::strtoul(env, nullptr, 10)) : 20261121u;
  size_t matched4 = 0, matched6 = 0;
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
      ASSERT_EQ(fast, ref) << "seed " << seed << " packet " << i << ": " << describe(t) << ": rte_acl rule " << fast.rule
                           << ", reference rule " << ref.rule;
      if (ref.rule >= 0) ++(t.ipv6 ? matched6 : matched4);
    }
  }
  // The packets must exercise the rules of both families, not just fall to the default.
  EXPECT_GT(matched4, 5000u);
  EXPECT_GT(matched6, 5000u);
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

// What IPv6 endpoints mean (docs/config.md, policy): a VM name (and a group of it) is its
// IPv6 allowed_addresses and its EUI-64 link-local address, groups take IPv6 cidrs, rules
// take IPv6 prefixes and bare addresses; ICMP is IPv4's, ICMPv6 IPv6's. Asked of both
// evaluators (the datapath's rte_acl and the reference).
TEST(Classifier, Ipv6EndpointsResolve) {
  auto cfg = config::load_string(R"(
ports: [{name: p1, type: discard, network: web}, {name: p2, type: discard, network: db}]
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1, subnet6: "2001:db8:1::/64", gateway6: "2001:db8:1::1"}
  - {name: db, vlan: 20, subnet: 10.0.2.0/24, gateway: 10.0.2.1, subnet6: "2001:db8:2::/64", gateway6: "2001:db8:2::1"}
vms:
  - {name: web1, port: p1, mac: "02:00:00:00:01:01", ip: 10.0.1.11, allowed_addresses: ["2001:db8:1::11"], labels: [tier=web]}
  - {name: db1, port: p2, mac: "02:00:00:00:02:01", ip: 10.0.2.11, allowed_addresses: ["2001:db8:2::11", "2001:db8:2:0:8000::/65"], labels: [tier=db]}
  - {name: v4only, port: p1, mac: "02:00:00:00:01:02", ip: 10.0.1.12}
policy:
  default: allow
  groups:
    - {name: webs, labels: [tier=web]}
    - {name: dbs, labels: [tier=db]}
    - {name: lab, cidrs: ["2001:db8:9::/48", 192.168.0.0/16]}
  rules:
    - {name: ping6, from: webs, to: dbs, protocol: icmpv6, icmp_type: 128, action: allow}
    - {name: web-db, from: webs, to: dbs, action: drop}
    - {name: lab-in, from: lab, to: "2001:db8:1::11", protocol: tcp, ports: [22], action: reject}
    - {name: icmp4, protocol: icmp, action: drop}
    - {name: v4only-out, from: v4only, action: drop}
)", "t.yaml");
  ASSERT_TRUE(cfg) << cfg.error().front();
  auto cls = policy::Classifier::compile(*cfg, 1);
  ASSERT_TRUE(cls) << cls.error();
  auto a6 = [](const char* s) { return IpPrefix::parse(s)->bytes; };
  auto v6 = [&](const char* src, const char* dst, uint8_t proto, uint16_t sport, uint16_t dport, int16_t net) {
    policy::FlowTuple t;
    t.ipv6 = true;
    t.proto = proto;
    t.src6 = a6(src);
    t.dst6 = a6(dst);
    t.src_port = sport;
    t.dst_port = dport;
    t.network = net;
    return t;
  };
  auto rule = [&](const policy::FlowTuple& t) {
    const auto fast = (*cls)->classify(t), ref = (*cls)->classify_reference(t);
    EXPECT_EQ(fast, ref) << describe(t);
    return fast.rule;
  };
  // web -> db by the VMs' IPv6 addresses: the echo allowed, the rest denied.
  EXPECT_EQ(rule(v6("2001:db8:1::11", "2001:db8:2::11", 58, 128, 0, 0)), 0);
  EXPECT_EQ(rule(v6("2001:db8:1::11", "2001:db8:2::11", 6, 40000, 5432, 0)), 1);
  // a prefix in allowed_addresses is matched whole (port security lets db1 send from it)
  EXPECT_EQ(rule(v6("2001:db8:1::11", "2001:db8:2:0:8000::77", 17, 1, 2, 0)), 1);
  EXPECT_EQ(rule(v6("2001:db8:1::11", "2001:db8:2:0:7fff::77", 17, 1, 2, 0)), -1);
  // link-local: a VM's EUI-64 address is the VM's too
  EXPECT_EQ(rule(v6("fe80::ff:fe00:101", "fe80::ff:fe00:201", 6, 40000, 80, 0)), 1);
  // an address no VM has: default
  EXPECT_EQ(rule(v6("2001:db8:1::99", "2001:db8:2::11", 6, 40000, 80, 0)), -1);
  // group cidrs and a bare IPv6 address in a rule
  EXPECT_EQ(rule(v6("2001:db8:9:5::1", "2001:db8:1::11", 6, 40000, 22, 1)), 2);
  EXPECT_EQ(rule(v6("2001:db8:9:5::1", "2001:db8:1::12", 6, 40000, 22, 1)), -1);
  // ICMP (1) is not ICMPv6: rule icmp4 never matches an IPv6 echo
  EXPECT_EQ(rule(v6("2001:db8:1::99", "2001:db8:1::98", 58, 128, 0, 0)), -1);
  // a VM without IPv6 addresses is still its link-local one
  EXPECT_EQ(rule(v6("fe80::ff:fe00:102", "fe80::1", 17, 1, 2, 0)), 4);
  // IPv4 as before
  policy::FlowTuple t4{false, 6, Ipv4Addr::parse("10.0.1.11")->value, Ipv4Addr::parse("10.0.2.11")->value, 40000, 5432, 0};
  EXPECT_EQ(rule(t4), 1);
  t4.src_ip = Ipv4Addr::parse("192.168.1.1")->value;  // lab's IPv4 cidr, to web1's IPv6 address only
  t4.dst_ip = Ipv4Addr::parse("10.0.1.11")->value;
  t4.dst_port = 22;
  EXPECT_EQ(rule(t4), -1);
  // an IPv6 packet carrying protocol 1 (a guest may send one) meets the ICMP rule: a
  // protocol is its number, whatever the family
  EXPECT_EQ(rule(v6("2001:db8:1::99", "2001:db8:1::98", 1, 8, 0, 0)), 3);
  // rows: a rule has IPv6 rows only where its sides have IPv6 endpoints
  const auto& rules = (*cls)->rules();
  EXPECT_GT(rules[1].acl_rules, 0u);
  EXPECT_GT(rules[1].acl_rules6, 0u);
  EXPECT_EQ(rules[2].acl_rules, 0u);  // lab (192.168/16) -> web1's IPv6 address: no IPv4 pair
  EXPECT_GT(rules[2].acl_rules6, 0u);
  EXPECT_EQ((*cls)->acl6_rule_count(), [&] { size_t n = 0; for (const auto& r : rules) n += r.acl_rules6; return n; }());
}
