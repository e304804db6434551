#include "ethertypes/module.hpp"

#include "config/model.hpp"
#include "ethertypes/stage.hpp"
#include "forward/tables.hpp"

namespace ivs::ethertypes {

EthertypesModule::EthertypesModule(const pipeline::ModuleEnv& env)
    : cfg_(config::ethertypes_section(env.cfg)),
      tables_(env.tables),
      slots_(env.port_slots()),
      retired_overflow_frames_(slots_),
      retired_overflow_bytes_(slots_) {}

std::expected<std::unique_ptr<pipeline::Module>, std::string> EthertypesModule::create(const pipeline::ModuleEnv& env) {
  // Made even when the section is absent: `ivctl show ethertypes` then says the job is off.
  return std::make_unique<EthertypesModule>(env);
}

std::expected<std::function<void()>, std::string> EthertypesModule::plan_reload(const config::Config& next) {
  // The tables are sized and the stages made before the threads start: a change needs a
  // restart, and is refused rather than silently ignored.
  if (!(cfg_ == config::ethertypes_section(next))) return std::unexpected("ethertypes differs");
  return std::function<void()>{};
}

std::unique_ptr<pipeline::Stage> EthertypesModule::make_stage(pipeline::AttachPoint at) const {
  if (at != pipeline::AttachPoint::kReceive || !cfg_.enabled) return nullptr;
  // Made here, on the thread building the Forwarder (before its datapath thread starts):
  // the datapath never allocates for this job.
  auto table = std::make_shared<Table>(cfg_.max_entries, static_cast<uint16_t>(slots_));  // (a port added later: a free slot's)
  {
    std::lock_guard lock(mu_);
    retire_unused();
    tables_list_.push_back(table);
  }
  return std::make_unique<EthertypeStage>(std::move(table), cfg_.sample_every);
}

void EthertypesModule::retire_unused() const {
  for (auto it = tables_list_.begin(); it != tables_list_.end();) {
    if (it->use_count() > 1) {  // its stage (Forwarder) still holds it
      ++it;
      continue;
    }
    const Table& t = **it;
    t.for_each([&](Key k, const Entry& e) {
      Sum& s = retired_[k.packed()];
      s.frames += e.frames.get();
      s.bytes += e.bytes.get();
      s.samples += e.samples.get();
      if (auto smp = e.sample.read(); smp && (!s.sample || smp->tsc >= s.sample->tsc)) s.sample = smp;
    });
    for (uint16_t p = 0; p < retired_overflow_frames_.size(); ++p) {
      retired_overflow_frames_[p] += t.overflow_frames(p);
      retired_overflow_bytes_[p] += t.overflow_bytes(p);
    }
    it = tables_list_.erase(it);
  }
}

}  // namespace ivs::ethertypes
