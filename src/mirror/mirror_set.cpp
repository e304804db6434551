#include "mirror/mirror_set.hpp"

#include <fmt/format.h>

#include <atomic>

namespace ivs::mirror {

std::expected<std::unique_ptr<MirrorSet>, std::string> MirrorSet::compile(const config::Config& cfg,
                                                                         const std::vector<config::MirrorConfig>& mirrors,
                                                                         const std::vector<uint8_t>& slots,
                                                                         const std::vector<uint32_t>& generations) {
  auto set = std::make_unique<MirrorSet>();
  static std::atomic<uint32_t> next_id{1};
  do set->id_ = next_id.fetch_add(1, std::memory_order_relaxed);
  while (set->id_ == 0);
  set->rx_.resize(cfg.ports.size());
  set->tx_.resize(cfg.ports.size());
  set->dedup_rx_.resize(cfg.ports.size(), 0);
  for (size_t i = 0; i < mirrors.size(); ++i) {
    const auto& m = mirrors[i];
    CompiledMirror cm;
    cm.name = m.name;
    cm.slot = slots[i];
    cm.generation = generations[i];
    cm.dedup = m.dedup;
    cm.snaplen = m.snaplen;
    cm.sample = m.sample;
    if (!m.filter.empty()) {
      auto f = packet::PacketFilter::compile(m.filter);
      if (!f) return std::unexpected(fmt::format("mirror '{}': {}", m.name, f.error()));
      cm.filter = std::move(*f);
      for (unsigned l = 0; l < packet::kFrameLayouts; ++l)
        if (cm.filter->analysis().layout[l].per_flow) cm.per_flow |= static_cast<uint8_t>(1u << l);
    }
    set->mirrors_.push_back(std::move(cm));
    for (const auto& t : m.taps) {
      if (t.flows) {
        set->flow_taps_.push_back({static_cast<uint8_t>(i), policy::CompiledMatch::compile(cfg, *t.flows)});
        continue;
      }
      const size_t port = static_cast<size_t>(cfg.find_port(t.port) - cfg.ports.data());
      if (t.rx) set->rx_[port].push_back(static_cast<uint8_t>(i));
      if (t.rx && m.dedup) set->dedup_rx_[port] |= 1u << i;
      if (t.tx) set->tx_[port].push_back(static_cast<uint8_t>(i));
    }
  }
  return set;
}

}  // namespace ivs::mirror
