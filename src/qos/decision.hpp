#pragma once
// The QoS decision for one direction of a flow: what DSCP its sender must use, how to
// react when it does not, which meter holds it, and whose counters it feeds. Made by the
// policy thread with the flow's verdict (QosPlan::decide) and kept in the flow entry,
// packed in one 64-bit word so that a datapath thread reads it with one load and a reload
// replaces it atomically.
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

  constexpr uint64_t pack() const noexcept { return std::bit_cast<uint64_t>(*this); }
  static constexpr Decision unpack(uint64_t v) noexcept { return std::bit_cast<Decision>(v); }
  bool operator==(const Decision&) const = default;
};

static_assert(sizeof(Decision) == sizeof(uint64_t));
inline constexpr uint64_t kNoDecision = Decision{}.pack();

}  // namespace ivs::qos
