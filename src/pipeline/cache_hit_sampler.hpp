#pragma once
// Where a datapath thread reports the packets it served from the flow cache, in a test
// mode only (flows.autovalidator: the policy job's Autovalidator checks each against its
// decide(), policy/autovalidator.hpp). The core's interface (issue 17), so that the
// Forwarder names no job: DatapathContext::autovalidator is nullptr unless the test mode
// is on, and the Forwarder tests that pointer (one predictable branch per cache hit):
// the virtual call is made only in the test mode, never on the normal path.
//
// Thread: sample() on any datapath thread, concurrently (the implementation's business).
#include <cstdint>

#include "flow/flow_key.hpp"
#include "flow/flow_table.hpp"

namespace ivs::pipeline {

class CacheHitSampler {
 public:
  // A packet with key `key` (direction `direction`, received on `in_port`) was served by
  // entry `e` in flow::FlowState `state`. Never blocks, allocates or logs.
  virtual void sample(flow::FlowEntry& e, uint8_t state, const flow::FlowKey& key, uint8_t direction,
                      uint16_t in_port) noexcept = 0;

 protected:
  ~CacheHitSampler() = default;  // not owned through this interface
};

}  // namespace ivs::pipeline
