#pragma once
// EtherType and VLAN counting and sampling as a module (pipeline/module.hpp;
// docs/ethertypes.md): per datapath thread a fixed table filled at AttachPoint::kReceive
// (ethertypes/stage.cpp), `ivctl show ethertypes` and its /metrics (ethertypes/control.cpp).
// Without an `ethertypes` config section the module makes no stage: the datapath does
// nothing for it.
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "ethertypes/config.hpp"
#include "ethertypes/table.hpp"
#include "pipeline/module.hpp"

namespace ivs::ethertypes {

class EthertypesModule final : public pipeline::Module {
 public:
  static constexpr std::string_view kName = "ethertypes";
  explicit EthertypesModule(const pipeline::ModuleEnv& env);
  static std::expected<std::unique_ptr<pipeline::Module>, std::string> create(const pipeline::ModuleEnv& env);

  std::string_view name() const noexcept override { return kName; }
  std::expected<std::function<void()>, std::string> plan_reload(const config::Config& next) override;
  std::unique_ptr<pipeline::Stage> make_stage(pipeline::AttachPoint at) const override;
  void add_control_methods(const pipeline::AddControlMethod& add) override;
  std::string metrics() const override;

  // `ivctl show ethertypes`: the entries of every thread's table summed per (port, VLAN,
  // EtherType), each with its newest sample; overflow per port.
  nlohmann::json view() const;

  // One (port, VLAN, EtherType) summed over the tables (control thread).
  struct Sum {
    uint64_t frames = 0, bytes = 0, samples = 0;
    std::optional<Sample> sample;
  };

 private:
  // Folds the tables no Forwarder uses any more (an `ivctl trace` Forwarder's) into
  // retired_, so that they are not kept. Under mu_.
  void retire_unused() const;

  config::EthertypesConfig cfg_;
  const pipeline::SharedTables& tables_;  // the forwarding tables now: the ports' names by slot
  size_t slots_;                          // the port table's (switch.max_ports): each table's overflow counters
  mutable std::mutex mu_;  // control threads and Forwarder construction: tables_list_, retired_
  mutable std::vector<std::shared_ptr<Table>> tables_list_;
  mutable std::map<uint64_t, Sum> retired_;
  mutable std::vector<uint64_t> retired_overflow_frames_, retired_overflow_bytes_;  // per slot
};

}  // namespace ivs::ethertypes
