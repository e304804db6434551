#pragma once
// What the slow path decides for a flow that has no entry yet (one-decision-path, issue
// 16): the policy's verdict, the state the flow starts in (chains: device health,
// fail-open/closed, which side of the device it starts on), and the QoS guard's DSCP
// decisions. SlowPath::decide() makes it without changing anything; SlowPath::install()
// publishes it as a flow entry; `ivctl trace` asks for the same decision and runs the
// rest of the pipeline on an unpublished entry filled by the same fill_entry(), so trace
// and datapath cannot disagree about a new flow.
//
// Thread: plain values; fill_entry() writes an entry nobody else can see yet.
#include <cstdint>

#include "flow/flow_table.hpp"
#include "policy/classifier.hpp"
#include "policy/upcall.hpp"
#include "qos/decision.hpp"

namespace ivs::policy {

// The state a policy action starts a flow in (inspect: pending; the chain may decide
// otherwise, see policy::ChainTracker::admit). Here, not in src/flow: the flow table
// knows states, not the config's actions.
inline flow::FlowState state_for(config::PolicyAction a) {
  switch (a) {
    case config::PolicyAction::kAllow: return flow::FlowState::kAllowed;
    case config::PolicyAction::kDrop: return flow::FlowState::kDenied;
    case config::PolicyAction::kReject: return flow::FlowState::kRejected;
    case config::PolicyAction::kInspect: return flow::FlowState::kPending;
  }
  return flow::FlowState::kDenied;
}

// What ChainTracker decided for a new flow of an `inspect` rule (policy/chain_tracker.hpp).
struct ChainAdmission {
  enum class Outcome : uint8_t { kNone, kPending, kDenied, kBypassedShortcut, kBypassedAllowed } outcome = Outcome::kNone;
  int16_t chain = -1;
  uint16_t device_port[2] = {};     // per side (see flow::ChainPath)
  uint16_t inspect_packets = 1;
  uint8_t side_mac[2][6] = {};
  int16_t side_net[2] = {-1, -1};
  uint64_t pending_tsc = 0;
};

struct FlowDecision {
  Verdict verdict;
  uint32_t epoch = 0;
  flow::FlowState state = flow::FlowState::kDenied;  // the state the flow starts in
  // A first packet, for an `inspect` rule, that arrived from the chain's own device (a
  // flow in flight across a reload): delivered as the device sent it, no entry made.
  bool as_device_sent = false;
  ChainAdmission chain;
  bool has_qos = false;
  qos::Decision qos[2];             // per direction of the flow
  // decide_now() only (trace): the flow table has no free entry, so install() would
  // refuse it; `state` is then the one the packet is finished in without an entry.
  bool table_full = false;
};

// Fills a fresh (taken, not yet published) entry with decision `d` for the flow of `u`,
// whose first packet arrived at `now_s`.
void fill_entry(flow::FlowEntry& e, const Upcall& u, const FlowDecision& d, uint32_t now_s) noexcept;

}  // namespace ivs::policy
