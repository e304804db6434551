#include "forward/static_entries.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "forward/concurrent_table.hpp"

namespace ivs::forward {

namespace {
bool same_key(const FdbKey& a, const FdbKey& b) { return std::memcmp(&a, &b, sizeof(FdbKey)) == 0; }

template <class K>
const std::pair<K, uint64_t>* find_key(const std::vector<std::pair<K, uint64_t>>& list, const K& k) {
  for (const auto& e : list)
    if constexpr (std::is_same_v<K, FdbKey>) {
      if (same_key(e.first, k)) return &e;
    } else if (e.first == k) {
      return &e;
    }
  return nullptr;
}

template <class K>
void diff(const std::vector<std::pair<K, uint64_t>>& running, const std::vector<std::pair<K, uint64_t>>& next,
          std::vector<K>& erase, std::vector<std::pair<K, uint64_t>>& set) {
  for (const auto& e : running)
    if (!find_key(next, e.first)) erase.push_back(e.first);
  for (const auto& e : next)
    if (const auto* was = find_key(running, e.first); !was || was->second != e.second) set.push_back(e);
}
}  // namespace

StaticEntries static_entries(const TopologySpec& topo, const ForwardingTables& tables) {
  StaticEntries s;
  for (const auto& h : topo.hosts) {
    int16_t net = kNoNetwork;
    for (size_t i = 0; i < tables.network_count(); ++i)
      if (tables.network(static_cast<int16_t>(i)).name == h.network) net = static_cast<int16_t>(i);
    const int port = tables.port_index(h.port);
    if (net == kNoNetwork || port < 0) continue;  // (the validator refused such a file)
    FdbKey k{static_cast<uint16_t>(net), {}};
    h.mac.store(k.mac);
    s.fdb.emplace_back(k, FdbEntry{static_cast<uint16_t>(port), true}.encode());
    if (h.ip) s.neighbors.emplace_back(h.ip->value, NeighborEntry{h.mac, true}.encode());
  }
  // A channel's two ends, so that its frames are switched by VLAN + destination MAC.
  for (const auto& ch : tables.channels()) {
    FdbKey k{static_cast<uint16_t>(ch.network), {}};
    ch.agent_mac.store(k.mac);
    s.fdb.emplace_back(k, FdbEntry{ch.agent_port, true}.encode());
    tables.channel_address().mac.store(k.mac);
    s.fdb.emplace_back(k, FdbEntry{ch.host_port, true}.encode());
  }
  return s;
}

StaticEntryChanges plan_static_entries(const StaticEntries& running, const StaticEntries& next) {
  StaticEntryChanges c;
  diff(running.fdb, next.fdb, c.fdb_erase, c.fdb_set);
  diff(running.neighbors, next.neighbors, c.neighbor_erase, c.neighbor_set);
  return c;
}

namespace {
// Bounds the evictions for one entry: a write that still fails after this many is a
// bucket collision that more evictions elsewhere would not mend.
constexpr int kEvictionsPerEntry = 4;

// The key of `table`'s learned entry seen least recently, if it has one.
bool oldest_learned(const ConcurrentTable& table, bool (*is_static)(uint64_t), size_t key_len, uint8_t* out) {
  bool found = false;
  uint32_t oldest = 0;
  table.for_each([&](const void* key, uint64_t value, int32_t pos) {
    if (pos < 0 || is_static(value)) return;
    const uint32_t seen = table.last_seen(pos);
    if (found && seen >= oldest) return;
    found = true;
    oldest = seen;
    std::memcpy(out, key, key_len);
  });
  return found;
}

bool fdb_static(uint64_t v) { return FdbEntry::decode(v).is_static; }
}  // namespace

bool neighbor_static(uint64_t v) { return NeighborEntry::decode(v).is_static; }

void write_static_entry(ConcurrentTable& table, const void* key, size_t key_len, uint64_t value, bool (*is_static)(uint64_t),
                        const std::function<void()>& grace_period, StaticApplyResult& r) {
  for (int attempt = 0;; ++attempt) {
    if (table.upsert(key, value, 0)) return;
    alignas(8) uint8_t victim[kMaxStaticKeyLen];  // (rte_hash's jhash reads keys 4 bytes at a time)
    if (attempt == kEvictionsPerEntry || key_len > sizeof victim || !oldest_learned(table, is_static, key_len, victim)) break;
    table.erase(victim);
    ++r.evicted;
    grace_period();
  }
  ++r.failed;
}

StaticApplyResult apply_static_entries(const StaticEntryChanges& c, ConcurrentTable& fdb, ConcurrentTable& neighbors,
                                       const std::function<void()>& grace_period) {
  StaticApplyResult r;
  for (const auto& k : c.fdb_erase) fdb.erase(&k);
  for (const uint32_t ip : c.neighbor_erase) neighbors.erase(&ip);
  for (const auto& [k, v] : c.fdb_set) write_static_entry(fdb, &k, sizeof k, v, fdb_static, grace_period, r);
  for (const auto& [ip, v] : c.neighbor_set) write_static_entry(neighbors, &ip, sizeof ip, v, neighbor_static, grace_period, r);
  return r;
}

void install_static_entries(const TopologySpec& topo, const ForwardingTables& tables, ConcurrentTable& fdb,
                            ConcurrentTable& neighbors) {
  apply_static_entries(plan_static_entries({}, static_entries(topo, tables)), fdb, neighbors);
}

}  // namespace ivs::forward
