#pragma once
// The job that answers the datapath's upcalls (issue 17): the policy module
// (policy/module.hpp). The flow cache, the upcall and reinject rings (made by the
// Datapath, handed to the modules in ModuleEnv), the re-inject and the one decide() path
// are the core's mechanism; the rules, chains and QoS assignment behind a flow's verdict
// are the job's. What the core asks of that job is here, so that it names none of the
// job's types: a module offers it through Module::upcall_handler() (at most one does).
//
// Thread: wakeup() from datapath threads; the rest on control threads.
#include <expected>
#include <functional>
#include <string>

#include "pipeline/cache_hit_sampler.hpp"
#include "pipeline/decider.hpp"
#include "pipeline/trace_event.hpp"
#include "pipeline/wakeup.hpp"

namespace ivs::config {
struct Config;  // opaque here: the job reads it
}

namespace ivs::pipeline {

class UpcallHandler : public Decider {
 public:
  // Written by a datapath thread after it queues an upcall: the handler's thread may sleep.
  virtual Wakeup& wakeup() noexcept = 0;
  // Test mode (flows.autovalidator): where the datapath threads sample their cache hits
  // (DatapathContext::autovalidator); nullptr: off.
  virtual CacheHitSampler* cache_hit_sampler() noexcept = 0;
  // A policy reload (Datapath::reload_policy) to `next`, under `epoch`: an error (as the
  // user reads it) refuses the whole reload; else the function that publishes it, called
  // when every part of the reload was planned. Not Module::plan_reload: the Datapath
  // numbers the epochs, and a policy that does not compile is not a section that cannot
  // change at runtime (its error is not worded as one).
  virtual std::expected<std::function<void()>, std::string> plan_policy(const config::Config& next, uint32_t epoch) = 0;
  // ivctl trace's formatting: `fn` given the names of the policy now in force (rules,
  // chains, QoS assignments: pipeline/trace_event.hpp's TraceNamer) and its epoch, under
  // the handler's lock (the namer is valid only during the call).
  virtual void with_policy(const std::function<void(const TraceNamer& names, uint32_t epoch)>& fn) const = 0;
};

}  // namespace ivs::pipeline
