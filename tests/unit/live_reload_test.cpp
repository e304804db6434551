// VMs changed by a reload (issue 19, first step): the static entries planned from the
// running topology to the next (added, removed, moved, readdressed), the staging that says
// what a reload may change, and the whole reload on the real forwarder: port security, the
// MAC table and the neighbours follow the next VMs, a refused reload changes nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "config/core_specs.hpp"
#include "config/loader.hpp"
#include "config/runtime_changes.hpp"
#include "forward/static_entries.hpp"
#include "forward/static_neighbors6.hpp"
#include "portsec/reasons.hpp"
#include "support/forwarder_rig.hpp"
#include "support/packet_builder.hpp"

using namespace ivs;
using namespace ivs::test;

namespace {

// p0: vm1, p1: vm2, p2: declared for a VM to come (port security on, no VM yet), p3: open.
constexpr const char* kPorts = R"(
ports:
  - {name: p0, type: discard, network: web}
  - {name: p1, type: discard, network: web}
  - {name: p2, type: discard, network: web, port_security: true}
  - {name: p3, type: discard, network: web, port_security: false}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
policy:
  default: allow
)";
const std::string kVm1 = R"(  - {name: vm1, port: p0, mac: "02:00:00:00:01:01", ip: 10.0.1.11}
)";
const std::string kVm2 = R"(  - {name: vm2, port: p1, mac: "02:00:00:00:01:02", ip: 10.0.1.12}
)";
const std::string kVm3 = R"(  - {name: vm3, port: p2, mac: "02:00:00:00:01:03", ip: 10.0.1.13}
)";
std::string with_vms(std::initializer_list<std::string> vms) {
  std::string s = std::string(kPorts) + "vms:\n";
  for (const auto& v : vms) s += v;
  return s;
}
const MacAddr kMac1 = mac("02:00:00:00:01:01"), kMac2 = mac("02:00:00:00:01:02"), kMac3 = mac("02:00:00:00:01:03");

// `s` with the first `from` replaced by `to`.
std::string edit(std::string s, const std::string& from, const std::string& to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

config::Config load(const std::string& yaml) {
  auto c = config::load_string(yaml, "t.yaml");
  if (!c) throw std::runtime_error(c.error().front());
  return std::move(*c);
}

forward::FdbKey key(MacAddr m) {
  forward::FdbKey k{0, {}};
  m.store(k.mac);
  return k;
}
bool has_key(const std::vector<forward::FdbKey>& v, MacAddr m) {
  const auto k = key(m);
  return std::any_of(v.begin(), v.end(), [&](const forward::FdbKey& x) { return std::memcmp(&x, &k, sizeof k) == 0; });
}
// The port a written MAC entry points at (-1: not written).
int written_port(const forward::StaticEntryChanges& c, MacAddr m) {
  const auto k = key(m);
  for (const auto& [x, v] : c.fdb_set)
    if (std::memcmp(&x, &k, sizeof k) == 0) return forward::FdbEntry::decode(v).port;
  return -1;
}

struct Planner {
  std::unique_ptr<forward::ForwardingTables> tables = std::move(*forward::ForwardingTables::build(config::topology_spec(load(with_vms({})))));
  forward::StaticEntryChanges plan(const std::string& from, const std::string& to) {
    return forward::plan_static_entries(forward::static_entries(config::topology_spec(load(from)), *tables),
                                        forward::static_entries(config::topology_spec(load(to)), *tables));
  }
};

Bytes udp_from(MacAddr src_mac, const char* src, MacAddr dst_mac, const char* dst) {
  return ipv4({dst_mac, src_mac}, ip4(src), ip4(dst), packet::kProtoUdp, udp(1000, 2000));
}

}  // namespace

TEST(LiveVms, StaticEntriesOfAVmAddedRemovedMovedAndReaddressed) {
  Planner p;
  const auto same = p.plan(with_vms({kVm1, kVm2}), with_vms({kVm1, kVm2}));
  EXPECT_TRUE(same.empty());

  const auto added = p.plan(with_vms({kVm1, kVm2}), with_vms({kVm1, kVm2, kVm3}));
  EXPECT_TRUE(added.fdb_erase.empty());
  EXPECT_TRUE(added.neighbor_erase.empty());
  ASSERT_EQ(added.fdb_set.size(), 1u);  // vm1 and vm2 untouched
  EXPECT_EQ(written_port(added, kMac3), 2);
  ASSERT_EQ(added.neighbor_set.size(), 1u);
  EXPECT_EQ(added.neighbor_set[0].first, ip4("10.0.1.13"));

  const auto removed = p.plan(with_vms({kVm1, kVm2, kVm3}), with_vms({kVm1, kVm2}));
  EXPECT_TRUE(removed.fdb_set.empty());
  EXPECT_TRUE(removed.neighbor_set.empty());
  ASSERT_EQ(removed.fdb_erase.size(), 1u);
  EXPECT_TRUE(has_key(removed.fdb_erase, kMac3));
  EXPECT_EQ(removed.neighbor_erase, std::vector<uint32_t>{ip4("10.0.1.13")});

  // vm2 moved from p1 to p3: its MAC now points at p3, nothing erased, its IP kept.
  std::string moved = kVm2;
  moved.replace(moved.find("p1"), 2, "p3");
  const auto mv = p.plan(with_vms({kVm1, kVm2}), with_vms({kVm1, moved}));
  EXPECT_TRUE(mv.fdb_erase.empty());
  EXPECT_EQ(written_port(mv, kMac2), 3);
  EXPECT_TRUE(mv.neighbor_set.empty());
  EXPECT_TRUE(mv.neighbor_erase.empty());

  // vm2 with another MAC and IP: the old MAC and IP erased, the new ones written.
  std::string readdressed = kVm2;
  readdressed.replace(readdressed.find("01:02"), 5, "01:22");
  readdressed.replace(readdressed.find("10.0.1.12"), 9, "10.0.1.22");
  const auto re = p.plan(with_vms({kVm1, kVm2}), with_vms({kVm1, readdressed}));
  EXPECT_TRUE(has_key(re.fdb_erase, kMac2));
  EXPECT_EQ(written_port(re, mac("02:00:00:00:01:22")), 1);
  EXPECT_EQ(re.neighbor_erase, std::vector<uint32_t>{ip4("10.0.1.12")});
  ASSERT_EQ(re.neighbor_set.size(), 1u);
  EXPECT_EQ(re.neighbor_set[0].first, ip4("10.0.1.22"));
}

TEST(LiveVms, StagingTakesTheVmsAndRefusesTheRestWithThePartAtFault) {
  const auto running = load(with_vms({kVm1, kVm2}));
  auto staged = config::stage_runtime_changes(running, load(with_vms({kVm1, kVm2, kVm3})));
  ASSERT_TRUE(staged) << staged.error();
  ASSERT_EQ(staged->cfg->vms.size(), 3u);
  EXPECT_EQ(staged->cfg->vms[2].name, "vm3");
  ASSERT_EQ(staged->spec.topology.hosts.size(), 3u);
  EXPECT_EQ(staged->spec.topology.hosts[2].port, "p2");

  // A port still may not change.
  const std::string port_changed = edit(with_vms({kVm1, kVm2}), "p3, type: discard,", "p3, type: discard, mtu: 9000,");
  auto refused = config::stage_runtime_changes(running, load(port_changed));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().rfind("port 'p3' differs: only policy, chains, qos.assign, mirrors and VMs change at runtime", 0), 0u)
      << refused.error();

  // Every field of a port is compared, not only those the forwarding tables hold: a vhost
  // port's mode (the socket's side) and a port's pcap file were once silently kept.
  const std::string vhost = edit(with_vms({kVm1, kVm2}), "ports:\n",
                                 "ports:\n  - {name: v0, type: vhost-user, path: /tmp/ivs-unit-v0.sock, network: web, port_security: false}\n");
  const auto with_vhost = load(vhost);
  ASSERT_TRUE(config::stage_runtime_changes(with_vhost, load(vhost))) << "the same file must stage";
  auto mode = config::stage_runtime_changes(with_vhost, load(edit(vhost, "port_security: false}", "port_security: false, mode: client}")));
  ASSERT_FALSE(mode);
  EXPECT_EQ(mode.error().rfind("port 'v0' differs", 0), 0u) << mode.error();
  const std::string pcap = edit(with_vms({kVm1, kVm2}), "ports:\n",
                                "ports:\n  - {name: c0, type: pcap, tx_file: /tmp/ivs-unit-out.pcap, network: web, port_security: false}\n");
  auto file = config::stage_runtime_changes(load(pcap), load(edit(pcap, "ivs-unit-out.pcap", "ivs-unit-other.pcap")));
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().rfind("port 'c0' differs", 0), 0u) << file.error();

  // The last VM of a port whose port security is on by default: it would turn off.
  auto opens = config::stage_runtime_changes(running, load(with_vms({kVm1})));
  ASSERT_FALSE(opens);
  EXPECT_NE(opens.error().find("port 'p1': its port_security would turn off"), std::string::npos) << opens.error();

  // With qos on, the VMs of the start keep their place (the guard's per-VM counters are by
  // position, sized at start): vm3 may be added after them and removed, vm1 may not go.
  const std::string qos = "qos:\n  assign:\n    - {name: all, network: web, dscp: CS2}\n";
  ForwarderRig rig(with_vms({kVm1, kVm2}) + qos);
  ASSERT_TRUE(rig.reload_staged(with_vms({kVm1, kVm2, kVm3}) + qos, 2));
  ASSERT_TRUE(rig.reload_staged(with_vms({kVm1, kVm2}) + qos, 3));
  auto qos_refused = rig.reload_staged(edit(with_vms({kVm2, kVm1}), "p0, type: discard,", "p0, type: discard, port_security: true,") + qos, 4);
  ASSERT_FALSE(qos_refused);
  EXPECT_NE(qos_refused.error().find("with qos on, the VMs configured at start keep their names and order"), std::string::npos)
      << qos_refused.error();
  // vm3, added after the start's VMs, counts with the senders that are not configured VMs.
  ASSERT_TRUE(rig.reload_staged(with_vms({kVm1, kVm2, kVm3}) + qos, 5));
  rig.send(2, udp_from(kMac3, "10.0.1.13", kMac1, "10.0.1.11"));
  ASSERT_EQ(rig.take(0).size(), 1u);
  EXPECT_EQ(rig.qos_counters().vms.back().seen[0].get(), 1u);
}

TEST(LiveVms, AReloadAddsMovesAndRemovesAVmOnTheForwarder) {
  ForwarderRig rig(with_vms({kVm1, kVm2}));
  auto passes = [&](uint16_t port, const Bytes& frame) {
    rig.send(port, frame);
    int out = -1;
    for (uint16_t p = 0; p < 4; ++p)
      if (!rig.take(p).empty()) out = p;
    return out;
  };
  const auto from_vm3 = udp_from(kMac3, "10.0.1.13", kMac1, "10.0.1.11");
  // p2 awaits its VM: every frame dropped.
  EXPECT_EQ(passes(2, from_vm3), -1);
  EXPECT_EQ(rig.drops(2, portsec::kDrops(portsec::Drop::kMac)), 1u);

  // vm3 added: it sends, and frames to it go to p2 (its static MAC), not flooded.
  ASSERT_TRUE(rig.reload_staged(with_vms({kVm1, kVm2, kVm3}), 2));
  EXPECT_EQ(passes(2, from_vm3), 0);
  EXPECT_EQ(passes(0, udp_from(kMac1, "10.0.1.11", kMac3, "10.0.1.13")), 2);
  uint64_t raw = 0;
  const uint32_t ip3 = ip4("10.0.1.13");
  ASSERT_GE(rig.neighbors().lookup(&ip3, raw), 0);
  EXPECT_TRUE(forward::NeighborEntry::decode(raw).is_static);

  // vm2 moved from p1 to p3: its frames are taken on p3 (not dropped as a static MAC seen
  // elsewhere), frames to it leave on p3, and its old port no longer takes them.
  std::string moved = kVm2;
  moved.replace(moved.find("p1"), 2, "p3");
  // (p1 keeps its port security: declared on in this file)
  const std::string secured = "p1, type: discard, port_security: true,";
  const std::string next = edit(with_vms({kVm1, moved, kVm3}), "p1, type: discard,", secured);
  const std::string before = edit(with_vms({kVm1, kVm2, kVm3}), "p1, type: discard,", secured);
  ASSERT_TRUE(rig.reload_staged(before, 3));
  ASSERT_TRUE(rig.reload_staged(next, 4));
  const auto from_vm2 = udp_from(kMac2, "10.0.1.12", kMac1, "10.0.1.11");
  EXPECT_EQ(passes(3, from_vm2), 0);
  EXPECT_EQ(passes(1, from_vm2), -1);
  EXPECT_EQ(passes(0, udp_from(kMac1, "10.0.1.11", kMac2, "10.0.1.12")), 3);

  // vm3 removed: its static MAC gone, p2 drops its frames again (port security on, no VM).
  const std::string gone = edit(with_vms({kVm1, moved}), "p1, type: discard,", secured);
  const uint64_t dropped = rig.drops(2, portsec::kDrops(portsec::Drop::kMac));
  ASSERT_TRUE(rig.reload_staged(gone, 5));
  EXPECT_EQ(passes(2, from_vm3), -1);
  EXPECT_EQ(rig.drops(2, portsec::kDrops(portsec::Drop::kMac)), dropped + 1);
  forward::FdbKey k3 = key(kMac3);
  EXPECT_LT(rig.fdb().lookup(&k3, raw), 0);
  EXPECT_LT(rig.neighbors().lookup(&ip3, raw), 0);
}

TEST(LiveVms, ARefusedReloadChangesNothing) {
  ForwarderRig rig(with_vms({kVm1, kVm2}));
  // vm3 added and a port changed in the same file: refused whole, vm3 never installed.
  const std::string bad = edit(with_vms({kVm1, kVm2, kVm3}), "p3, type: discard,", "p3, type: discard, mtu: 9000,");
  auto r = rig.reload_staged(bad, 2);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("port 'p3' differs"), std::string::npos) << r.error();
  forward::FdbKey k3 = key(kMac3);
  uint64_t raw = 0;
  EXPECT_LT(rig.fdb().lookup(&k3, raw), 0);
  rig.send(2, udp_from(kMac3, "10.0.1.13", kMac1, "10.0.1.11"));
  EXPECT_EQ(rig.drops(2, portsec::kDrops(portsec::Drop::kMac)), 1u);
  EXPECT_EQ(rig.slow_path().epoch(), 1u);
}

namespace {
// An FDB as the datapath makes it (lock-free readers, slots freed after an RCU grace
// period) of 1024 entries, filled as full as it gets (keys tried until the table holds
// 1024 or 20000 were tried: a cuckoo table refuses some keys before it is full), with
// learned entries, the n-th written seen last at second n + 1 (`written[0]` is the least
// recently seen), or with static ones.
struct FullFdb {
  rte_rcu_qsbr* rcu = nullptr;
  std::unique_ptr<forward::ConcurrentTable> fdb, neighbors;
  std::vector<forward::FdbKey> written;
  FullFdb(const char* name, bool learned) {
    rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc(nullptr, rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE));
    rte_rcu_qsbr_init(rcu, 1);
    fdb = std::move(*forward::ConcurrentTable::create(std::string(name) + "_fdb", sizeof(forward::FdbKey), 1024, rcu, true));
    neighbors = std::move(*forward::ConcurrentTable::create(std::string(name) + "_nb", 4, 1024, rcu));
    for (uint32_t i = 0; i < 20000 && written.size() < 1024; ++i) {
      const forward::FdbKey k = key_of(0x0a000000 + i);
      if (fdb->upsert(&k, forward::FdbEntry{1, !learned}.encode(), static_cast<uint32_t>(written.size()) + 1)) written.push_back(k);
    }
  }
  ~FullFdb() {
    fdb.reset();
    neighbors.reset();
    rte_free(rcu);
  }
  static forward::FdbKey key_of(uint32_t n) {
    forward::FdbKey k{0, {}};
    MacAddr m = mac("0a:00:00:00:00:00");
    for (int b = 0; b < 4; ++b) m.bytes[2 + b] = static_cast<uint8_t>(n >> (24 - 8 * b));
    m.store(k.mac);
    return k;
  }
  bool has(const forward::FdbKey& k, bool want_static) const {
    uint64_t raw = 0;
    return fdb->lookup(&k, raw) >= 0 && forward::FdbEntry::decode(raw).is_static == want_static;
  }
  // 64 VMs' static MAC entries, none of them in the table yet.
  static forward::StaticEntryChanges new_vms() {
    forward::StaticEntryChanges c;
    for (uint32_t i = 0; i < 64; ++i) c.fdb_set.emplace_back(key_of(0x02000000 + i), forward::FdbEntry{2, true}.encode());
    return c;
  }
};
}  // namespace

// Review finding (issue 19): a reload's static entries were written with the write's
// result ignored, so a MAC table full of learned entries silently kept a new VM's static
// MAC out (its frames then learned like any host's). Now learned entries, the least
// recently seen first, make room, one grace period each.
TEST(LiveVms, VmsStaticEntriesEvictTheLeastRecentlySeenLearnedOnesFromAFullTable) {
  FullFdb t("evict", /*learned=*/true);
  ASSERT_GT(t.written.size(), 1000u);
  const auto c = FullFdb::new_vms();
  int grace_periods = 0;
  const auto r = forward::apply_static_entries(c, *t.fdb, *t.neighbors, [&] {
    rte_rcu_qsbr_synchronize(t.rcu, RTE_QSBR_THRID_INVALID);
    ++grace_periods;
  });
  EXPECT_EQ(r.failed, 0u);
  // At most 1024 - written fit without evicting.
  EXPECT_GE(r.evicted, 64u - (1024u - t.written.size()));
  EXPECT_EQ(grace_periods, static_cast<int>(r.evicted));
  for (const auto& [k, v] : c.fdb_set) EXPECT_TRUE(t.has(k, true));
  // The evicted are the oldest, in order; the rest stay.
  for (size_t i = 0; i < t.written.size(); ++i) EXPECT_EQ(t.has(t.written[i], false), i >= r.evicted) << i;
}

TEST(LiveVms, StaticEntriesThatFindOnlyStaticOnesAreCountedAsFailedAndEvictNothing) {
  FullFdb t("nofit", /*learned=*/false);
  ASSERT_GT(t.written.size(), 1000u);
  const auto r = forward::apply_static_entries(FullFdb::new_vms(), *t.fdb, *t.neighbors);
  EXPECT_EQ(r.evicted, 0u);
  EXPECT_GE(r.failed, 64u - (1024u - t.written.size()));
  for (const auto& k : t.written) EXPECT_TRUE(t.has(k, true));
}

// The same for the VMs' IPv6 addresses (static IPv6 neighbours, forward/static_neighbors6):
// a table full of learned neighbours makes room, least recently seen first; a removed
// VM's address is listed for the reload's second erase.
TEST(LiveVms, StaticIpv6NeighboursEvictLearnedOnesFromAFullTableAndRemovedOnesAreListed) {
  rte_rcu_qsbr* rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc(nullptr, rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE));
  rte_rcu_qsbr_init(rcu, 1);
  auto table = std::move(*forward::ConcurrentTable::create("evict_nb6", 16, 1024, rcu));
  auto addr = [](uint32_t prefix, uint32_t n) {
    std::array<uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8};
    for (int b = 0; b < 4; ++b) a[4 + b] = static_cast<uint8_t>(prefix >> (24 - 8 * b));
    for (int b = 0; b < 4; ++b) a[12 + b] = static_cast<uint8_t>(n >> (24 - 8 * b));
    return a;
  };
  std::vector<std::array<uint8_t, 16>> learned;
  for (uint32_t i = 0; i < 20000 && learned.size() < 1024; ++i) {
    alignas(8) const auto a = addr(1, i);  // (rte_hash's jhash reads keys 4 bytes at a time)
    if (table->upsert(a.data(), forward::NeighborEntry{kMac1, false}.encode(), static_cast<uint32_t>(learned.size()) + 1))
      learned.push_back(a);
  }
  ASSERT_GT(learned.size(), 1000u);
  forward::StaticNeighbors6 next;
  for (uint32_t i = 0; i < 64; ++i) next.emplace_back(addr(2, i), forward::NeighborEntry{kMac2, true}.encode());
  const auto r = forward::apply_static_neighbors6({}, next, *table, [&] { rte_rcu_qsbr_synchronize(rcu, RTE_QSBR_THRID_INVALID); });
  EXPECT_EQ(r.failed, 0u);
  EXPECT_GE(r.evicted, 64u - (1024u - learned.size()));
  uint64_t raw = 0;
  for (const auto& [a, v] : next) EXPECT_TRUE(table->lookup(a.data(), raw) >= 0 && forward::NeighborEntry::decode(raw).is_static);
  for (size_t i = 0; i < learned.size(); ++i) EXPECT_EQ(table->lookup(learned[i].data(), raw) >= 0, i >= r.evicted) << i;
  // One VM address fewer: it is the one listed as removed.
  forward::StaticNeighbors6 fewer(next.begin() + 1, next.end());
  const auto removed = forward::removed_neighbors6(next, fewer);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], next[0].first);
  table.reset();
  rte_free(rcu);
}
