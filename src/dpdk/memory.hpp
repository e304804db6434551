#pragma once
// Memory the datapath writes is touched once at start (prefault), so that no datapath
// thread takes a page fault under traffic: a page fault is a kernel allocation on the
// datapath (and, without hugepages, RSS that grows long after start). And what the
// control thread reports about it: the process's resident memory by kind, DPDK's heap,
// and a thread's page faults, read from /proc (never by a datapath thread).
//
// Why it is needed: without hugepages (switch.hugepages off, or auto with too few free)
// DPDK's memory is a memfd of 4 KB pages that the kernel allocates on first write, and
// rte_zmalloc does not clear memory that was never used (it is known to be zero), so a
// table is not resident until each of its pages is written. rte_hash hands out key slots
// from a ring that cycles through the whole key store, so a flow table reaches new pages
// for a long time. Hugepages are faulted in by DPDK when it maps them, but the same
// touch costs nothing there.
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

struct rte_hash;

namespace ivs::dpdk {

// Writes every page of [addr, addr + len) with an atomic add of 0 (contents unchanged,
// safe even if another thread writes the same memory). Returns the bytes covered.
size_t prefault(void* addr, size_t len) noexcept;
// Every DPDK memzone: rings (of the switch, of rte_hash's free slots, of drivers) and
// mempools (objects, their rings and per-lcore caches). Returns the bytes covered.
size_t prefault_memzones() noexcept;
// An rte_hash's key store, buckets and free-slot ring, by clearing it (rte_hash_reset).
// Only on a table nobody uses yet: before its first insert, before readers start.
void prefault_hash(rte_hash* h) noexcept;
// The calling thread's stack, `bytes` below the current frame.
void prefault_stack(size_t bytes) noexcept;

struct ProcessMemory {
  uint64_t rss_kb = 0, rss_anon_kb = 0, rss_file_kb = 0, rss_shmem_kb = 0, hugetlb_kb = 0;
};
ProcessMemory read_process_memory();  // /proc/self/status

struct ThreadFaults {
  uint64_t minor = 0, major = 0;
  bool ok = false;
};
ThreadFaults read_thread_faults(pid_t tid);  // /proc/self/task/TID/stat

struct HeapStats {
  uint64_t total_bytes = 0, allocated_bytes = 0, free_bytes = 0, greatest_free_bytes = 0;
};
HeapStats read_heap_stats();  // rte_malloc_get_socket_stats, summed over sockets

}  // namespace ivs::dpdk
