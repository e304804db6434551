// Trace equals datapath (issue 16, item 3): generated topologies and packet sequences;
// before each packet is sent, `ivctl trace`'s code path (the Forwarder in trace mode,
// asking the slow path's decide()) is run on the same frame in the same state, and its
// outcome must be what the datapath then really does:
//   - the frames that leave, by port, byte for byte;
//   - the counters that move (drops by port and reason, datapath events, QoS counters);
//   - for a new flow, the entry installed (state, rule, epoch, chain path, DSCP
//     decisions), or none when the table is full.
// Trace must also change nothing (no counter, no entry). Outcomes are compared, never the
// trace's wording (another branch rewrites the steps as records).
//
// Seeded and reproducible: IVS_TRACE_SEED=N repeats a run (the seed is printed, and with
// every failure, with the topology and the packet); IVS_TRACE_TOPOLOGIES=N sets how many
// topologies are generated (default 80, 30 under ASan; each a sequence of 14 packets).
// Some ports have an `mtu` (as an af_packet port's): larger IPv4 packets without DF leave
// in fragments, the others are dropped with ICMP too big / packet too big to the sender.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <gtest/gtest.h>

#include "portsec/reasons.hpp"

#include <array>
#include <cstdlib>
#include <random>
#include <set>
#include <sstream>

#include "flow/flow_key.hpp"
#include "mirror/mirror_set.hpp"
#include "mirror/tap_record.hpp"
#include "packet/checksum.hpp"
#include "packet/parse.hpp"
#include "support/forwarder_rig.hpp"

using namespace ivs;
using namespace ivs::test;

namespace {

enum : uint16_t { kP1, kP2, kP3, kFwa, kFwb, kTr, kPorts };
const char* const kPortNames[] = {"p1", "p2", "p3", "fwa", "fwb", "tr"};

struct Vm {
  const char* name;
  MacAddr mac;
  uint32_t ip;
  uint16_t port;
  int net;  // 0 web, 1 db
};
const Vm kVms[] = {
    {"vm1", mac("02:00:00:00:01:01"), ip4("10.0.1.11"), kP1, 0},
    {"vm2", mac("02:00:00:00:01:02"), ip4("10.0.1.12"), kP2, 0},
    {"vm3", mac("02:00:00:00:02:03"), ip4("10.0.2.13"), kP3, 1},
    {"vm4", mac("02:00:00:00:02:04"), ip4("10.0.2.14"), kTr, 1},  // behind the trunk, VLAN 20
};
constexpr int kVmCount = 4;
// The chain's device: a router with a leg in each network (MAC R1 on fwa, R2 on fwb).
const MacAddr kR[2] = {mac("02:fe:00:00:00:01"), mac("02:fe:00:00:00:02")};
const MacAddr kGw[2] = {config::default_gateway_mac(10), config::default_gateway_mac(20)};
const uint16_t kVlan[2] = {10, 20};

// A generated topology: always the same ports, networks and VMs; which features are on,
// the chain's failure mode and health, and the policy and QoS rules vary.
struct Topology {
  bool chain = false, fail_open = false, device_down = false, trunk = false, qos = false, table_full = false;
  bool port_security = true;
  std::array<uint16_t, kPorts> mtu{};  // per port; 0: none
  std::vector<std::string> mirrors;  // YAML of each mirror
  std::string default_action = "allow";
  std::vector<std::string> rules, qos_rules;

  std::string yaml() const {
    std::ostringstream y;
    auto m = [&](uint16_t p) { return mtu[p] ? fmt::format(", mtu: {}", mtu[p]) : std::string(); };
    y << "ports:\n  - {name: p1, type: discard, network: web" << (port_security ? "" : ", port_security: false") << m(kP1) << "}\n"
      << "  - {name: p2, type: discard, network: web" << m(kP2) << "}\n  - {name: p3, type: discard, network: db" << m(kP3) << "}\n"
      << "  - {name: fwa, type: discard, network: web" << m(kFwa) << "}\n  - {name: fwb, type: discard, network: db" << m(kFwb) << "}\n"
      << "  - {name: tr, type: discard, trunk: [web, db]" << m(kTr) << "}\n"
      << "networks:\n  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.254}\n"
      << "  - {name: db, vlan: 20, subnet: 10.0.2.0/24, gateway: 10.0.2.254}\n"
      << "vms:\n  - {name: vm1, port: p1, mac: \"02:00:00:00:01:01\", ip: 10.0.1.11, allowed_addresses: [\"fd00::11\"]}\n"
      << "  - {name: vm2, port: p2, mac: \"02:00:00:00:01:02\", ip: 10.0.1.12, allowed_addresses: [\"fd00::12\"]}\n"
      << "  - {name: vm3, port: p3, mac: \"02:00:00:00:02:03\", ip: 10.0.2.13}\n"
      << "  - {name: vm4, port: tr, network: db, mac: \"02:00:00:00:02:04\", ip: 10.0.2.14}\n";
    // (the autovalidator checks every cache hit of the sequence on the way)
    y << "flows: {table_size: " << (table_full ? 1024 : 4096) << ", autovalidator: true}\n";
    if (chain) y << "chains:\n  - {name: fw, out_port: fwa, return_port: fwb, on_failure: " << (fail_open ? "open" : "closed") << "}\n";
    y << "policy:\n  default: " << default_action << "\n  rules:\n";
    for (const auto& r : rules) y << "    - " << r << "\n";
    if (rules.empty()) y << "    []\n";
    if (!mirrors.empty()) {
      y << "mirrors:\n";
      for (const auto& m : mirrors) y << m;
    }
    if (qos) {
      y << "qos:\n  assign:\n";
      for (const auto& r : qos_rules) y << "    - " << r << "\n";
    }
    return y.str();
  }
};

using Rng = std::mt19937_64;
bool coin(Rng& r, double p = 0.5) { return std::uniform_real_distribution<double>(0, 1)(r) < p; }
template <class T>
const T& pick(Rng& r, const std::vector<T>& v) { return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(r)]; }
int upto(Rng& r, int n) { return std::uniform_int_distribution<int>(0, n - 1)(r); }

Topology generate_topology(Rng& r) {
  Topology t;
  t.chain = coin(r, 0.6);
  t.fail_open = coin(r);
  t.device_down = t.chain && coin(r, 0.4);
  t.trunk = coin(r);
  t.qos = coin(r, 0.5);
  t.port_security = coin(r, 0.8);
  t.default_action = pick(r, std::vector<std::string>{"allow", "allow", "drop", "reject"});
  // Ports with an mtu small enough for the generated packets (up to ~630 octets of IP) to
  // exceed it: fragmented or too big.
  if (coin(r, 0.7))
    for (uint16_t p = 0; p < kPorts; ++p)
      if (coin(r, 0.5)) t.mtu[p] = static_cast<uint16_t>(pick(r, std::vector<int>{96, 200, 576}));
  const std::vector<std::string> pool = {
      "{name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: {inspect: fw}}",
      "{name: back, from: vm3, to: vm1, protocol: tcp, ports: [7000], action: {inspect: fw}}",
      "{name: udp-chain, from: vm2, to: vm4, protocol: udp, ports: [53], action: {inspect: fw}}",
      "{name: ssh, to: vm2, protocol: tcp, ports: [22], action: reject}",
      "{name: dns-drop, protocol: udp, ports: [53], action: drop}",
      "{name: icmp, protocol: icmp, action: allow}",
      "{name: web-in, to: vm1, protocol: tcp, ports: [80], action: allow, on_change: persist}",
      "{name: db-out, from: vm3, action: drop}",
      "{name: vm4-reject, from: vm4, protocol: udp, action: reject}",
  };
  for (const auto& rule : pool) {
    if (!t.chain && rule.find("inspect") != std::string::npos) continue;
    if (coin(r, 0.45)) t.rules.push_back(rule);
  }
  std::shuffle(t.rules.begin(), t.rules.end(), r);
  // Mirrors: port taps both ways, one way, and flow taps, with or without a filter
  // (no 1-in-N sampling: its count is per datapath thread, trace starts its own).
  const std::vector<std::string> mirror_pool = {
      "  - {name: all-p1, taps: [p1], tools: [{pcapng: /tmp/ivs-unit-trace-all-p1.pcapng}]}\n",
      "  - {name: dev-tx, taps: [{port: fwa, direction: tx}, {port: tr, direction: rx}], tools: [{pcapng: /tmp/ivs-unit-trace-dev-tx.pcapng}]}\n",
      "  - {name: pg-flows, taps: [{flows: {from: vm1, to: vm3, protocol: tcp}}], tools: [{pcapng: /tmp/ivs-unit-trace-pg-flows.pcapng}]}\n",
      "  - {name: udp-p3, taps: [p3, p2], filter: udp, tools: [{pcapng: /tmp/ivs-unit-trace-udp-p3.pcapng}]}\n",
  };
  if (coin(r, 0.4))
    for (const auto& m : mirror_pool)
      if (coin(r)) t.mirrors.push_back(m);
  if (t.qos) {
    const std::vector<std::string> modes = {"enforce", "audit", "trust"};
    t.qos_rules.push_back("{name: a1, from: vm1, dscp: EF, mode: " + pick(r, modes) + "}");
    t.qos_rules.push_back("{name: a3, from: vm3, protocol: tcp, dscp: AF21, mode: " + pick(r, modes) + "}");
    if (coin(r)) t.qos_rules.push_back("{name: a2, from: vm2, to: vm4, dscp: CS1, mode: " + pick(r, modes) + "}");
    if (coin(r)) t.qos_rules.push_back("{name: net, network: db, dscp: AF41, mode: " + pick(r, modes) + "}");
  }
  return t;
}

// A conversation: its first packet goes from `a` to `b`; packets of either direction.
struct Conversation {
  int a, b;
  uint8_t proto;  // 6, 17, 1; 58: IPv6 UDP (web only)
  uint16_t sport, dport;
};

Bytes set_ttl(Bytes f, size_t l3, uint8_t ttl) {  // an IPv4 frame with its TTL (and checksum) changed
  f[l3 + 8] = ttl;
  packet::store_be16(&f[l3 + 10], 0);
  packet::store_be16(&f[l3 + 10], packet::csum(&f[l3], 20));
  return f;
}

void set_df(Bytes& f, size_t l3) {  // an IPv4 frame with Don't Fragment set (and its checksum)
  f[l3 + 6] |= 0x40;
  packet::store_be16(&f[l3 + 10], 0);
  packet::store_be16(&f[l3 + 10], packet::csum(&f[l3], 20));
}

// What a packet's sender puts on the wire, and where it enters.
struct Input {
  uint16_t port;
  Bytes frame;
  std::string what;
};

class Generator {
 public:
  explicit Generator(Rng& r, const Topology& t) : r_(r), t_(t) {
    const std::vector<Conversation> pool = {
        {0, 2, 6, 40000, 5432}, {2, 0, 6, 40001, 7000}, {1, 3, 17, 4000, 53},   {0, 1, 6, 40002, 22},
        {2, 0, 17, 5000, 53},   {0, 1, 17, 4001, 9000}, {3, 0, 6, 40003, 80},   {0, 2, 1, 7, 0},
        {3, 1, 17, 4002, 4444}, {0, 1, 58, 4003, 5353}, {2, 3, 6, 40004, 5432}, {1, 2, 6, 40005, 7000},
    };
    for (int i = 0; i < 5; ++i) convs_.push_back(pick(r_, pool));
  }

  Input next() {
    const int k = upto(r_, 100);
    if (k < 15 && !device_bound_.empty()) return device_returns();
    if (k < 19) return arp_for_gateway();
    if (k < 22) return spoofed();
    if (k < 26) return fragment();
    if (k < 28) return to_gateway_ping();
    return conversation_packet();
  }
  // The frames that left for the device: the device may pass them back.
  void saw_output(uint16_t port, const Bytes& f) {
    if (port == kFwa || port == kFwb) device_bound_.push_back({port, f});
  }

 private:
  const Vm& vm(int i) const { return kVms[i]; }
  Eth eth_from(int src, MacAddr dst) const { return Eth{dst, vm(src).mac, vm(src).port == kTr ? kVlan[vm(src).net] : -1}; }
  // How the sender addresses the L2 destination: switched to the peer, routed by the
  // switch (gateway MAC), or sent to the chain's device as its gateway.
  MacAddr l2_dst(int src, int dst) {
    if (vm(src).net == vm(dst).net) return coin(r_, 0.9) ? vm(dst).mac : mac("02:00:00:00:09:99");  // unknown: flooded
    return coin(r_, 0.6) ? kGw[vm(src).net] : kR[vm(src).net];
  }
  uint8_t tos() { return coin(r_, 0.5) ? 0 : static_cast<uint8_t>(pick(r_, std::vector<int>{46, 18, 8, 34, 10}) << 2 | upto(r_, 4)); }

  Input conversation_packet() {
    const Conversation c = pick(r_, convs_);
    const bool reply = coin(r_, 0.4);
    const int s = reply ? c.b : c.a, d = reply ? c.a : c.b;
    const uint16_t sp = reply ? c.dport : c.sport, dp = reply ? c.sport : c.dport;
    Bytes l4;
    if (c.proto == 6) {
      const uint8_t flags = pick(r_, std::vector<uint8_t>{0x02, 0x12, 0x10, 0x18, 0x11, 0x04});
      l4 = tcp(sp, dp, flags);
    } else if (c.proto == 1) {
      l4 = icmp_echo(reply ? 0 : 8, 7, static_cast<uint16_t>(upto(r_, 5)));
    } else {
      l4 = udp(sp, dp, static_cast<size_t>(coin(r_, 0.3) ? 200 + upto(r_, 400) : upto(r_, 200)));
    }
    if (c.proto == 58) {  // IPv6, switched between vm1 and vm2 (the web network)
      const int s6 = s < 2 ? s : 0, d6 = s6 == 0 ? 1 : 0;
      auto a6 = [](int v) { std::array<uint8_t, 16> a{}; a[0] = 0xfd; a[15] = static_cast<uint8_t>(0x11 + v); return a; };
      return {vm(s6).port, ipv6(eth_from(s6, vm(d6).mac), a6(s6), a6(d6), packet::kProtoUdp, udp(sp, dp, l4.size() - 8)), "ipv6 udp"};
    }
    const uint8_t proto = c.proto == 1 ? packet::kProtoIcmp : c.proto;
    Bytes f = ipv4(eth_from(s, l2_dst(s, d)), vm(s).ip, vm(d).ip, proto, l4, static_cast<uint8_t>(upto(r_, 4) == 0 ? 1 : 64), tos());
    const bool df = coin(r_, 0.5);  // may not be fragmented: too big for a port with a smaller mtu
    if (df) set_df(f, vm(s).port == kTr ? 18 : 14);
    return {vm(s).port, f, std::string(vm(s).name) + "->" + vm(d).name + (reply ? " (reply side)" : "") + (df ? ", DF" : "")};
  }
  // The device routes a frame it was given out of its other leg, to the VM that holds the
  // destination address (a router's copy: TTL - 1, its own MAC as source).
  Input device_returns() {
    // Each frame is passed back once (a device sending a datagram twice is a duplicate).
    const size_t i = static_cast<size_t>(upto(r_, static_cast<int>(device_bound_.size())));
    const auto [port, f] = device_bound_[i];
    device_bound_.erase(device_bound_.begin() + static_cast<ptrdiff_t>(i));
    const int leg = port == kFwa ? 1 : 0;  // it leaves on the other leg
    packet::ParsedPacket pp;
    if (packet::parse(f.data(), static_cast<uint32_t>(f.size()), pp) || pp.ethertype != packet::kEtherTypeIpv4) return conversation_packet();
    // A later fragment (fwa's mtu fragmented the datagram on its way to the device) would
    // follow its first through the datapath thread's fragment table, which trace cannot
    // see (fragment() below): not passed back.
    if (pp.is_fragment && pp.frag_offset != 0) return conversation_packet();
    // Nor a second first fragment of a datagram (source, destination, IP id and protocol,
    // on that leg's network) whose first the thread still holds: the conversations all send
    // IP id 0x1234, so two of their datagrams cut by fwa's mtu share a key, and the second
    // first is an overlap to the datapath thread's table (seed 13453232936049698089).
    if (pp.is_fragment && !passed_back_firsts_.insert(fmt::format("{}:{:x}>{:x}#{}/{}", leg, pp.src_ip, pp.dst_ip, pp.frag_id, pp.ip_proto)).second)
      return conversation_packet();
    int dst = -1;
    for (int i = 0; i < kVmCount; ++i)
      if (vm(i).ip == pp.dst_ip) dst = i;
    if (dst < 0 || vm(dst).net != leg) return conversation_packet();
    Bytes out = set_ttl(f, pp.l3_offset, static_cast<uint8_t>(pp.ttl > 1 ? pp.ttl - 1 : 1));
    vm(dst).mac.store(out.data());
    kR[leg].store(out.data() + 6);
    return {leg == 0 ? kFwa : kFwb, out, "device passes it back"};
  }
  Input arp_for_gateway() {
    const int s = upto(r_, kVmCount);
    const uint32_t gw = vm(s).net == 0 ? ip4("10.0.1.254") : ip4("10.0.2.254");
    return {vm(s).port, arp(eth_from(s, mac("ff:ff:ff:ff:ff:ff")), 1, vm(s).mac, vm(s).ip, MacAddr{}, gw), "arp for the gateway"};
  }
  Input to_gateway_ping() {
    const int s = upto(r_, kVmCount);
    const uint32_t gw = vm(s).net == 0 ? ip4("10.0.1.254") : ip4("10.0.2.254");
    return {vm(s).port, ipv4(eth_from(s, kGw[vm(s).net]), vm(s).ip, gw, packet::kProtoIcmp, icmp_echo()), "ping the gateway"};
  }
  Input spoofed() {  // port security: another VM's address, or a MAC of no VM
    const int s = upto(r_, 3);
    Eth e = eth_from(s, vm((s + 1) % 3).mac);
    if (coin(r_)) e.src = mac("02:00:00:00:07:77");
    return {vm(s).port, ipv4(e, coin(r_) ? ip4("10.0.1.99") : vm(s).ip, vm((s + 1) % 3).ip, packet::kProtoUdp, udp(1234, 53)), "spoofed"};
  }
  // The first fragment of a UDP datagram between VMs (a new datagram each time), or a
  // later fragment whose first was never seen. Not generated: a later fragment following
  // its first. Trace runs on a fragment table of its own (per thread, like the datapath's)
  // and cannot know which datagrams a datapath thread has begun (see the report in
  // docs/architecture.md, "Trace equals datapath").
  Input fragment() {
    const int s = upto(r_, 2), d = upto(r_, 2) == 0 ? 2 : 1 - s;
    const bool first = coin(r_, 0.7);
    const Bytes part = first ? udp(4500, 53, 40) : Bytes(48, 0xab);
    return {vm(s).port,
            ipv4_fragment(eth_from(s, l2_dst(s, d)), vm(s).ip, vm(d).ip, packet::kProtoUdp, part, next_id_++, static_cast<uint16_t>(first ? 0 : 6), first),
            first ? "first fragment" : "later fragment, its first never seen"};
  }

  Rng& r_;
  const Topology& t_;
  std::vector<Conversation> convs_;
  std::vector<std::pair<uint16_t, Bytes>> device_bound_;
  std::set<std::string> passed_back_firsts_;  // first fragments the device passed back
  uint16_t next_id_ = 0x4000;
};

std::string hex(const Bytes& b) {
  std::string s;
  for (uint8_t c : b) s += fmt::format("{:02x}", c);
  return s;
}

// The entry's decided fields, for comparing a traced new flow with the installed one.
std::string decided(const flow::FlowEntry& e) {
  const auto& c = e.chain;
  return fmt::format("state {} rule {} epoch {} initiator {} network {} qos {:x}/{:x} chain {} dev {}/{} inspect {} nets {}/{} macs {}/{}",
                     flow::flow_state_name(e.state.load()), e.rule, e.epoch, e.initiator, e.network, e.slot.word[0].load(),
                     e.slot.word[1].load(), c.chain, c.device_port[0], c.device_port[1], c.inspect_packets, c.side_net[0].load(),
                     c.side_net[1].load(), MacAddr::from(c.side_mac[0]).to_string(), MacAddr::from(c.side_mac[1]).to_string());
}

// Events the trace cannot and need not show the same way: lookups (trace bypasses the
// per-thread cache), upcalls (trace asks decide() directly), learning (trace learns
// nothing), the tap sensor's counts (trace reports, does not verify).
bool compared(pipeline::Event e) {
  using E = pipeline::Event;
  return e != E::kEmcHits && e != E::kFlowTableHits && e != E::kUpcalls && e != E::kLearnQueued && e != E::kLearnQueueFull &&
         e != E::kChainReturned && e != E::kChainVerified;
}

std::vector<std::pair<uint16_t, Bytes>> take_all(ForwarderRig& rig) {
  std::vector<std::pair<uint16_t, Bytes>> out;
  for (uint16_t p = 0; p < kPorts; ++p)
    for (auto& f : rig.take(p)) out.emplace_back(p, std::move(f));
  return out;
}

std::vector<uint64_t> minus(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  std::vector<uint64_t> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  return d;
}

// The differences between what trace said and what the datapath did, as readable lines.
std::vector<std::string> differences(const ForwarderRig::Traced& t, const std::vector<std::pair<uint16_t, Bytes>>& sent,
                                     const ForwarderRig::Counts& moved) {
  std::vector<std::string> d;
  if (t.outputs != sent) {
    std::string s = "frames out differ:\n    trace:";
    for (const auto& [p, f] : t.outputs) s += fmt::format("\n      {} {}", kPortNames[p], hex(f));
    s += "\n    datapath:";
    for (const auto& [p, f] : sent) s += fmt::format("\n      {} {}", kPortNames[p], hex(f));
    d.push_back(s);
  }
  for (size_t i = 0; i < pipeline::kEventCount; ++i)
    if (compared(static_cast<pipeline::Event>(i)) && t.counts.events[i] != moved.events[i])
      d.push_back(fmt::format("event {}: trace {}, datapath {}", pipeline::kEventInfo[i].name, t.counts.events[i], moved.events[i]));
  for (size_t i = 0; i < moved.drops.size(); ++i)
    if (t.counts.drops[i] != moved.drops[i])
      d.push_back(fmt::format("drop {} on {}: trace {}, datapath {}", drop_reason_name(static_cast<DropReason>(i % kDropReasonCount)),
                              kPortNames[i / kDropReasonCount], t.counts.drops[i], moved.drops[i]));
  if (t.counts.qos != moved.qos) d.push_back("QoS counters differ");
  for (size_t i = 0; i < moved.mirrors.size(); ++i)
    if (t.counts.mirrors[i] != moved.mirrors[i])
      d.push_back(fmt::format("mirror slot {} {}: trace {}, datapath {}", i / 5,
                              std::array{"eligible", "filtered out", "sampled out", "copied", "duplicate"}[i % 5], t.counts.mirrors[i],
                              moved.mirrors[i]));
  return d;
}

struct RunStats {
  uint64_t seed;
  int topologies;
  int compared = 0, new_flows = 0, refused = 0;
  uint64_t validated = 0;  // cache hits the autovalidator checked on the way
  // What the compared packets did (so that a generator that stops reaching a feature
  // fails instead of passing quietly): by datapath event, and by drop reason.
  std::array<uint64_t, pipeline::kEventCount> events{};
  std::array<uint64_t, kDropReasonCount> drops{};
  uint64_t qos_rewritten = 0, qos_mismatched = 0, mirror_copies = 0, mirror_filtered = 0;
  void count(const ForwarderRig::Counts& moved) {
    for (size_t i = 0; i < moved.mirrors.size(); i += 5) {
      mirror_filtered += moved.mirrors[i + 1];
      mirror_copies += moved.mirrors[i + 3];
    }
    for (size_t i = 0; i < events.size(); ++i) events[i] += moved.events[i];
    for (size_t i = 0; i < moved.drops.size(); ++i) drops[i % kDropReasonCount] += moved.drops[i];
    for (size_t v = 0; v + 70 <= moved.qos.size(); v += 70) {
      qos_mismatched += moved.qos[v + 64];
      qos_rewritten += moved.qos[v + 65];
    }
  }
  uint64_t event(pipeline::Event e) const { return events[static_cast<size_t>(e)]; }
  uint64_t drop(DropReason r) const { return drops[static_cast<size_t>(r)]; }
};

// One topology's sequence; returns the number of packets compared.
void run_topology(RunStats& run, uint64_t seed, const Topology* fixed = nullptr, const std::vector<Input>* inputs = nullptr) {
  Rng r(seed);
  const Topology topo = fixed ? *fixed : generate_topology(r);
  const std::string yaml = topo.yaml();
  SCOPED_TRACE(fmt::format("seed {} (IVS_TRACE_SEED={} repeats the run); topology:\n{}", seed, run.seed, yaml));
  ForwarderRig rig(yaml);
  // What the Datapath sets for an af_packet port's `mtu` (discard ports keep 0).
  for (uint16_t p = 0; p < kPorts; ++p) rig.port_runtime(p).tx_mtu = topo.mtu[p];
  for (int i = 0; i < kVmCount; ++i) {
    rig.add_mac(kVms[i].net, kVms[i].mac, kVms[i].port, true);
    rig.add_neighbor(kVms[i].ip, kVms[i].mac);
  }
  rig.add_mac(0, kR[0], kFwa);
  rig.add_mac(1, kR[1], kFwb);
  if (topo.device_down) rig.port_down.insert(kFwb);
  rig.slow_path().run_once();  // the policy thread has looked at the devices' health
  // Mirrors: published to the rig; the copies land on a ring (the broker's side), taken
  // and counted after each packet.
  std::unique_ptr<mirror::MirrorSet> mirror_set;
  std::atomic<const mirror::MirrorSet*> published{nullptr};
  std::unique_ptr<rte_ring, void (*)(rte_ring*)> tap_ring(nullptr, rte_ring_free);
  if (!topo.mirrors.empty()) {
    auto cfg = config::load_string(yaml, "rig.yaml");
    ASSERT_TRUE(cfg);
    std::vector<uint8_t> slots;
    std::vector<uint32_t> gens;
    for (size_t i = 0; i < cfg->mirrors.size(); ++i) {
      slots.push_back(static_cast<uint8_t>(i));
      gens.push_back(1);
    }
    auto set = mirror::MirrorSet::compile(*cfg, cfg->mirrors, slots, gens);
    ASSERT_TRUE(set) << set.error();
    mirror_set = std::move(*set);
    published = mirror_set.get();
    static int seq = 0;
    tap_ring.reset(rte_ring_create_elem(("trace_eq_taps" + std::to_string(seq++)).c_str(), sizeof(mirror::TapRecord), 1024,
                                        static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ));
    ASSERT_NE(tap_ring, nullptr);
    rig.attach_mirrors(&published, tap_ring.get());
  }
  auto take_copies = [&] {
    if (!tap_ring) return;
    mirror::TapRecord recs[64];
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst_elem(tap_ring.get(), recs, sizeof(mirror::TapRecord), 64, nullptr)) > 0)
      for (unsigned i = 0; i < n; ++i) rte_pktmbuf_free(recs[i].copy);
  };
  struct Detach {  // the rig must not keep pointers to this scope's set and ring
    ForwarderRig& rig;
    bool on;
    ~Detach() {
      if (on) rig.attach_mirrors(nullptr, nullptr);
    }
  } detach{rig, !topo.mirrors.empty()};
  if (topo.table_full) {  // 1024 flows of a host that is not part of the conversations
    for (uint16_t i = 0; rig.flows().size() < rig.flows().capacity(); ++i) {
      rig.send(kP3, ipv4({kVms[0].mac, kVms[2].mac}, kVms[2].ip, kVms[0].ip, packet::kProtoUdp, udp(static_cast<uint16_t>(10000 + i), 9)));
      take_all(rig);
      take_copies();
      ASSERT_LT(i, 5000) << "table does not fill";
    }
    // Filling answered rejected flows until the thread's reply bucket ran dry: let it refill
    // (50 tokens at 1000/s). A trace runs on a Forwarder of its own and cannot see a datapath
    // thread's bucket, as it cannot see its meters (docs/architecture.md, "Trace").
    std::this_thread::sleep_for(std::chrono::milliseconds(80));
  }
  Generator gen(r, topo);
  const int steps = inputs ? static_cast<int>(inputs->size()) : 14;
  for (int step = 0; step < steps; ++step) {
    const Input in = inputs ? (*inputs)[static_cast<size_t>(step)] : gen.next();
    SCOPED_TRACE(fmt::format("step {}: {} on port {}: {}", step, in.what, kPortNames[in.port], hex(in.frame)));
    const auto before = rig.counts();
    const uint32_t flows_before = rig.flows().size();
    std::set<std::string> keys_before;  // to find the entry the datapath installs
    rig.flows().for_each([&](const flow::FlowEntry& e) { keys_before.insert(flow::to_string(e.key)); });
    const auto traced = rig.trace(in.port, in.frame);
    // Trace changes nothing.
    ASSERT_EQ(rig.flows().size(), flows_before) << "trace installed a flow";
    const auto after_trace = rig.counts();
    ASSERT_TRUE(after_trace.events == before.events && after_trace.drops == before.drops && after_trace.qos == before.qos &&
                after_trace.mirrors == before.mirrors)
        << "trace moved the datapath's counters";
    // The datapath, on the same state.
    rig.send(in.port, in.frame);
    const auto sent = take_all(rig);
    take_copies();
    const auto now = rig.counts();
    const ForwarderRig::Counts moved{minus(now.events, before.events), minus(now.drops, before.drops), minus(now.rx, before.rx),
                                     minus(now.qos, before.qos), minus(now.mirrors, before.mirrors)};
    const auto diff = differences(traced, sent, moved);
    for (const auto& line : diff) ADD_FAILURE() << line;
    ++run.compared;
    run.count(moved);
    // A new flow: trace's entry is the one the slow path installed (or neither has one).
    const bool traced_new = traced.entry->packets[0].get() + traced.entry->packets[1].get() > 0;
    const flow::FlowEntry* installed = nullptr;
    rig.flows().for_each([&](const flow::FlowEntry& e) {
      if (!keys_before.count(flow::to_string(e.key))) installed = &e;
    });
    if (traced_new) {
      ++run.new_flows;
      if (!installed) ADD_FAILURE() << "trace decided a new flow " << decided(*traced.entry) << "; the datapath installed none";
      else EXPECT_EQ(decided(*traced.entry), decided(*installed));
    } else if (installed) {
      ADD_FAILURE() << "the datapath installed a flow trace did not predict: " << decided(*installed);
    }
    // Traced through the table-full path (trace's own policy.table_full step), not merely
    // sent while the table was full.
    if (std::ranges::any_of(traced.packet.steps, [](const auto& st) { return st.stage == "policy" && st.event == "table_full"; }))
      ++run.refused;
    if (!diff.empty()) return;  // one disagreement per topology is enough to read
    for (const auto& [p, f] : sent) gen.saw_output(p, f);
  }
  const auto& av = rig.autovalidator()->stats();
  EXPECT_EQ(av.mismatch.load(), 0u) << "the autovalidator found cache hits decide() disagrees with";
  run.validated += av.checked.load();
}

// Under the sanitizers (CI runs the unit tests again with ASan+UBSan) a smaller default
// run: the same generator, fewer topologies.
#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kDefaultTopologies = 30;
#else
constexpr uint64_t kDefaultTopologies = 80;
#endif

uint64_t env_u64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : dflt;
}

}  // namespace

TEST(TraceEqualsDatapath, GeneratedTopologies) {
  RunStats run{env_u64("IVS_TRACE_SEED", std::random_device{}() | uint64_t{std::random_device{}()} << 32),
          static_cast<int>(env_u64("IVS_TRACE_TOPOLOGIES", kDefaultTopologies))};
  std::printf("trace-equals-datapath: seed %llu (IVS_TRACE_SEED=%llu repeats this run), %d topologies\n",
              static_cast<unsigned long long>(run.seed), static_cast<unsigned long long>(run.seed), run.topologies);
  using E = pipeline::Event;
  constexpr E kFeatures[] = {E::kRouted,        E::kFlooded,     E::kRejectReplies, E::kChainToDevice, E::kChainShortcut,
                             E::kArpReplies,    E::kEchoReplies, E::kTxFragments,   E::kTooBigReplies};
  const auto all_reached = [&] {
    for (E e : kFeatures)
      if (run.event(e) == 0) return false;
    return run.qos_rewritten > 0 && run.qos_mismatched > run.qos_rewritten && run.drop(DropReason::kPolicyDenied) > 0 &&
           run.drop(DropReason::kTxTooBig) > 0 && run.mirror_copies > 0 && run.mirror_filtered > 0;
  };
  // The topologies asked for, then (a full run only) up to as many again while a feature
  // is still unreached: each topology draws its features at random, and a rare seed
  // missed one in 80 (chain.to_device, once in ~60 runs), which is chance, not a fault.
  // The checks below still fail a run that reaches a feature in none of them.
  int i = 0;
  for (; i < run.topologies && !HasFatalFailure(); ++i) run_topology(run, run.seed + static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull);
  const int asked = run.topologies;
  if (asked >= 40)
    for (; i < 2 * asked && !all_reached() && !HasFatalFailure(); ++i)
      run_topology(run, run.seed + static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull);
  if (i > asked) std::printf("trace-equals-datapath: %d more topologies to reach every feature\n", i - asked);
  std::printf("trace-equals-datapath: %d packets compared, %d new flows; routed %llu, flooded %llu, rejected %llu, "
              "to a chain's device %llu, shortcut %llu, QoS rewritten %llu / mismatched %llu, denied %llu, chain denied "
              "(no entry) %llu, port security %llu, fragments without first %llu\n",
              run.compared, run.new_flows, static_cast<unsigned long long>(run.event(E::kRouted)),
              static_cast<unsigned long long>(run.event(E::kFlooded)), static_cast<unsigned long long>(run.event(E::kRejectReplies)),
              static_cast<unsigned long long>(run.event(E::kChainToDevice)), static_cast<unsigned long long>(run.event(E::kChainShortcut)),
              static_cast<unsigned long long>(run.qos_rewritten), static_cast<unsigned long long>(run.qos_mismatched),
              static_cast<unsigned long long>(run.drop(DropReason::kPolicyDenied)),
              static_cast<unsigned long long>(run.drop(DropReason::kChainNoEntry)),
              static_cast<unsigned long long>(run.drop(portsec::kDrops(portsec::Drop::kIp)) + run.drop(portsec::kDrops(portsec::Drop::kMac))),
              static_cast<unsigned long long>(run.drop(DropReason::kFragNoFirst)));
  std::printf("trace-equals-datapath: the autovalidator checked %llu cache hits; mirror copies %llu, filtered out %llu; "
              "over a port's mtu: fragments %llu, too big %llu (answered %llu)\n",
              static_cast<unsigned long long>(run.validated), static_cast<unsigned long long>(run.mirror_copies),
              static_cast<unsigned long long>(run.mirror_filtered), static_cast<unsigned long long>(run.event(E::kTxFragments)),
              static_cast<unsigned long long>(run.drop(DropReason::kTxTooBig)), static_cast<unsigned long long>(run.event(E::kTooBigReplies)));
  EXPECT_GE(run.compared, run.topologies * 10);
  EXPECT_GT(run.validated, 0u);
  if (run.topologies >= 40) {  // every feature reached (a smaller run may miss some)
    for (E e : kFeatures)
      EXPECT_GT(run.event(e), 0u) << "no compared packet did " << pipeline::kEventInfo[static_cast<size_t>(e)].name;
    EXPECT_GT(run.qos_rewritten, 0u);
    EXPECT_GT(run.qos_mismatched, run.qos_rewritten) << "audit mode reached";
    EXPECT_GT(run.drop(DropReason::kPolicyDenied), 0u);
    EXPECT_GT(run.drop(DropReason::kTxTooBig), 0u);
    EXPECT_GT(run.mirror_copies, 0u);
    EXPECT_GT(run.mirror_filtered, 0u);
  }
}

// Table full: every topology feature, with the flow table at capacity; new flows are
// decided per packet without an entry, and trace must say so.
TEST(TraceEqualsDatapath, TableFull) {
  RunStats run{env_u64("IVS_TRACE_SEED", std::random_device{}()), 6};
  std::printf("trace-equals-datapath (table full): seed %llu\n", static_cast<unsigned long long>(run.seed));
  for (int i = 0; i < run.topologies && !HasFatalFailure(); ++i) {
    Rng r(run.seed + static_cast<uint64_t>(i));
    Topology t = generate_topology(r);
    t.table_full = true;
    t.chain = true;  // inspected flows without an entry: the chain's failure mode decides
    t.device_down = false;
    t.fail_open = i % 2;
    const std::string pg = "{name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: {inspect: fw}}";
    std::erase(t.rules, pg);
    t.rules.insert(t.rules.begin(), pg);
    run_topology(run, run.seed + static_cast<uint64_t>(i), &t);
  }
  std::printf("trace-equals-datapath (table full): %d packets compared, %d new flows (with an entry)\n", run.compared, run.new_flows);
  EXPECT_GT(run.refused, 0);
  EXPECT_EQ(run.compared, 6 * 14);
}

// The known wrong answer: the chain's device down, on_failure closed; trace said
// "pending, sent to the device" while the datapath denied the flow.
TEST(TraceEqualsDatapath, DeviceDownFailClosed) {
  Topology t;
  t.chain = true;
  t.device_down = true;
  t.rules = {"{name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: {inspect: fw}}",
             "{name: back, from: vm3, to: vm1, protocol: tcp, ports: [7000], action: {inspect: fw}}"};
  const std::vector<Input> inputs = {
      {kP1, ipv4({kR[0], kVms[0].mac}, kVms[0].ip, kVms[2].ip, packet::kProtoTcp, tcp(40000, 5432, 0x02)), "SYN vm1->vm3"},
      {kP3, ipv4({kR[1], kVms[2].mac}, kVms[2].ip, kVms[0].ip, packet::kProtoTcp, tcp(5432, 40000, 0x12)), "SYN+ACK back"},
      {kP3, ipv4({kR[1], kVms[2].mac}, kVms[2].ip, kVms[0].ip, packet::kProtoTcp, tcp(40001, 7000, 0x02)), "return side SYN"},
  };
  RunStats run{0, 1};
  for (bool open : {false, true}) {
    t.fail_open = open;
    run_topology(run, 1, &t, &inputs);
  }
  EXPECT_EQ(run.compared, 6);
}
