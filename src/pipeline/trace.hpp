#pragma once
// A trace of one packet through the real Forwarder (ivctl trace): each decision is noted
// as a step; nothing is learned, installed or transmitted. The Forwarder holds a Trace*
// that is null on the datapath threads.
#include <fmt/format.h>

#include <functional>
#include <string>
#include <vector>

#include "policy/classifier.hpp"
#include "qos/decision.hpp"

namespace ivs::pipeline {

struct Trace {
  std::vector<std::pair<std::string, std::string>> steps;  // (stage, what happened)
  // The policy to consult on a flow-table miss (the live policy thread's classifier).
  std::function<policy::Verdict(const policy::FlowTuple&)> classify;
  std::function<std::string(int32_t)> rule_name;
  // A chain's name and the port of its device for the initiator's packets.
  std::function<std::pair<std::string, uint16_t>(int16_t)> chain_out;
  uint32_t epoch = 0;
  // The QoS decision a new flow's first packet would get (empty: no `qos` section), and
  // the name of an assignment.
  std::function<qos::Decision(const policy::FlowTuple&, const uint8_t* eth)> qos_decide;
  std::function<std::string(int16_t)> assignment_name;

  template <class... A>
  void note(const char* stage, fmt::format_string<A...> f, A&&... a) {
    steps.emplace_back(stage, fmt::format(f, std::forward<A>(a)...));
  }
};

}  // namespace ivs::pipeline
