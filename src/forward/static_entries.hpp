#pragma once
// The configured VMs' (and channels') static MAC-table entries and neighbours, and what a
// reload changes in them: a VM added gets its entries, a VM removed loses them, a VM whose
// MAC, IP, network or port changed has them replaced (a VM moved to another port takes its
// static MAC and IP with it). Planned on the control thread before anything is applied
// (plan_static_entries changes nothing), applied by the tables' single writer.
#include <cstdint>
#include <cstring>
#include <functional>
#include <utility>
#include <vector>

#include "forward/tables.hpp"
#include "forward/topology.hpp"

namespace ivs::forward {

class ConcurrentTable;

// Every static entry `topo` asks for, keyed by `tables`' network and port indices.
struct StaticEntries {
  std::vector<std::pair<FdbKey, uint64_t>> fdb;        // FdbKey -> FdbEntry (is_static)
  std::vector<std::pair<uint32_t, uint64_t>> neighbors;  // IPv4 (host order) -> NeighborEntry (is_static)
};
StaticEntries static_entries(const TopologySpec& topo, const ForwardingTables& tables);

// From the running entries to the next: what to erase (keys the next config no longer has)
// and what to write (keys new or with another value). Nothing else is touched: a learned
// entry stays unless a static one takes its key.
struct StaticEntryChanges {
  std::vector<FdbKey> fdb_erase;
  std::vector<std::pair<FdbKey, uint64_t>> fdb_set;
  std::vector<uint32_t> neighbor_erase;
  std::vector<std::pair<uint32_t, uint64_t>> neighbor_set;
  bool empty() const { return fdb_erase.empty() && fdb_set.empty() && neighbor_erase.empty() && neighbor_set.empty(); }
  // Whether the next config writes this key (a changed entry is erased, then set).
  bool sets_fdb(const FdbKey& k) const {
    for (const auto& [key, v] : fdb_set)
      if (std::memcmp(&key, &k, sizeof(k)) == 0) return true;
    return false;
  }
  bool sets_neighbor(uint32_t ip) const {
    for (const auto& [key, v] : neighbor_set)
      if (key == ip) return true;
    return false;
  }
};
StaticEntryChanges plan_static_entries(const StaticEntries& running, const StaticEntries& next);

// Writer side (the tables' one writer: Datapath's table mutex held). Erases first, so that
// a key moving from one VM to another ends with the next config's value. A table full of
// learned entries does not keep a VM's configured entry out: the learned entry seen least
// recently is evicted (its host's traffic learns it again), `grace_period` waited for (the
// tables free a slot once no datapath thread can still read it) and the write tried again,
// a few times. What it took is returned: entries evicted, and static entries still not
// written (the caller counts and logs them; the plan refuses more static entries than a
// table holds, so that takes a table whose buckets are full, not one full of VMs).
struct StaticApplyResult {
  uint32_t evicted = 0;
  uint32_t failed = 0;
};
// One static entry written that way (keys up to kMaxStaticKeyLen bytes: a MAC-table key,
// an IPv4 or an IPv6 address); is_static tells the table's static entries from learned ones.
constexpr size_t kMaxStaticKeyLen = 16;
void write_static_entry(ConcurrentTable& table, const void* key, size_t key_len, uint64_t value, bool (*is_static)(uint64_t),
                        const std::function<void()>& grace_period, StaticApplyResult& r);
bool neighbor_static(uint64_t v);  // a NeighborEntry's static flag
StaticApplyResult apply_static_entries(const StaticEntryChanges& c, ConcurrentTable& fdb, ConcurrentTable& neighbors,
                                       const std::function<void()>& grace_period = [] {});

}  // namespace ivs::forward
