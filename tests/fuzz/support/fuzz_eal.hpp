#pragma once
// What the fuzz targets share: the DPDK EAL brought up once per process (for the targets
// that need a mempool, rings, rte_malloc or a Datapath), and mbufs backed by heap buffers.
//
// Why heap mbufs: an mbuf from a pool lives inside one large memfd mapping that ASan
// cannot see into, so a read past the frame's buffer goes unnoticed. These are real
// `struct rte_mbuf`s (the inline mbuf functions work on them: mtod, append, prepend,
// trim, adj, vlan_strip, the rte_bpf loads), each segment's buffer a heap block of exactly
// headroom + data + tailroom bytes: one byte outside it is an ASan report.
#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace ivs::fuzz {

// Starts the EAL (--no-huge --no-shconf, as tests/support/eal_environment.cpp) the first
// time it is called; later calls do nothing. `lcores`: "0", or "0-1" for a Datapath (its
// datapath thread needs a worker lcore; it is never launched). Aborts when the EAL fails.
void eal_up(const char* lcores = "0");

// A chain of heap-backed mbufs holding `frame`, cut into segments at `cuts` (offsets into
// the frame, increasing; empty = one segment). The first segment has `headroom` bytes in
// front, the last `tailroom` bytes behind. Owns the buffers.
class HeapMbuf {
 public:
  HeapMbuf(std::span<const uint8_t> frame, std::span<const uint32_t> cuts = {}, uint16_t headroom = RTE_PKTMBUF_HEADROOM,
           uint16_t tailroom = 0);
  ~HeapMbuf();
  HeapMbuf(const HeapMbuf&) = delete;
  HeapMbuf& operator=(const HeapMbuf&) = delete;
  rte_mbuf* get() { return segs_.front().get(); }
  // The frame as it is now (all segments), for checks after the code under test ran.
  std::vector<uint8_t> bytes() const;

 private:
  std::vector<std::unique_ptr<rte_mbuf>> segs_;
  std::vector<std::unique_ptr<uint8_t[]>> bufs_;
};

}  // namespace ivs::fuzz
