// How the channel's trace events read in `ivctl trace` (channel/reasons.hpp declares
// them; channel/stage.cpp records them).
#include <fmt/format.h>

#include "channel/reasons.hpp"
#include "pipeline/trace_record.hpp"

namespace ivs::channel {

using pipeline::trace_ip_text;
using pipeline::trace_mac_text;
using pipeline::TraceEventNames;
using pipeline::TraceEventText;
using pipeline::TraceRecord;

namespace {

// a: channel id
TraceEventText arp_answered(const TraceRecord& r, const TraceEventNames&) {
  return {nlohmann::json{{"channel", r.a}}, fmt::format("ARP from the agent of channel {} for the channel IP: answered", r.a)};
}

// a: channel id, b: VLAN, c: agent MAC, d: agent IP, flags: from the agent
TraceEventText admitted(const TraceRecord& r, const TraceEventNames&) {
  const std::string mac = trace_mac_text(r.c), ip = trace_ip_text(static_cast<uint32_t>(r.d));
  return {nlohmann::json{{"channel", r.a}, {"vlan", r.b}, {"agent_mac", mac}, {"agent_ip", ip}, {"from_agent", r.flags != 0}},
          fmt::format("message of channel id {} {}: admitted (VLAN {}, agent {} {})", r.a, r.flags ? "from the agent" : "to the agent",
                      r.b, mac, ip)};
}

}  // namespace

const pipeline::TraceEventInfo kTraceInfo[2] = {
    {"channel", "arp_answered", &arp_answered},
    {"channel", "admitted", &admitted},
};

}  // namespace ivs::channel
