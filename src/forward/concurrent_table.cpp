#include "forward/concurrent_table.hpp"

#include <fmt/format.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_lcore.h>

namespace ivs::forward {

std::expected<std::unique_ptr<ConcurrentTable>, std::string> ConcurrentTable::create(const std::string& name,
                                                                                    uint32_t key_len,
                                                                                    uint32_t capacity,
                                                                                    rte_rcu_qsbr* rcu) {
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
  t->capacity_ = capacity;
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

int32_t ConcurrentTable::lookup(const void* key, uint64_t& value) const noexcept {
  void* data = nullptr;
  const int32_t pos = rte_hash_lookup_data(hash_, key, &data);
  if (pos < 0) return -1;
  value = reinterpret_cast<uintptr_t>(data);
  return pos;
}

bool ConcurrentTable::upsert(const void* key, uint64_t value, uint32_t now_s) {
  if (rte_hash_add_key_data(hash_, key, reinterpret_cast<void*>(static_cast<uintptr_t>(value))) != 0) return false;
  const int32_t pos = rte_hash_lookup(hash_, key);
  if (pos >= 0) last_seen_[pos].store(now_s, std::memory_order_relaxed);
  return true;
}

bool ConcurrentTable::erase(const void* key) { return rte_hash_del_key(hash_, key) >= 0; }

void ConcurrentTable::for_each(const std::function<void(const void*, uint64_t, int32_t)>& fn) const {
  const void* key;
  void* data;
  uint32_t next = 0;
  while (rte_hash_iterate(hash_, &key, &data, &next) >= 0) {
    const int32_t pos = rte_hash_lookup(hash_, key);
    fn(key, reinterpret_cast<uintptr_t>(data), pos);
  }
}

uint32_t ConcurrentTable::size() const { return static_cast<uint32_t>(rte_hash_count(hash_)); }

}  // namespace ivs::forward
