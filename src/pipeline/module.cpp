#include "pipeline/module.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#include "forward/tables.hpp"
#include "pipeline/trace_record.hpp"

namespace ivs::pipeline {

namespace {

// The registered modules' drop reasons, after the core's (drop_reason.hpp). Too many for
// the counters' room is a build mistake, not a config one: stop at once, saying which.
void add_module_drop_reasons(DropReasonTable& t) {
  for (const auto& info : registered_modules())
    if (info.drop_reasons && !t.add(*info.drop_reasons)) {
      std::fprintf(stderr, "ivswitch: module %.*s: %zu drop reasons exceed the room of %zu (kDropReasonCount)\n",
                   static_cast<int>(info.name.size()), info.name.data(), t.size() + info.drop_reasons->size(), kDropReasonCount);
      std::abort();
    }
}
// drop_reasons() is header-only (ivctl includes it); it learns of the modules here, before
// main, in any program that links the module registry.
[[maybe_unused]] const bool kHooked = (detail::add_module_drop_reasons = &add_module_drop_reasons, true);

}  // namespace

const std::vector<TraceEventInfo>& module_trace_events() {
  static const std::vector<TraceEventInfo> events = [] {
    std::vector<TraceEventInfo> out;
    for (const auto& info : registered_modules()) {
      if (!info.trace_events) continue;
      if (kCoreTraceEventCount + out.size() + info.trace_events->events.size() > 256) {
        std::fprintf(stderr, "ivswitch: module %.*s: more than 256 trace events\n", static_cast<int>(info.name.size()), info.name.data());
        std::abort();
      }
      info.trace_events->base = static_cast<uint8_t>(kCoreTraceEventCount + out.size());
      out.insert(out.end(), info.trace_events->events.begin(), info.trace_events->events.end());
    }
    return out;
  }();
  return events;
}

void Module::make_stages(StageSet& out) const {
  for (size_t i = 0; i < kAttachPoints; ++i)  // every point, so that a new one cannot be missed here
    if (auto st = make_stage(static_cast<AttachPoint>(i))) out.add(std::move(st), {static_cast<AttachPoint>(i)});
}

std::expected<std::vector<std::unique_ptr<Module>>, std::string> make_modules(const ModuleEnv& env) {
  // Number the modules' reasons and events before any of their stages can use them.
  (void)drop_reasons();
  (void)module_trace_events();
  std::vector<std::unique_ptr<Module>> out;
  ModuleEnv each = env;
  each.earlier = &out;
  for (const auto& info : registered_modules()) {
    auto m = info.create(each);
    if (!m) return std::unexpected(m.error());
    if (*m) out.push_back(std::move(*m));
  }
  return out;
}

size_t ModuleEnv::port_slots() const {
  if (port_capacity) return port_capacity;
  const auto t = tables.get();
  return t ? t->port_count() : 0;
}

Module* find_module(const ModuleEnv& env, std::string_view name) {
  if (env.earlier)
    for (const auto& m : *env.earlier)
      if (m->name() == name) return m.get();
  return nullptr;
}

}  // namespace ivs::pipeline
