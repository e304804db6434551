#pragma once
// The port table's slots (docs/architecture.md, "Ports that come and go"): which slot a
// port added by a reload takes, and which datapath thread polls it. Pure functions of the
// table's state, so that a reload plans them before it opens anything. Control thread.
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace ivs::pipeline {

// free -> live (opened, in an rx list and the tables) -> retired (out of them, closed)
// -> free. A slot retired by a reload is free for the next reload, never for the one that
// retired it: by then the grace periods of its removal have passed and nothing refers to it.
enum class PortSlot : uint8_t { kFree, kLive, kRetired };

struct SlotPlan {
  std::vector<uint16_t> retire;  // the removed ports' slots
  std::vector<uint16_t> take;    // a slot per added port, in the order asked
  std::vector<unsigned> pmd;     // the datapath thread that polls each added port
};

// `slots`: the table now; `slot_pmd`: the thread polling each live slot; `removed`: live
// slots this reload removes; `added`: one entry per added port, its thread when its `core`
// names one, else none (the thread with the fewest ports once the removed ones are gone,
// the lowest index on a tie). Refused when the free slots do not suffice.
std::expected<SlotPlan, std::string> plan_slots(const std::vector<PortSlot>& slots, const std::vector<unsigned>& slot_pmd,
                                                const std::vector<uint16_t>& removed, const std::vector<std::optional<unsigned>>& added,
                                                unsigned n_pmds);

}  // namespace ivs::pipeline
