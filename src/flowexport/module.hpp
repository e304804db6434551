#pragma once
// Flow records over IPFIX as a module (pipeline/module.hpp; docs/flow-export.md): the
// exporter thread and its collectors, the recorder the policy thread describes flows with
// (hooked into the slow path by the policy module, made after this one), `ivctl flow-export show|add|del` and /metrics
// (flowexport/control.cpp). No datapath stage: records are made off the fast path.
#include <memory>

#include "flowexport/entry_recorder.hpp"
#include "flowexport/exporter.hpp"
#include "pipeline/module.hpp"
#include "policy/flow_recorder.hpp"

namespace ivs::flowexport {

class FlowExportModule final : public pipeline::Module, public policy::FlowRecorderSource {
 public:
  static constexpr std::string_view kName = "flow_export";
  static std::expected<std::unique_ptr<pipeline::Module>, std::string> create(const pipeline::ModuleEnv& env);

  std::string_view name() const noexcept override { return kName; }
  std::expected<void, std::string> start() override;
  void stop() override;
  std::expected<std::function<void()>, std::string> plan_reload(const config::Config& next) override;
  void add_control_methods(const pipeline::AddControlMethod& add) override;
  std::string metrics() const override;

  // policy::FlowRecorderSource: the policy module hooks it into the slow path.
  policy::FlowRecorder* flow_recorder() noexcept override { return recorder_.get(); }
  Exporter& exporter() const { return *exporter_; }
  const EntryRecorder& recorder() const { return *recorder_; }
  nlohmann::json view() const;

 private:
  FlowExportModule() = default;
  config::FlowExportConfig cfg_;
  // The exporter outlives the recorder (which queues into it); the slow path calls the
  // recorder until the policy module's stop() (its last records, finish_records), which
  // runs before this module's (registered after it: stopped first).
  std::unique_ptr<Exporter> exporter_;
  std::unique_ptr<EntryRecorder> recorder_;
};

}  // namespace ivs::flowexport
