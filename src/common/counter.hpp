#pragma once
// A statistics counter with exactly one writer thread (the datapath thread that owns it)
// and any number of readers (control thread: ivctl, /metrics).
// The writer does a relaxed load + store, not an atomic read-modify-write: there is only
// one writer, so no increment is lost, and no locked instruction is paid per packet.
// Readers see a value that may lag by a burst, never a torn one.
#include <atomic>
#include <cstdint>

namespace ivs {

class Counter {
 public:
  void add(uint64_t n) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void inc() noexcept { add(1); }
  uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }
  void reset() noexcept { v_.store(0, std::memory_order_relaxed); }  // only while no writer runs

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace ivs
