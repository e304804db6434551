#include "mirror/module.hpp"

#include <fmt/format.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring_elem.h>

#include <algorithm>

#include "mirror/broker.hpp"
#include "mirror/mirror_set.hpp"
#include "mirror/tap_stage.hpp"
#include "pipeline/datapath.hpp"

namespace ivs::mirror {

std::expected<std::unique_ptr<pipeline::Module>, std::string> MirrorModule::create(const pipeline::ModuleEnv& env) {
  auto mod = std::make_unique<MirrorModule>(env.datapath);
  if (env.datapath) {
    if (auto ok = mod->make_broker(env); !ok) return std::unexpected(ok.error());
    // The config's mirrors, published before any datapath thread runs.
    std::lock_guard lock(mod->mutex_);
    mod->file_mirrors_ = env.cfg.mirrors;
    if (auto ok = mod->set_mirrors(env.cfg.mirrors); !ok) return std::unexpected(ok.error());
  }
  return mod;
}

std::expected<void, std::string> MirrorModule::make_broker(const pipeline::ModuleEnv& env) {
  pool_ = rte_pktmbuf_pool_create("ivs_mirror", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, env.socket);
  if (!pool_) return std::unexpected(fmt::format("cannot create the mirror pool: {}", rte_strerror(rte_errno)));
  for (unsigned k = 0; k < env.threads; ++k) {
    tap_rings_.push_back(rte_ring_create_elem(fmt::format("ivs_tap{}", k).c_str(), sizeof(TapRecord), 4096, env.socket,
                                              RING_F_SP_ENQ | RING_F_SC_DEQ));
    tool_rings_.push_back(rte_ring_create_elem(fmt::format("ivs_tool{}", k).c_str(), sizeof(ToolPacket), 1024, env.socket,
                                               RING_F_SP_ENQ | RING_F_SC_DEQ));
    if (!tap_rings_.back() || !tool_rings_.back()) return std::unexpected("cannot create the mirror rings");
  }
  std::vector<unsigned> owners;
  std::vector<uint16_t> ids;
  std::vector<std::string> names;
  for (const auto& p : env.ports) {
    owners.push_back(p.thread);
    ids.push_back(p.ethdev_id);
    names.push_back(p.name);
  }
  broker_ = std::make_unique<Broker>(tap_rings_, tool_rings_, owners, ids, names, pool_);
  return {};
}

MirrorModule::MirrorModule(pipeline::Datapath* dp) : dp_(dp) {}

MirrorModule::~MirrorModule() {
  // Copies for tool ports no datapath thread sent (the threads and the broker have
  // stopped). The rings and the pool are left to the EAL, as they always were.
  for (rte_ring* r : tool_rings_) {
    ToolPacket tps[32];
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst_elem(r, tps, sizeof(ToolPacket), 32, nullptr)) > 0)
      for (unsigned i = 0; i < n; ++i) rte_pktmbuf_free(tps[i].m);
  }
}

std::expected<void, std::string> MirrorModule::start() {
  if (broker_) broker_->start();
  return {};
}

void MirrorModule::stop() {
  if (broker_) broker_->stop();
}

TapRings MirrorModule::rings(unsigned thread) const noexcept {
  if (thread >= tap_rings_.size()) return {};
  return {pool_, tap_rings_[thread], tool_rings_[thread], &broker_->tools_full()};
}

void MirrorModule::make_stages(pipeline::StageSet& out) const {
  const bool datapath_thread = out.thread() != pipeline::StageSet::kNoThread;
  auto st = std::make_unique<TapStage>(datapath_thread ? this : nullptr, &set_, rings(out.thread()));
  if (datapath_thread) {
    std::lock_guard lock(stages_mutex_);
    stages_.push_back(st.get());
  }
  out.add(std::move(st),
          {pipeline::AttachPoint::kReceive, pipeline::AttachPoint::kLookup, pipeline::AttachPoint::kEgress, pipeline::AttachPoint::kPoll},
          /*begins_bursts=*/true);
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
    out.tools_full.add(c.tools_full.get());
    out.filter_runs.add(c.filter_runs.get());
    out.verdict_cached.add(c.verdict_cached.get());
  }
}

}  // namespace ivs::mirror
