#include "dpdk/memory.hpp"

#include <rte_hash.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_memzone.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ivs::dpdk {

namespace {
size_t page_size() {
  static const size_t ps = [] {
    const long v = sysconf(_SC_PAGESIZE);
    return v > 0 ? static_cast<size_t>(v) : size_t{4096};
  }();
  return ps;
}
}  // namespace

size_t prefault(void* addr, size_t len) noexcept {
  if (!addr || len == 0) return 0;
  const size_t ps = page_size();
  auto* p = static_cast<unsigned char*>(addr);
  auto* end = p + len;
  // The first byte of each page the range covers (the range need not be page aligned).
  for (auto* q = p; q < end; q = reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(q) | (ps - 1)) + 1))
    __atomic_fetch_add(q, static_cast<unsigned char>(0), __ATOMIC_RELAXED);
  return len;
}

size_t prefault_memzones() noexcept {
  size_t bytes = 0;
  rte_memzone_walk([](const rte_memzone* mz, void* arg) { *static_cast<size_t*>(arg) += prefault(mz->addr, mz->len); },
                   &bytes);
  return bytes;
}

void prefault_hash(rte_hash* h) noexcept {
  // rte_hash_reset clears the buckets (and extendable buckets) and the whole key store
  // with memset, and refills the free-slot ring: every page the table will ever write.
  if (h) rte_hash_reset(h);
}

__attribute__((noinline)) void prefault_stack(size_t bytes) noexcept {
  auto* buf = static_cast<volatile unsigned char*>(__builtin_alloca(bytes));
  for (size_t i = 0; i < bytes; i += 512) buf[i] = 0;
  buf[bytes - 1] = 0;
}

ProcessMemory read_process_memory() {
  ProcessMemory m;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string key;
    uint64_t v = 0;
    ls >> key >> v;
    if (key == "VmRSS:") m.rss_kb = v;
    else if (key == "RssAnon:") m.rss_anon_kb = v;
    else if (key == "RssFile:") m.rss_file_kb = v;
    else if (key == "RssShmem:") m.rss_shmem_kb = v;
    else if (key == "HugetlbPages:") m.hugetlb_kb = v;
  }
  return m;
}

ThreadFaults read_thread_faults(pid_t tid) {
  ThreadFaults f;
  if (tid <= 0) return f;
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string s;
  if (!std::getline(in, s)) return f;
  // pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt ...; the
  // name may hold spaces and parentheses: fields start after the last ')'.
  const auto close = s.rfind(')');
  if (close == std::string::npos) return f;
  std::istringstream ls(s.substr(close + 1));
  std::string state;
  uint64_t ppid, pgrp, session, tty, tpgid, flags, minflt, cminflt, majflt;
  if (!(ls >> state >> ppid >> pgrp >> session >> tty >> tpgid >> flags >> minflt >> cminflt >> majflt)) return f;
  f.minor = minflt;
  f.major = majflt;
  f.ok = true;
  return f;
}

HeapStats read_heap_stats() {
  HeapStats h;
  for (int socket = 0; socket < RTE_MAX_NUMA_NODES; ++socket) {
    rte_malloc_socket_stats s{};
    if (rte_malloc_get_socket_stats(socket, &s) != 0) continue;
    h.total_bytes += s.heap_totalsz_bytes;
    h.allocated_bytes += s.heap_allocsz_bytes;
    h.free_bytes += s.heap_freesz_bytes;
    h.greatest_free_bytes = std::max<uint64_t>(h.greatest_free_bytes, s.greatest_free_size);
  }
  return h;
}

}  // namespace ivs::dpdk
