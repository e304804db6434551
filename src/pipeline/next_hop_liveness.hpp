#pragma once
// Whether an ECMP route's next hop answers (docs/config.md, "routes": failover). A next
// hop whose neighbour entry is known would otherwise stay in use for as long as its flows
// send: their packets keep the entry fresh, so a router that died kept its flows until they
// stopped. Instead, a next hop in use that the switch has not heard from (an ARP reply
// from its address to the gateway's) for kProbeAfterS is asked (an ARP request, at most one per second per
// next hop over all datapath threads), and one asked and silent for kDownAfterS is down:
// passed over like an unresolved one, so its flows move to the next live one in their
// route. Its first such reply brings it back (flows already moved stay where they went).
//
// Written and read by datapath threads (relaxed atomics: a lost race costs one extra
// probe), read by the control thread for `show routes` and the down transitions.
#include <atomic>
#include <cstdint>
#include <string_view>

namespace ivs::pipeline {

struct NextHopLiveness {
  static constexpr uint32_t kProbeAfterS = 1;
  static constexpr uint32_t kDownAfterS = 3;

  std::atomic<uint32_t> heard_s{0};   // coarse seconds of its last ARP reply (0: never)
  std::atomic<uint32_t> asked_s{0};   // its first unanswered probe (0: none outstanding)
  std::atomic<uint32_t> probed_s{0};  // its last probe (one per second)

  bool down(uint32_t now_s) const noexcept {
    const uint32_t asked = asked_s.load(std::memory_order_relaxed);
    return asked && now_s - asked >= kDownAfterS;
  }
  void heard(uint32_t now_s) noexcept {
    heard_s.store(now_s, std::memory_order_relaxed);
    asked_s.store(0, std::memory_order_relaxed);
  }
  // Whether to probe it now (in use, not heard from lately, not probed this second); if
  // so, the probe is recorded as sent.
  bool take_probe(uint32_t now_s) noexcept {
    if (now_s - heard_s.load(std::memory_order_relaxed) < kProbeAfterS) return false;
    if (probed_s.load(std::memory_order_relaxed) == now_s) return false;
    probed_s.store(now_s, std::memory_order_relaxed);
    if (!asked_s.load(std::memory_order_relaxed)) asked_s.store(now_s, std::memory_order_relaxed);
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
