#pragma once
// Wall-clock time (ns since the epoch) of a TSC reading: copies are stamped with the TSC
// on the datapath (cheap); the broker turns stamps into the times tools show (pcap records,
// ERSPAN III). Anchored once; a stamp taken just before the anchor gives a time just before it.
#include <rte_cycles.h>

#include <cstdint>
#include <ctime>

namespace ivs::mirror {

class WallClock {
 public:
  WallClock() : base_tsc_(rte_rdtsc()), ns_per_tick_(1e9 / static_cast<double>(rte_get_tsc_hz())) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    base_ns_ = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
  }
  uint64_t ns(uint64_t tsc) const noexcept {
    return base_ns_ + static_cast<uint64_t>(static_cast<double>(static_cast<int64_t>(tsc - base_tsc_)) * ns_per_tick_);
  }

 private:
  uint64_t base_ns_ = 0, base_tsc_;
  double ns_per_tick_;
};

}  // namespace ivs::mirror
