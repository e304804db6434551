#pragma once
// A job's drop reasons declared from its one X-macro list, LIST(X) with X(id, name, help):
// the local enum `Drop`, their names and help `kDropInfo`, and `kDrops` (kDrops(Drop::kX)
// is the switch-wide reason, numbered when the table is built; common/drop_reason.hpp).
// Written once here so that every job's reasons.hpp is its list and one line:
//   IVS_DECLARE_JOB_DROP_REASONS(IVS_PORTSEC_DROP_REASONS);   (at namespace scope)
#include <cstdint>

#include "common/drop_reason.hpp"

#define IVS_JOB_DROP_ID(id, name, help) id,
#define IVS_JOB_DROP_INFO(id, name, help) {name, help},
#define IVS_DECLARE_JOB_DROP_REASONS(LIST)                                          \
  enum class Drop : uint8_t { LIST(IVS_JOB_DROP_ID) };                              \
  inline constexpr ::ivs::DropReasonInfo kDropInfo[] = {LIST(IVS_JOB_DROP_INFO)};   \
  inline constinit ::ivs::DropReasons<Drop> kDrops { kDropInfo }
