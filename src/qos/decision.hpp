#pragma once
// The QoS decision for one direction of a flow: what DSCP its sender must use, how to
// react when it does not, which meter holds it, and whose counters it feeds. Made by the
// policy thread with the flow's verdict (QosPlan::decide) and kept in the flow entry's
// module slot (qos/flow_state.hpp), packed in one 64-bit word so that a datapath thread
// reads it with one load and a reload replaces it atomically.
#include <cstdint>
#include <bit>

#include "config/model.hpp"

namespace ivs::qos {

struct Decision {
  uint8_t dscp = config::kNoDscp;  // assigned DSCP; kNoDscp: nothing assigned
  config::QosMode mode = config::QosMode::kTrust;
  int16_t vm = -1;                 // sending VM (index into the config's vms); -1: not a VM
  int16_t meter = -1;              // the assignment's meter (index into qos.meters); -1: none
  int16_t assignment = -1;         // index into qos.assign; -1: none matched

  // Packed relative to Decision{}, so that "nothing decided" packs to 0: the flow entry's
  // slot is zeroed by the core, which does not know what it holds (flow::FlowSlot).
  constexpr uint64_t pack() const noexcept { return std::bit_cast<uint64_t>(*this) ^ none_bits(); }
  static constexpr Decision unpack(uint64_t v) noexcept { return std::bit_cast<Decision>(v ^ none_bits()); }
  bool operator==(const Decision&) const = default;

 private:
  static constexpr uint64_t none_bits() noexcept { return std::bit_cast<uint64_t>(Decision{}); }
};

static_assert(sizeof(Decision) == sizeof(uint64_t));
inline constexpr uint64_t kNoDecision = Decision{}.pack();
static_assert(kNoDecision == 0, "a zeroed slot holds no decision");

}  // namespace ivs::qos
