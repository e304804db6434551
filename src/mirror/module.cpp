#include "mirror/module.hpp"

#include <algorithm>

#include "mirror/mirror_set.hpp"
#include "mirror/tap_stage.hpp"

namespace ivs::mirror {

std::expected<std::unique_ptr<pipeline::Module>, std::string> MirrorModule::create(const pipeline::ModuleEnv& env) {
  return std::make_unique<MirrorModule>(env.datapath);
}

void MirrorModule::make_stages(pipeline::StageSet& out) const {
  const bool datapath_thread = out.thread() != pipeline::StageSet::kNoThread;
  auto st = std::make_unique<TapStage>(datapath_thread ? this : nullptr);
  if (datapath_thread) {
    std::lock_guard lock(stages_mutex_);
    stages_.push_back(st.get());
  }
  out.add(std::move(st), {pipeline::AttachPoint::kReceive, pipeline::AttachPoint::kEgress, pipeline::AttachPoint::kPoll});
}

void MirrorModule::forget(const TapStage* st) const {
  std::lock_guard lock(stages_mutex_);
  std::erase(stages_, st);
}

void MirrorModule::sum_counters(uint8_t slot, MirrorCounters& out) const {
  std::lock_guard lock(stages_mutex_);
  for (const TapStage* st : stages_) {
    const MirrorCounters& c = st->counters()[slot];
    out.eligible.add(c.eligible.get());
    out.filtered_out.add(c.filtered_out.get());
    out.sampled_out.add(c.sampled_out.get());
    out.copied.add(c.copied.get());
    out.no_buffer.add(c.no_buffer.get());
    out.queue_full.add(c.queue_full.get());
    out.duplicate.add(c.duplicate.get());
  }
}

void MirrorModule::on_mirrors(std::shared_ptr<const MirrorSet> set) {
  // A mirror kept unchanged keeps its slot and generation (and its counters); any other
  // slot the last set held is free now: no datapath thread sees the last set any more.
  if (published_) {
    for (size_t i = 0; i < published_->size(); ++i) {
      const CompiledMirror& old = published_->mirror(static_cast<uint8_t>(i));
      bool kept = false;
      for (size_t k = 0; set && k < set->size(); ++k)
        kept |= set->mirror(static_cast<uint8_t>(k)).slot == old.slot && set->mirror(static_cast<uint8_t>(k)).generation == old.generation;
      if (kept) continue;
      std::lock_guard lock(stages_mutex_);
      for (TapStage* st : stages_) st->reset_slot(old.slot);
    }
  }
  published_ = std::move(set);
}

}  // namespace ivs::mirror
