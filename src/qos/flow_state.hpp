#pragma once
// The QoS guard's per-flow state, held in the flow entry's module slot (flow::FlowSlot),
// which the core carries and zeroes without knowing what it holds. This file is the only
// code that gives the slot's words a meaning; per direction d of the flow:
//   word[d]    the qos::Decision for d's sender, packed (zero: nothing decided), written by
//              the policy thread with the verdict (install, revalidation)
//   sample[d]  the last DSCP d's sender marked that did not match its assignment, and when
//              (coarse seconds), for `ivctl show qos` and flow records; one word, so that a
//              reader never sees the DSCP of one mismatch with the time of another
//   count[d]   the packets of d that did not match
#include <atomic>
#include <cstdint>

#include "common/dscp.hpp"
#include "flow/flow_table.hpp"
#include "qos/decision.hpp"

namespace ivs::qos {

inline Decision flow_decision(const flow::FlowEntry& e, uint8_t d) noexcept {
  return Decision::unpack(e.slot.word[d].load(std::memory_order_relaxed));
}
// Policy thread only.
inline void set_flow_decision(flow::FlowEntry& e, uint8_t d, const Decision& dec) noexcept {
  e.slot.word[d].store(dec.pack(), std::memory_order_relaxed);
}

// The mismatch sample: the DSCP stored xor kNoDscp so that a zeroed slot reads "none".
struct MismatchSample {
  uint8_t observed = kNoDscp;  // kNoDscp: no mismatch seen
  uint32_t last_s = 0;         // when the last one was seen (coarse seconds)
};
inline MismatchSample flow_mismatch(const flow::FlowEntry& e, uint8_t d) noexcept {
  const uint64_t v = e.slot.sample[d].load(std::memory_order_relaxed);
  return {static_cast<uint8_t>((v & 0xff) ^ kNoDscp), static_cast<uint32_t>(v >> 32)};
}
inline uint64_t flow_mismatches(const flow::FlowEntry& e, uint8_t d) noexcept { return e.slot.count[d].get(); }
// Datapath thread polling d's sender: one more mismatch, DSCP `seen` at `now_s`. The sample
// is stored only when it changes (the line stays clean while a flow keeps its mismatch).
inline void note_flow_mismatch(flow::FlowEntry& e, uint8_t d, uint8_t seen, uint32_t now_s) noexcept {
  e.slot.count[d].inc();
  const uint64_t v = uint64_t{now_s} << 32 | static_cast<uint8_t>(seen ^ kNoDscp);
  if (e.slot.sample[d].load(std::memory_order_relaxed) != v) e.slot.sample[d].store(v, std::memory_order_relaxed);
}

}  // namespace ivs::qos
