#pragma once
// What a datapath thread hands to the broker for each copy it made at a tap point.
#include <rte_mbuf.h>

#include <cstdint>

namespace ivs::mirror {

inline constexpr size_t kMaxMirrors = 32;
enum TapDirection : uint8_t { kRx = 1, kTx = 2 };  // as pcapng's EPB direction flags

struct TapRecord {
  rte_mbuf* copy;      // from the mirror pool; snaplen applied; the broker frees it
  uint32_t orig_len;   // the frame's length before slicing
  uint16_t port;       // tap port (index)
  uint8_t slot;        // the mirror's counter slot
  uint8_t direction;   // TapDirection
  uint32_t generation; // the mirror's, so copies queued before a slot was reused are dropped
  uint64_t tsc;        // when it was seen
};

// A copy the broker sends out of a tool port: queued to the datapath thread that owns the
// port, which transmits it with its own tx queue (no tx queue is shared with the broker).
struct ToolPacket {
  rte_mbuf* m;
  uint16_t port;
  uint8_t slot, tool;
};

}  // namespace ivs::mirror
