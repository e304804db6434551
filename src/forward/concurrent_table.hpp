#pragma once
// An exact-match table for the datapath on DPDK rte_hash in lock-free reader/writer
// mode: any number of datapath threads read while ONE control thread writes. Deleted
// slots are reclaimed through the datapath's RCU (rte_rcu_qsbr), so a reader never sees
// a slot reused under it. Each entry carries a 64-bit value and a "last seen" second
// stamped by readers (for aging), kept outside the hash to avoid writer involvement.
//
// Threads: lookup()/touch() from datapath threads; everything else from the single
// writer thread (the control thread's table maintenance, under Datapath's table mutex).
#include <atomic>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>

struct rte_hash;
struct rte_rcu_qsbr;

namespace ivs::forward {

class ConcurrentTable {
 public:
  // bulk_readable: values are limited to kValueBits and lookup_bulk() is available
  // (the entry's position is kept in the upper bits).
  static std::expected<std::unique_ptr<ConcurrentTable>, std::string> create(const std::string& name, uint32_t key_len,
                                                                            uint32_t capacity, rte_rcu_qsbr* rcu,
                                                                            bool bulk_readable = false);
  ~ConcurrentTable();
  ConcurrentTable(const ConcurrentTable&) = delete;
  ConcurrentTable& operator=(const ConcurrentTable&) = delete;

  // Reader side. Returns the entry's position (>= 0) and value, or -1.
  int32_t lookup(const void* key, uint64_t& value) const noexcept;
  // Reader side, up to 64 keys at once (DPDK's prefetching bulk lookup). Returns a bit
  // mask of hits; for each hit, values[i] and positions[i] (-1 while the writer has not
  // yet recorded the new entry's position: the caller then just skips touch()).
  // Values must fit in kValueBits: the position rides in the upper bits of the entry.
  static constexpr unsigned kValueBits = 40;
  uint64_t lookup_bulk(const void** keys, uint32_t n, uint64_t* values, int32_t* positions) const noexcept;
  // Stamp the entry as used at `now_s`; writes only when the stamp changes (once a
  // second at most), so hot entries do not bounce cache lines between threads.
  void touch(int32_t pos, uint32_t now_s) noexcept {
    auto& s = last_seen_[pos];
    if (s.load(std::memory_order_relaxed) != now_s) s.store(now_s, std::memory_order_relaxed);
  }

  // Writer side. upsert returns false when the table is full.
  bool upsert(const void* key, uint64_t value, uint32_t now_s);
  bool erase(const void* key);
  uint32_t last_seen(int32_t pos) const { return last_seen_[pos].load(std::memory_order_relaxed); }
  // Visit every entry: fn(key, value, position).
  void for_each(const std::function<void(const void*, uint64_t, int32_t)>& fn) const;
  uint32_t size() const;
  uint32_t capacity() const { return capacity_; }

 private:
  ConcurrentTable() = default;
  void* encode(uint64_t value, int32_t pos) const;
  rte_hash* hash_ = nullptr;
  uint32_t capacity_ = 0;
  uint64_t value_mask_ = ~uint64_t{0};
  std::unique_ptr<std::atomic<uint32_t>[]> last_seen_;
};

}  // namespace ivs::forward
