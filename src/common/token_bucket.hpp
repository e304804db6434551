#pragma once
// A token bucket fed by the TSC: `rate` tokens per second, at most `burst` held. Used for
// the datapath's upcalls (per port), its reject replies / ICMP errors (per thread) and the
// host-VM channel's agent messages (per channel).
//
// Exact: the bucket holds its credit in units of 1/tsc_hz token, so a refill is one
// multiply and an add (no division, no rounding): a fraction of a token earned between two
// calls is kept, however small the steps, and a long idle time at the highest rate cannot
// overflow (the product is 128 bits: hours of TSC at 3 GHz times 1e7 is ~2^70). The old
// buckets did `(now - last) * rate / hz` in 64 bits and set last = now, which lost the
// fraction on every refill (a sender calling every 1.5 tokens' time got 2/3 of the rate)
// and wrapped after ~10 minutes of TSC at 1e7 per second (issue 18, item 5).
//
// A fresh bucket is full at its first call, and counts time from that call: not from a
// zero last_tsc, which made the first refill's elapsed time the whole uptime.
//
// Thread: one owner thread per bucket (no atomics). rate and burst below 2^32 (the config
// caps them at 1e7), tsc_hz below 2^40.
#include <algorithm>
#include <cstdint>

namespace ivs {

class TokenBucket {
 public:
  // Takes one token if there is one at now_tsc. An earlier now_tsc than the last call's
  // (never on one thread's TSC) adds nothing.
  bool take(uint64_t now_tsc, uint64_t rate, uint64_t burst, uint64_t tsc_hz) noexcept {
    refill(now_tsc, rate, burst, tsc_hz);
    if (credit_ < tsc_hz) return false;
    credit_ -= tsc_hz;
    return true;
  }

  void refill(uint64_t now_tsc, uint64_t rate, uint64_t burst, uint64_t tsc_hz) noexcept {
    const u128 cap = static_cast<u128>(burst) * tsc_hz;
    if (fresh_) [[unlikely]] {
      fresh_ = false;
      credit_ = cap;
    } else if (now_tsc > last_tsc_) {
      credit_ = std::min(credit_ + static_cast<u128>(now_tsc - last_tsc_) * rate, cap);
    } else {
      return;
    }
    last_tsc_ = now_tsc;
  }

  // Whole tokens held (as of the last call).
  uint64_t tokens(uint64_t tsc_hz) const noexcept { return static_cast<uint64_t>(credit_ / tsc_hz); }

 private:
  using u128 = unsigned __int128;
  u128 credit_ = 0;  // tokens * tsc_hz
  uint64_t last_tsc_ = 0;
  bool fresh_ = true;
};

}  // namespace ivs
