#pragma once
// A mirror's filter judged once per flow (issue 18 item 3; docs/mirrors.md "Filter modes"):
// the verdicts of the filters the analysis proved flow-constant (packet/filter_analysis.hpp),
// kept per flow direction so that the rest of the flow reads the verdict instead of running
// the filter.
//
// Keyed by the frame's own flow-constant bytes, not by the flow entry: the rx taps run as
// a frame is received, before parse and the flow lookup (AttachPoint::kReceive), and the
// tx taps see TxMeta, not the entry, so neither knows the flow's entry. The key is exactly
// the bytes the analysis proved the verdict depends on (protocol, addresses, ports, and a
// tagged frame's TCI, with the layout), so an entry answers exactly for every frame with
// those bytes, at any tap point, whichever flow entry (or none: a flow's first packet
// going up to the policy thread, a denied flow, a full table) it belongs to.
//
// A frame outside both conditions (verdict_key() false: IPv6, fragments, IPv4 options,
// QinQ, protocols without ports) or a layout whose analysis failed is judged per packet.
//
// Owner and threads: one cache per TapStage, so per Forwarder, used by its thread only;
// no sharing, no atomics. Direct-mapped, fixed size, allocated with the stage (never on
// the datapath); a collision replaces the entry (that flow is judged again: exact, only
// slower). Invalidation: each entry holds the id of the mirror set it was judged against
// (MirrorSet::id, unique per compiled set): a mirror added, removed or reloaded publishes
// a new set, and every entry of the old one misses.
#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include "packet/filter_analysis.hpp"

namespace ivs::mirror {

struct VerdictKey {
  uint32_t src, dst;  // as on the wire
  uint32_t ports;     // the 4 bytes after the IPv4 header, as on the wire
  uint8_t proto;
  uint8_t layout;     // packet::FrameLayout
  uint16_t tci;       // a tagged frame's 802.1Q TCI, as on the wire (0 untagged)
  bool operator==(const VerdictKey&) const = default;
};
static_assert(sizeof(VerdictKey) == 16);

// The key of `m` when it satisfies one of the analysis's conditions
// (packet/filter_analysis.hpp): IPv4 without options, not a fragment, TCP/UDP/SCTP,
// untagged or with one 802.1Q tag, the bytes through the ports in the first segment.
inline bool verdict_key(const rte_mbuf* m, VerdictKey& k) noexcept {
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = m->data_len;
  if (len < 38) return false;
  const auto be16 = [](const uint8_t* b) { return static_cast<uint16_t>(b[0] << 8 | b[1]); };
  uint32_t ip;
  if (be16(p + 12) == 0x0800) {
    ip = 14;
    k.layout = static_cast<uint8_t>(packet::FrameLayout::kUntagged);
    k.tci = 0;
  } else if (be16(p + 12) == 0x8100 && len >= 42 && be16(p + 16) == 0x0800) {
    ip = 18;
    k.layout = static_cast<uint8_t>(packet::FrameLayout::kTagged);
    std::memcpy(&k.tci, p + 14, 2);
  } else {
    return false;
  }
  if (p[ip] != 0x45 || (be16(p + ip + 6) & 0x3fff) != 0) return false;  // options; MF or an offset
  k.proto = p[ip + 9];
  if (k.proto != 6 && k.proto != 17 && k.proto != 132) return false;  // ports in the 4 bytes after the header
  std::memcpy(&k.src, p + ip + 12, 4);
  std::memcpy(&k.dst, p + ip + 16, 4);
  std::memcpy(&k.ports, p + ip + 20, 4);
  return true;
}

class VerdictCache {
 public:
  static constexpr uint32_t kEntries = 8192;  // 256 KiB per datapath thread
  // Per mirror of the set (bit = its index in the set): judged, and if so selected.
  struct Entry {
    VerdictKey key;
    uint32_t set_id;  // 0: empty (set ids start at 1)
    uint32_t judged;
    uint32_t selected;
    uint32_t pad;
  };
  static_assert(sizeof(Entry) == 32);

  VerdictCache() : entries_(new Entry[kEntries]()) {}
  // The entry for `k` judged against set `set_id`: found, or taken (emptied for it).
  Entry& at(const VerdictKey& k, uint32_t set_id) noexcept {
    uint64_t h = (uint64_t{k.src} * 0x9e3779b97f4a7c15ull) ^ (uint64_t{k.dst} * 0xc2b2ae3d27d4eb4full) ^
                 (uint64_t{k.ports} * 0x165667b19e3779f9ull) ^ (uint64_t{k.proto} << 8 | k.layout) ^ (uint64_t{k.tci} << 24);
    h ^= h >> 29;
    Entry& e = entries_[(h * 0xbf58476d1ce4e5b9ull) >> 51 & (kEntries - 1)];
    if (e.set_id != set_id || !(e.key == k)) e = Entry{k, set_id, 0, 0, 0};
    return e;
  }

 private:
  std::unique_ptr<Entry[]> entries_;
};

}  // namespace ivs::mirror
