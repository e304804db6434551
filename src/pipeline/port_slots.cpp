#include "pipeline/port_slots.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace ivs::pipeline {

std::expected<SlotPlan, std::string> plan_slots(const std::vector<PortSlot>& slots, const std::vector<unsigned>& slot_pmd,
                                                const std::vector<uint16_t>& removed, const std::vector<std::optional<unsigned>>& added,
                                                unsigned n_pmds) {
  SlotPlan plan;
  std::vector<unsigned> load(n_pmds, 0);
  for (size_t s = 0; s < slots.size(); ++s) {
    const bool goes = std::find(removed.begin(), removed.end(), s) != removed.end();
    if (slots[s] == PortSlot::kLive && !goes && s < slot_pmd.size() && slot_pmd[s] < n_pmds) ++load[slot_pmd[s]];
  }
  for (uint16_t s : removed) {
    if (s >= slots.size() || slots[s] != PortSlot::kLive) return std::unexpected(fmt::format("slot {} holds no live port", s));
    plan.retire.push_back(s);
  }
  size_t next_free = 0;
  for (const auto& core : added) {
    while (next_free < slots.size() && slots[next_free] == PortSlot::kLive) ++next_free;
    if (next_free == slots.size())
      return std::unexpected(fmt::format("no free slot in the port table ({} slots; those this reload frees are reused from the next one)",
                                         slots.size()));
    plan.take.push_back(static_cast<uint16_t>(next_free++));
    unsigned pmd = core.value_or(0);
    if (!core)
      pmd = static_cast<unsigned>(std::min_element(load.begin(), load.end()) - load.begin());
    plan.pmd.push_back(pmd);
    if (pmd < n_pmds) ++load[pmd];
  }
  return plan;
}

}  // namespace ivs::pipeline
