#pragma once
// Trace events declared by a job (pipeline/trace_record.hpp has the core's). A module's
// stage records its decisions about a traced packet like the core's stages do (a
// TraceRecord: an event number and a few integers); the event's number is its block's
// base + its local index, and the job says, in its folder, how a record of it reads:
// its stage and event names in `ivctl trace` and a function from the record to the
// step's JSON fields and sentence. The block is named in the job's registration
// (src/modules/registry.cpp) next to its drop reasons; bases are fixed when the table is
// built (trace_events(), before any module exists: make_modules builds it).
//
// Threads: the formatter runs on the control thread (trace_format.cpp); a stage only
// reads its block's base.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ivs::pipeline {

enum class TraceEvent : uint8_t;  // trace_record.hpp
struct TraceRecord;

// What a record becomes in the trace: its fields (JSON) and a sentence.
struct TraceEventText {
  nlohmann::json fields = nlohmann::json::object();
  std::string text;
};
// The record's names resolved by the formatter: its port and network.
struct TraceEventNames {
  std::string_view port, net;
};

struct TraceEventInfo {
  std::string_view stage;  // the trace's first column ("channel")
  std::string_view name;   // the step's event in JSON ("admitted")
  TraceEventText (*format)(const TraceRecord& r, const TraceEventNames& names);
};

struct TraceEventBlock {
  std::span<const TraceEventInfo> events;
  uint8_t base = 0;  // its first event's number (set when the table is built)
  TraceEvent at(size_t local) const noexcept { return static_cast<TraceEvent>(base + local); }
};
template <class Local>
struct TraceEvents : TraceEventBlock {
  constexpr explicit TraceEvents(std::span<const TraceEventInfo> e) : TraceEventBlock{e, 0} {}
  TraceEvent operator()(Local l) const noexcept { return at(static_cast<size_t>(l)); }
};

// Names of what a job numbers in the records (the policy's rules and chains, the QoS
// assignments, meters and classes), given by the job that owns them when a trace is
// formatted, so that the formatter names no job's types: `kind` says what ("rule",
// "chain", "assignment", "meter", "class"), `index` which one, `epoch` the policy epoch
// the record was made under (a rule or chain of another epoch has no name: its index
// may mean another now). nullopt: not this namer's, or not known; the formatter then
// asks the next one and shows "#index" when none knows it.
using TraceNamer = std::function<std::optional<std::string>(std::string_view kind, int64_t index, uint32_t epoch)>;

// The modules' events, by number (the core's come first and are not in it): entry i is
// event kCoreTraceEventCount + i. Built on first use from the registered modules.
const std::vector<TraceEventInfo>& module_trace_events();

// Helpers for formatters: a MAC from TraceRecord's 48 low bits, an IPv4 address in host order.
std::string trace_mac_text(uint64_t bits);
std::string trace_ip_text(uint32_t host_order);

}  // namespace ivs::pipeline
