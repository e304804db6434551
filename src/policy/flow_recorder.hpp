#pragma once
// What the policy thread tells the flow records (flowexport/) about flows: one ended
// (its entry is past its grace period, its counters final), or one is still running at its
// active timeout. An interface so that the policy thread does not know about IPFIX.
//
// Thread: every call comes from the policy thread with its mutex held (the flow table and
// the policy cannot change meanwhile); wanted() and active_timeout_s() from any thread.
#include <cstdint>

#include "flow/flow_table.hpp"

namespace ivs::policy {

class Classifier;

class FlowRecorder {
 public:
  virtual ~FlowRecorder() = default;
  // False: no collector; the policy thread skips the records (nothing is built or queued).
  virtual bool wanted() const noexcept = 0;
  virtual uint32_t active_timeout_s() const noexcept = 0;
  // `reason`: flowexport::EndReason. `final`: the flow has ended (its last record); else an
  // active-timeout record, after which `reported` (the table's, for e) holds what was reported.
  virtual void record(flow::FlowEntry& e, flow::Reported& reported, uint8_t reason, bool final, const Classifier& policy,
                      uint32_t now_s) = 0;
};

// A module that records flows (flowexport/module.hpp) offers its recorder this way: the
// policy module, made after it, finds it among the modules made before it
// (pipeline::ModuleEnv::made) and hooks it into the slow path.
class FlowRecorderSource {
 public:
  virtual FlowRecorder* flow_recorder() noexcept = 0;

 protected:
  ~FlowRecorderSource() = default;
};

}  // namespace ivs::policy
