#pragma once
// Whether an ECMP route's next hop answers (docs/config.md, "routes": failover). A next
// hop whose neighbour entry is known would otherwise stay in use for as long as its flows
// send: their packets keep the entry fresh, so a router that died kept its flows until
// they stopped. Instead, a next hop in use that the switch has not heard from (an ARP
// reply from its address to the gateway's) for kProbeAfterS is asked (an ARP request, at
// most one per second per next hop over all datapath threads), and one asked more than
// once and silent for kDownAfterS since the first time is down: passed over like an
// unresolved one, so its flows move to the next live one in their route. Its first such
// reply brings it back (flows already moved stay where they went).
//
// Written and read by datapath threads (relaxed atomics; one thread wins each second's
// probe), read by the control thread for `show routes` and the down transitions.
#include <atomic>
#include <cstdint>
#include <string_view>

namespace ivs::pipeline {

struct NextHopLiveness {
  static constexpr uint32_t kProbeAfterS = 1;
  static constexpr uint32_t kDownAfterS = 3;

  std::atomic<uint32_t> heard_s{0};   // coarse seconds of its last ARP reply (0: never)
  std::atomic<uint32_t> asked_s{0};   // the first probe of the current unanswered run (0: none)
  std::atomic<uint32_t> probed_s{0};  // its last probe (one per second)

  // Times are compared by signed difference: each thread reads its clock once per poll
  // loop, so one may still be a second behind the stamp another just wrote.
  static int32_t since(uint32_t now_s, uint32_t then) noexcept { return static_cast<int32_t>(now_s - then); }

  // Down: asked more than once in the current run (so not a hop that went idle after one
  // probe whose answer was lost) and silent for kDownAfterS since its first probe.
  bool down(uint32_t now_s) const noexcept {
    const uint32_t asked = asked_s.load(std::memory_order_relaxed);
    return asked && since(probed_s.load(std::memory_order_relaxed), asked) > 0 && since(now_s, asked) >= static_cast<int32_t>(kDownAfterS);
  }
  void heard(uint32_t now_s) noexcept {
    heard_s.store(now_s, std::memory_order_relaxed);
    asked_s.store(0, std::memory_order_relaxed);
  }
  // Whether to probe it now (in use, not heard from lately, not probed this second: one
  // thread wins the second); if so, the probe is recorded as sent. A run of probes that
  // stopped (the hop idle for longer than kDownAfterS) starts again from this one.
  bool take_probe(uint32_t now_s) noexcept {
    if (since(now_s, heard_s.load(std::memory_order_relaxed)) < static_cast<int32_t>(kProbeAfterS)) return false;
    uint32_t last = probed_s.load(std::memory_order_relaxed);
    if (since(now_s, last) <= 0 || !probed_s.compare_exchange_strong(last, now_s, std::memory_order_relaxed)) return false;
    const uint32_t asked = asked_s.load(std::memory_order_relaxed);
    if (!asked || since(now_s, last) > static_cast<int32_t>(kDownAfterS)) asked_s.store(now_s, std::memory_order_relaxed);
    return true;
  }
};

// What `show routes` says of a next hop.
inline std::string_view next_hop_state(const NextHopLiveness* l, bool ecmp, bool mac_known, uint32_t now_s) {
  if (!mac_known) return "unresolved";
  if (!ecmp || !l) return "resolved";  // (a route's only next hop: not checked, nowhere to fail over to)
  return l->down(now_s) ? "down" : "up";
}

}  // namespace ivs::pipeline
