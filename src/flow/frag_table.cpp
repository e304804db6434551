#include "flow/frag_table.hpp"

#include <rte_hash_crc.h>

#include <algorithm>
#include <cstring>

#include "packet/headers.hpp"

namespace ivs::flow {

using namespace ivs::packet;

FragTable::FragTable(uint64_t tsc_hz) : slots_(kCapacity), timeout_tsc_(tsc_hz * kTimeoutS) {}

size_t FragTable::in_use() const {
  return static_cast<size_t>(std::count_if(slots_.begin(), slots_.end(), [](const Entry& e) { return e.expire_tsc != 0; }));
}

FragTable::Entry* FragTable::find(const Key& k, uint32_t h, uint64_t now_tsc) noexcept {
  for (uint32_t i = 0; i < kProbe; ++i) {
    Entry& e = slots_[(h + i) & (kCapacity - 1)];
    if (e.expire_tsc == 0 || std::memcmp(&e.key, &k, sizeof(k)) != 0) continue;
    if (e.expire_tsc <= now_tsc) {  // a datagram that never completed: forgotten
      e.expire_tsc = 0;
      return nullptr;
    }
    return &e;
  }
  return nullptr;
}

FragTable::Entry* FragTable::free_slot(uint32_t h, uint64_t now_tsc) noexcept {
  for (uint32_t i = 0; i < kProbe; ++i) {
    Entry& e = slots_[(h + i) & (kCapacity - 1)];
    if (e.expire_tsc == 0 || e.expire_tsc <= now_tsc) return &e;
  }
  return nullptr;
}

std::optional<DropReason> FragTable::follow(const uint8_t* frame, ParsedPacket& pp, int16_t net, DirectedKey& dk,
                                            uint64_t now_tsc) noexcept {
  Key k;
  std::memset(&k, 0, sizeof(k));
  const bool v4 = pp.ethertype == kEtherTypeIpv4;
  const uint8_t* ip = frame + pp.l3_offset;
  std::memcpy(k.src, ip + (v4 ? 12 : 8), v4 ? 4 : 16);
  std::memcpy(k.dst, ip + (v4 ? 16 : 24), v4 ? 4 : 16);
  k.id = pp.frag_id;
  k.proto = v4 ? pp.ip_proto : 0;  // IPv6: a later fragment's Next Header may differ from the first's
  k.family = v4 ? 4 : 6;
  k.net = net;
  const uint32_t h = rte_hash_crc(&k, sizeof(k), 0);
  Entry* e = find(k, h, now_tsc);
  if (pp.frag_offset == 0) {
    if (e) {  // a second first fragment overlaps the first
      e->poisoned = true;
      return DropReason::kFragOverlap;
    }
    return first(k, h, pp, dk, now_tsc);
  }
  if (!e) return DropReason::kFragNoFirst;
  return later(*e, pp, dk);
}

std::optional<DropReason> FragTable::first(const Key& k, uint32_t h, ParsedPacket& pp, const DirectedKey& dk,
                                           uint64_t now_tsc) noexcept {
  Entry* e = free_slot(h, now_tsc);
  if (!e) return DropReason::kFragTableFull;
  e->key = k;
  e->dk = dk;
  e->expire_tsc = now_tsc + timeout_tsc_ + 1;
  e->end = 0;
  e->sport = pp.src_port;
  e->dport = pp.dst_port;
  e->ip_proto = pp.ip_proto;
  e->poisoned = false;
  e->pieces_n = 1;
  e->pieces[0] = Piece{0, pp.frag_len};
  return std::nullopt;
}

std::optional<DropReason> FragTable::later(Entry& e, ParsedPacket& pp, DirectedKey& dk) noexcept {
  if (e.poisoned) return DropReason::kFragOverlap;
  const uint32_t lo = pp.frag_offset * 8u, hi = lo + pp.frag_len;
  // Overlaps: with a piece seen, past the known end, or a second, different end.
  bool overlap = e.end != 0 && (hi > e.end || !pp.more_fragments);
  for (unsigned i = 0; i < e.pieces_n && !overlap; ++i) {
    overlap = lo < e.pieces[i].hi && e.pieces[i].lo < hi;
    if (!pp.more_fragments && e.pieces[i].hi > hi) overlap = true;  // data beyond the last fragment's end
  }
  if (overlap) {
    e.poisoned = true;
    return DropReason::kFragOverlap;
  }
  // Join the piece to its neighbours; pieces stay sorted and disjoint.
  Piece np{lo, hi};
  unsigned w = 0;
  Piece merged[kMaxPieces + 1];
  bool placed = false;
  for (unsigned i = 0; i < e.pieces_n; ++i) {
    const Piece& p = e.pieces[i];
    if (p.hi == np.lo) { np.lo = p.lo; continue; }
    if (np.hi == p.lo) { np.hi = p.hi; continue; }
    if (!placed && p.lo > np.hi) { merged[w++] = np; placed = true; }
    merged[w++] = p;
  }
  if (!placed) merged[w++] = np;
  if (w > kMaxPieces) return DropReason::kFragTableFull;
  std::sort(merged, merged + w, [](const Piece& a, const Piece& b) { return a.lo < b.lo; });
  std::copy(merged, merged + w, e.pieces);
  e.pieces_n = static_cast<uint8_t>(w);
  if (!pp.more_fragments) e.end = hi;

  dk = e.dk;
  pp.ip_proto = e.ip_proto;
  pp.src_port = e.sport;
  pp.dst_port = e.dport;
  if (e.end != 0 && e.pieces_n == 1 && e.pieces[0].lo == 0 && e.pieces[0].hi == e.end) e.expire_tsc = 0;  // whole: done
  return std::nullopt;
}

}  // namespace ivs::flow
