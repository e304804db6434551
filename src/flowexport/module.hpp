#pragma once
// Flow records over IPFIX as a module (pipeline/module.hpp; docs/flow-export.md): the
// exporter thread and its collectors, the recorder the policy thread describes flows with
// (hooked into the slow path at create), `ivctl flow-export show|add|del` and /metrics
// (flowexport/control.cpp). No datapath stage: records are made off the fast path.
#include <memory>

#include "flowexport/entry_recorder.hpp"
#include "flowexport/exporter.hpp"
#include "pipeline/module.hpp"

namespace ivs::flowexport {

class FlowExportModule final : public pipeline::Module {
 public:
  static constexpr std::string_view kName = "flow_export";
  static std::expected<std::unique_ptr<pipeline::Module>, std::string> create(const pipeline::ModuleEnv& env);

  std::string_view name() const noexcept override { return kName; }
  std::expected<void, std::string> start() override;
  void stop() override;
  std::expected<std::function<void()>, std::string> plan_reload(const config::Config& next) override;
  void add_control_methods(const pipeline::AddControlMethod& add) override;
  std::string metrics() const override;

  Exporter& exporter() const { return *exporter_; }
  const EntryRecorder& recorder() const { return *recorder_; }
  nlohmann::json view() const;

 private:
  FlowExportModule() = default;
  config::FlowExportConfig cfg_;
  // The exporter outlives the recorder (which queues into it); both outlive the slow path
  // that calls the recorder: the Datapath destroys its modules last.
  std::unique_ptr<Exporter> exporter_;
  std::unique_ptr<EntryRecorder> recorder_;
};

}  // namespace ivs::flowexport
