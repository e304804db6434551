#pragma once
// A trace of one packet through the real Forwarder (ivctl trace): each decision is noted
// as a step; nothing is learned, installed or transmitted. The Forwarder holds a Trace*
// that is null on the datapath threads.
#include <fmt/format.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "flow/flow_table.hpp"
#include "policy/classifier.hpp"
#include "policy/decision.hpp"
#include "policy/upcall.hpp"
#include "qos/decision.hpp"

namespace ivs::pipeline {

struct Trace {
  std::vector<std::pair<std::string, std::string>> steps;  // (stage, what happened)
  // On a flow-table miss: the decision the policy thread would make now (the live
  // SlowPath's decide(), the same one a real upcall gets; nothing is installed).
  std::function<policy::FlowDecision(const policy::Upcall&)> decide;
  std::function<std::string(int32_t)> rule_name;
  std::function<std::string(int16_t)> chain_name;
  uint32_t epoch = 0;
  // The name of a QoS assignment (empty: no `qos` section).
  std::function<std::string(int16_t)> assignment_name;
  // The entry the policy thread would install for a new flow, filled by the same
  // policy::fill_entry() and never published: the stages after the lookup run on it as
  // they run on a re-injected packet's entry. (Held by pointer: an entry's atomics make
  // it immovable, and a Trace is returned by value.)
  std::unique_ptr<flow::FlowEntry> entry = std::make_unique<flow::FlowEntry>();

  template <class... A>
  void note(const char* stage, fmt::format_string<A...> f, A&&... a) {
    steps.emplace_back(stage, fmt::format(f, std::forward<A>(a)...));
  }
};

}  // namespace ivs::pipeline
