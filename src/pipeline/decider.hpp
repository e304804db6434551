#pragma once
// `ivctl trace`'s question to the policy job (issue 17): on a flow-table miss, a traced
// packet is not sent up; the Forwarder in simulation mode (Forwarder::simulate) asks the
// job that decides new flows what it would decide now, and runs the rest of the
// pipeline on the entry that decision would install. The flow cache, the upcall, the
// re-inject and this question are the core's mechanism; the rules, chains and QoS
// assignment behind the answer are the job's (policy::SlowPath implements it with the
// same decide() its thread uses for an upcall: one decision path, so trace and datapath
// cannot disagree about a new flow).
//
// Thread: the control thread tracing (decide_miss takes the job's own lock).
#include <cstdint>

#include "flow/flow_table.hpp"
#include "pipeline/upcall.hpp"

namespace ivs::pipeline {

// What the trace records of the decision and finishes the packet with.
struct MissDecision {
  int32_t rule = -1;        // the rule that matched (-1: the default action)
  uint32_t epoch = 0;       // the policy epoch it was decided under
  uint8_t action = 0;       // the rule's action (config::PolicyAction's value)
  uint8_t state = 0;        // flow::FlowState the flow starts in (table_full: the packet is finished in)
  // A first packet from a chain's own device (a flow in flight across a reload):
  // delivered as the device sent it, allowed, no entry made. `verdict_chain`: the chain.
  bool as_device_sent = false;
  int16_t verdict_chain = -1;
  // A chain's admission of the new flow (policy::ChainAdmission::Outcome's value; 0: none)
  // and the chain it admitted it on.
  uint8_t chain_outcome = 0;
  int16_t chain = -1;
  // The flow table has no free entry, so the policy thread would install none: the
  // packet is finished without one, carrying `qos` (this direction's packed QoS decision,
  // or kNoQos) as a re-injected packet does.
  bool table_full = false;
  uint64_t qos = kNoQos;
};

class Decider {
 public:
  virtual ~Decider() = default;
  // The decision for the flow of `u` (a miss, direction and key as looked up), changing
  // nothing; unless as_device_sent or table_full, `entry` (never published) is filled as
  // the policy thread would fill the flow's new entry, its first packet at `now_s`.
  virtual MissDecision decide_miss(const Upcall& u, flow::FlowEntry& entry, uint32_t now_s) const = 0;
};

}  // namespace ivs::pipeline
