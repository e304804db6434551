#pragma once
// Per datapath thread exact-match cache in front of the flow table (the EMC idea of
// OVS's dpif-netdev): a direct-mapped array indexed by the flow key's hash. A hit needs
// the slot's hash, the entry's generation (bumped when the entry is removed) and the
// entry's key to match; anything else is a miss that falls back to the flow table, whose
// hits refill the slot.
//
// Why it is safe without locks: an entry's generation is odd from its removal until it is
// published again (FlowTable), so a removed entry never hits and is never cached, even by
// a thread that found it in the table just before the removal; a reused entry has a new
// even generation, so old slots miss. Reuse waits for an RCU grace period, i.e. until this
// thread finished the burst in which it might have passed the generation check.
//
// Thread: one per datapath thread; never shared.
#include <cstdint>
#include <memory>

#include "flow/flow_table.hpp"

namespace ivs::flow {

class ExactMatchCache {
 public:
  static constexpr uint32_t kSlots = 8192;  // 128 KB

  ExactMatchCache() : slots_(std::make_unique<Slot[]>(kSlots)) {}

  FlowEntry* lookup(const FlowKey& key, uint32_t hash) const noexcept {
    const Slot& s = slots_[hash & (kSlots - 1)];
    if (s.hash != hash || !s.entry) return nullptr;
    FlowEntry* e = s.entry;
    const uint32_t g = e->gen.load(std::memory_order_acquire);
    if ((g & 1) || g != s.gen || !(e->key == key)) return nullptr;
    return e;
  }
  // Only one miss in kInsertEvery is inserted (OVS: emc-insert-inv-prob): with more flows
  // than slots, inserting every miss would evict hot entries for flows seen once.
  static constexpr uint32_t kInsertEvery = 8;
  void insert(uint32_t hash, FlowEntry* e) noexcept {
    if (++misses_ % kInsertEvery != 0 && slots_[hash & (kSlots - 1)].entry) return;  // empty slots fill at once
    const uint32_t g = e->gen.load(std::memory_order_acquire);
    if (g & 1) return;  // removed meanwhile
    slots_[hash & (kSlots - 1)] = Slot{e, hash, g};
  }

 private:
  struct Slot {
    FlowEntry* entry = nullptr;
    uint32_t hash = 0;
    uint32_t gen = 0;
  };
  std::unique_ptr<Slot[]> slots_;
  uint32_t misses_ = 0;
};

}  // namespace ivs::flow
