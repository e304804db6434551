#include "mirror/mirror_set.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>

namespace ivs::mirror {

std::expected<std::unique_ptr<MirrorSet>, std::string> MirrorSet::compile(const config::Config& cfg,
                                                                         const std::vector<config::MirrorConfig>& mirrors,
                                                                         const std::vector<uint8_t>& slots,
                                                                         const std::vector<uint32_t>& generations,
                                                                         const PortSlotOf& port_slot, size_t port_slots) {
  auto set = std::make_unique<MirrorSet>();
  static std::atomic<uint32_t> next_id{1};
  do set->id_ = next_id.fetch_add(1, std::memory_order_relaxed);
  while (set->id_ == 0);
  const PortSlotOf in_config_order = [&cfg](const std::string& name) {
    const config::PortConfig* p = cfg.find_port(name);
    return p ? static_cast<int>(p - cfg.ports.data()) : -1;
  };
  const PortSlotOf& slot_of = port_slot ? port_slot : in_config_order;
  const size_t n_slots = std::max(port_slots, cfg.ports.size());
  set->rx_.resize(n_slots);
  set->tx_.resize(n_slots);
  set->dedup_rx_.resize(n_slots, 0);
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
      const int slot = slot_of(t.port);
      if (slot < 0 || static_cast<size_t>(slot) >= n_slots)
        return std::unexpected(fmt::format("mirror '{}': port '{}' is not in the port table", m.name, t.port));
      const size_t port = static_cast<size_t>(slot);
      if (t.rx) set->rx_[port].push_back(static_cast<uint8_t>(i));
      if (t.rx && m.dedup) set->dedup_rx_[port] |= 1u << i;
      if (t.tx) set->tx_[port].push_back(static_cast<uint8_t>(i));
    }
  }
  return set;
}

}  // namespace ivs::mirror
