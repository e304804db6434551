#include "forward/concurrent_table.hpp"

#include "dpdk/memory.hpp"

#include <fmt/format.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_lcore.h>

namespace ivs::forward {

std::expected<std::unique_ptr<ConcurrentTable>, std::string> ConcurrentTable::create(const std::string& name,
                                                                                    uint32_t key_len,
                                                                                    uint32_t capacity,
                                                                                    rte_rcu_qsbr* rcu,
                                                                                    bool bulk_readable) {
  rte_hash_parameters p{};
  p.name = name.c_str();
  p.entries = capacity;
  p.key_len = key_len;
  p.hash_func = rte_jhash;
  p.socket_id = static_cast<int>(rte_socket_id());
  p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  std::unique_ptr<ConcurrentTable> t(new ConcurrentTable());
  t->hash_ = rte_hash_create(&p);
  if (!t->hash_) return std::unexpected(fmt::format("cannot create table {}: {}", name, rte_strerror(rte_errno)));
  dpdk::prefault_hash(t->hash_);  // every key slot now, not on the datapath's first use (dpdk/memory.hpp)
  t->capacity_ = capacity;
  if (bulk_readable) t->value_mask_ = (uint64_t{1} << kValueBits) - 1;
  if (rcu) {
    rte_hash_rcu_config rc{};
    rc.v = rcu;
    rc.mode = RTE_HASH_QSBR_MODE_DQ;  // deletions wait in a defer queue until readers moved on
    if (rte_hash_rcu_qsbr_add(t->hash_, &rc) != 0)
      return std::unexpected(fmt::format("cannot attach RCU to table {}: {}", name, rte_strerror(rte_errno)));
  }
  const int32_t max_id = rte_hash_max_key_id(t->hash_);
  t->last_seen_ = std::make_unique<std::atomic<uint32_t>[]>(static_cast<size_t>(max_id) + 1);
  return t;
}

ConcurrentTable::~ConcurrentTable() {
  if (hash_) rte_hash_free(hash_);
}

void* ConcurrentTable::encode(uint64_t value, int32_t pos) const {
  if (value_mask_ == ~uint64_t{0}) return reinterpret_cast<void*>(static_cast<uintptr_t>(value));
  // Position + 1 in the upper bits; 0 = not recorded yet.
  return reinterpret_cast<void*>(static_cast<uintptr_t>((value & value_mask_) | (uint64_t(pos + 1) << kValueBits)));
}

int32_t ConcurrentTable::lookup(const void* key, uint64_t& value) const noexcept {
  void* data = nullptr;
  const int32_t pos = rte_hash_lookup_data(hash_, key, &data);
  if (pos < 0) return -1;
  value = reinterpret_cast<uintptr_t>(data) & value_mask_;
  return pos;
}

uint64_t ConcurrentTable::lookup_bulk(const void** keys, uint32_t n, uint64_t* values, int32_t* positions) const noexcept {
  uint64_t hits = 0;
  void* data[RTE_HASH_LOOKUP_BULK_MAX];
  if (value_mask_ == ~uint64_t{0}) return 0;  // not created bulk_readable
  if (n == 0 || rte_hash_lookup_bulk_data(hash_, keys, n, &hits, data) < 0) return 0;
  for (uint64_t m = hits; m; m &= m - 1) {
    const unsigned i = static_cast<unsigned>(__builtin_ctzll(m));
    const uint64_t raw = reinterpret_cast<uintptr_t>(data[i]);
    values[i] = raw & value_mask_;
    positions[i] = static_cast<int32_t>(raw >> kValueBits) - 1;
  }
  return hits;
}

bool ConcurrentTable::upsert(const void* key, uint64_t value, uint32_t now_s) {
  // Two steps by the single writer: add (or update) the entry, learn its position, then
  // store value + position; a reader in between sees the value without a position.
  int32_t pos = rte_hash_lookup(hash_, key);
  if (pos < 0) {
    if (rte_hash_add_key_data(hash_, key, encode(value, -1)) != 0) return false;
    pos = rte_hash_lookup(hash_, key);
    if (pos < 0) return false;
  }
  last_seen_[pos].store(now_s, std::memory_order_relaxed);
  return rte_hash_add_key_data(hash_, key, encode(value, pos)) == 0;
}

bool ConcurrentTable::erase(const void* key) { return rte_hash_del_key(hash_, key) >= 0; }

void ConcurrentTable::for_each(const std::function<void(const void*, uint64_t, int32_t)>& fn) const {
  const void* key;
  void* data;
  uint32_t next = 0;
  while (rte_hash_iterate(hash_, &key, &data, &next) >= 0) {
    const int32_t pos = rte_hash_lookup(hash_, key);
    fn(key, reinterpret_cast<uintptr_t>(data) & value_mask_, pos);
  }
}

uint32_t ConcurrentTable::size() const { return static_cast<uint32_t>(rte_hash_count(hash_)); }

}  // namespace ivs::forward
