#pragma once
// Turns trace records (pipeline/trace_record.hpp) into what `ivctl trace` shows: per
// traced packet a summary of the frame, its steps (stage, event, fields, and a sentence),
// the ports it left on, the flow's verdict and a one-line result. Names come from the
// tables and from the jobs' namers (trace_event.hpp: the policy snapshot the trace ran
// against, the QoS module's tables): a record made under another epoch shows rule and
// chain numbers instead of names that might be wrong.
//
// Thread: the control thread (or a test), after the buffer's writer is done.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "forward/tables.hpp"
#include "pipeline/trace_event.hpp"
#include "pipeline/trace_record.hpp"

namespace ivs::pipeline {

struct TraceNames {
  const forward::ForwardingTables& tables;
  // Rules, chains, QoS assignments, meters, classes: asked in order (none: numbers only).
  std::vector<TraceNamer> namers = {};
  // Mirror names by slot, read when formatting (nullptr: slots only). A slot freed and
  // reused between the record and the formatting shows its new mirror's name.
  const std::vector<std::string>* mirrors = nullptr;
};

struct TraceStep {
  std::string stage, event, text;
  nlohmann::json fields;  // the record's fields, named and with names resolved
};

struct FormattedPacket {
  uint8_t thread = 0;
  uint16_t in_port = 0;
  uint64_t tsc = 0;
  uint32_t length = 0;
  std::string summary;   // "02:00:00:00:01:01 -> 02:..:03 tcp 10.0.1.11:40000 -> 10.0.2.13:22 [S]"
  std::string head_hex;  // the frame's first bytes as received
  std::vector<TraceStep> steps;
  std::vector<std::string> outputs;  // ports it left on, in order
  std::string verdict;   // the flow's state, when the policy applied ("" otherwise)
  std::string result;    // "sent on 1 port(s): vm3", "dropped: policy.denied", ...
};

std::vector<FormattedPacket> format_trace(const TraceBuffer& buf, const TraceNames& names);
// One packet (simulation: the buffer's only one).
FormattedPacket format_packet(const TraceBuffer& buf, uint16_t packet, const TraceNames& names);
nlohmann::json to_json(const TraceStep& s);
nlohmann::json to_json(const FormattedPacket& p, uint64_t first_tsc, uint64_t tsc_hz);

}  // namespace ivs::pipeline
