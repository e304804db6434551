#pragma once
// The ethertypes job's datapath part: at AttachPoint::kReceive, every frame a thread
// receives is counted in that thread's Table (ethertypes/table.hpp). It only reads the
// frames: none is dropped, changed or consumed.
#include <memory>

#include "ethertypes/table.hpp"
#include "pipeline/module.hpp"

namespace ivs::ethertypes {

class EthertypeStage final : public pipeline::Stage {
 public:
  EthertypeStage(std::shared_ptr<Table> table, uint32_t sample_every) : table_(std::move(table)), sample_every_(sample_every) {}
  void run(pipeline::Forwarder& f, pipeline::Burst& b) noexcept override;

 private:
  std::shared_ptr<Table> table_;  // shared with the module, which reads it
  uint32_t sample_every_;
};

}  // namespace ivs::ethertypes
