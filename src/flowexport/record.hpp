#pragma once
// One IPFIX data record: one direction of a two-way flow over one reporting interval
// (from the flow's start or its previous record to now). Plain data, built by the policy
// thread from a flow entry (flowexport/from_entry.cpp) and encoded by the exporter thread.
#include <cstdint>
#include <string>

namespace ivs::flowexport {

// flowEndReason (IANA element 136, RFC 5102).
enum class EndReason : uint8_t {
  kIdleTimeout = 1,
  kActiveTimeout = 2,
  kEndOfFlow = 3,   // TCP FIN or RST seen, then the flow's closing timeout
  kForcedEnd = 4,   // policy change, a chain's device went down, daemon shutdown
  kLackOfResources = 5,
};

inline constexpr uint8_t kNoDscpField = 0xff;  // dscpObserved/dscpAssigned: none

struct FlowRecord {
  uint8_t family = 4;               // 4 or 6
  uint8_t src[16] = {}, dst[16] = {};  // IPv4 in the first 4 bytes, network order
  uint16_t src_port = 0, dst_port = 0;  // ICMP: the echo identifier (the flow key's "ports")
  uint8_t proto = 0;
  uint8_t tos = 0;                  // ipClassOfService: DSCP << 2 (see docs/flow-export.md)
  uint16_t vlan = 0;
  uint32_t in_if = 0, out_if = 0;   // port index + 1; 0 = not known
  uint64_t packets = 0, octets = 0; // deltas since the previous record of this direction
  uint64_t start_ms = 0, end_ms = 0;  // Unix milliseconds
  EndReason end_reason = EndReason::kIdleTimeout;
  // ivswitch's own (enterprise) elements.
  uint8_t state = 0;                // flow::FlowState
  uint8_t action = 0;               // config::PolicyAction of the deciding rule (or default)
  uint32_t rule_id = 0xffffffff;    // index of the rule; 0xffffffff: the default action
  std::string rule_name;            // "(default)" for the default action
  uint32_t epoch = 0;
  uint64_t to_device = 0, shortcut = 0;  // chain: packets of this direction through the device / shortcut (totals)
  uint8_t dscp_observed = kNoDscpField, dscp_assigned = kNoDscpField;
  std::string mirrors;              // names of the mirrors tapping the flow, comma-separated
  uint8_t initiator = 0;            // 1: this direction is the flow's first packet's
};

}  // namespace ivs::flowexport
