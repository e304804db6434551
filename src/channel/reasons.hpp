#pragma once
// The host-VM channel's drop reasons and trace events, declared by the channel
// (common/drop_reason.hpp, pipeline/trace_event.hpp) and named in its registration
// (src/modules/registry.cpp). The names are what users see: ivswitch_port_drops_total's
// reason label, ivctl show ports / channels, ivctl trace; docs/counters.md lists them.
#include <cstdint>

#include "pipeline/job_drop_reasons.hpp"
#include "pipeline/trace_event.hpp"

namespace ivs::channel {

#define IVS_CHANNEL_DROP_REASONS(X)                                                                                      \
  X(kWrongPort, "channel.ingress.wrong_port", "a channel's VLAN on a port its mapping does not bind")                     \
  X(kNotMessage, "channel.ingress.not_message",                                                                          \
    "on a channel's VLAN but not a channel message between its agent and the channel address")                           \
  X(kSpoofed, "channel.ingress.spoofed_address",                                                                         \
    "channel message whose source MAC/IP is not the channel's agent (or channel address)")                               \
  X(kBadHeader, "channel.ingress.bad_header", "channel message too short, or with a wrong magic, version or type")       \
  X(kWrongId, "channel.ingress.wrong_id", "channel message carrying a metadata id other than its channel's")             \
  X(kRateLimited, "channel.ingress.rate_limited", "agent over the channel's rate (channels.rate_pps, channels.burst)")   \
  X(kAddressReserved, "channel.address_reserved",                                                                        \
    "ordinary traffic addressed to the channel's MAC or IP (only a channel's VLAN reaches it)")

// kDrops(Drop::kWrongPort): the switch-wide reason (its number in the per-port counters).
IVS_DECLARE_JOB_DROP_REASONS(IVS_CHANNEL_DROP_REASONS);

// Trace events (channel/trace.cpp formats them; the fields each carries are there).
enum class Trace : uint8_t { kArpAnswered, kAdmitted };
extern const pipeline::TraceEventInfo kTraceInfo[2];
inline constinit pipeline::TraceEvents<Trace> kTraceEvents{kTraceInfo};

}  // namespace ivs::channel
