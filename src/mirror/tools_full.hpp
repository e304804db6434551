#pragma once
// Whether a mirror's tools can take more copies: the broker's word to the datapath.
//
// A copy costs the datapath an mbuf and a memcpy (rte_pktmbuf_copy) and the broker a
// ring slot; a copy no tool can take is thrown away further on. So the broker publishes,
// per mirror slot, "every tool of this mirror is backed up" (a capture stream whose
// reader does not read, the broker's queue toward a tool port full, a group whose members
// all are), and the taps read it with one relaxed load before they copy: while it is set
// the copy is not made, and counted (MirrorCounters::tools_full). The broker sets it at a
// tool's high mark and clears it once the tool drained below its low mark (hysteresis,
// Broker::publish_tools_full), every round, so a tool that recovers gets copies again
// within a broker round (at most its 1 ms idle nap).
//
// The word holds the generation of the mirror whose tools are full (0: none), so a slot
// reused by a new mirror never inherits the old one's state.
//
// Threads: set/clear by the broker thread only; full() by any datapath thread.
#include <array>
#include <atomic>
#include <cstdint>

#include "mirror/tap_record.hpp"

namespace ivs::mirror {

class alignas(64) ToolsFull {
 public:
  bool full(uint8_t slot, uint32_t generation) const noexcept {
    const uint32_t w = word_[slot].load(std::memory_order_relaxed);
    return w != 0 && w == generation;
  }
  // The generation published for `slot` (0: its tools can take copies).
  uint32_t published(uint8_t slot) const noexcept { return word_[slot].load(std::memory_order_relaxed); }
  void set(uint8_t slot, uint32_t generation) noexcept { word_[slot].store(generation, std::memory_order_relaxed); }
  void clear(uint8_t slot) noexcept { word_[slot].store(0, std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint32_t>, kMaxMirrors> word_{};
};

}  // namespace ivs::mirror
