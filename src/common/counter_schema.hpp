#pragma once
// Counters declared once. A group of counters (the ports, the datapath threads, the
// switch-wide stats, a job's counters) is a Schema: a list of Fields, each naming its JSON
// key, its Prometheus family (name, type, help, labels, unit) and its CLI column. The
// control side fills the JSON from the snapshot (one expression per field, next to its
// declaration: pipeline/counter_fields.hpp), and /metrics and ivctl's tables are then
// generated from the JSON by walking the same fields (common/counter_metrics.cpp,
// cli/schema_table.cpp). docs/counters.md's tables are generated too and a unit test
// keeps them current (tests/unit/counter_schema_test.cpp).
//
// Header-only and without DPDK: ivctl includes it. Nothing here runs on the datapath,
// which keeps incrementing its plain per-thread counters (common/counter.hpp).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ivs {

// info: not a counter (a name, a type, a config value) but a column or key of the same
// rows; counter: only goes up (Prometheus counter); gauge: a value now.
enum class FieldKind : uint8_t { kInfo, kCounter, kGauge };

// The unit a value has in the JSON (and the CLI); /metrics converts to Prometheus's base
// units: KiB to bytes, ms and us to seconds, TSC cycles to seconds (by the row's
// "tsc_hz"); a flag (true, or the string "up") is 1, else 0; a length is the JSON
// array's size; a ratio (0..1) is shown as a percentage by the CLI.
enum class Unit : uint8_t { kNone, kBytes, kKibibytes, kSeconds, kMilliseconds, kMicroseconds, kCycles, kRatio, kFlag, kLength };

// A label whose values are a fixed, declared list: one series per value (drop reasons,
// events). The JSON holds an object {value: count}; values missing from it are 0.
// (A function, not a number: the drop reasons' count is known once the modules' reasons
// are numbered, at startup.)
struct LabelSet {
  std::string_view label;  // e.g. "reason"
  size_t (*count)();
  std::string_view (*name)(size_t);
  std::string_view (*help)(size_t);
};

// A series' labels besides its row's: none, a fixed one (to="up"), one per value of a
// declared set, or one per key the JSON object has (keys: DSCP names seen, colours).
struct FieldLabel {
  std::string_view fixed;  // `name="value"`, already quoted
  const LabelSet* each = nullptr;
  std::string_view keys;   // the label's name; its values are the object's keys
};
inline constexpr FieldLabel no_label{};
constexpr FieldLabel fixed_label(std::string_view l) { return {l, nullptr, {}}; }
constexpr FieldLabel each_label(const LabelSet& s) { return {{}, &s, {}}; }
constexpr FieldLabel key_label(std::string_view name) { return {{}, nullptr, name}; }

// A counter or gauge left out of /metrics on purpose, and why (in the label's place of a
// declaration: a field without a metric has no label). Every counter and gauge has a
// metric or this: a sum or ratio of exported series (Prometheus computes those itself),
// a listing per flow. The unit test refuses one with neither (docs/counters.md promises
// that what ivctl shows is in /metrics).
struct CliOnly {
  std::string_view why;
};
constexpr CliOnly cli_only(std::string_view why) { return {why}; }

struct Field {
  std::string_view key;     // JSON key in the row, '/' nests ("device/rx_missed")
  FieldKind kind;
  Unit unit;
  std::string_view metric;  // Prometheus family; empty: not in /metrics
  FieldLabel label;
  std::string_view column;  // ivctl table column; empty: none. Fields sharing a column are joined by '/'
  std::string_view help;    // the family's HELP line (its first field's), and the docs' meaning
  std::string_view cli_only = {};  // why a counter or gauge has no metric (CliOnly)
};

// The label slot of a declaration holds a FieldLabel, or a CliOnly for a field without a metric.
constexpr FieldLabel label_of(FieldLabel l) { return l; }
constexpr FieldLabel label_of(CliOnly) { return no_label; }
constexpr std::string_view cli_only_of(FieldLabel) { return {}; }
constexpr std::string_view cli_only_of(CliOnly c) { return c.why; }

// A row label: Prometheus label `name` takes the row's JSON `key` ("../key": its parent
// row's, for nested rows).
struct RowLabel {
  std::string_view name, key;
};

struct Schema {
  std::string_view name;    // for docs and tests ("ports")
  std::string_view rows;    // JSON key of the view's array of rows ("egress/queues": the arrays
                            // in each element of an array); empty: the view is the one row
  std::span<const RowLabel> labels;
  std::span<const Field> fields;
};

// Spellings for the declaration lists (X-macros), so that a line reads as a table row.
namespace fk {
inline constexpr FieldKind info = FieldKind::kInfo, counter = FieldKind::kCounter, gauge = FieldKind::kGauge;
}
namespace unit {
inline constexpr Unit none = Unit::kNone, bytes = Unit::kBytes, kib = Unit::kKibibytes, seconds = Unit::kSeconds,
                      ms = Unit::kMilliseconds, us = Unit::kMicroseconds, cycles = Unit::kCycles, ratio = Unit::kRatio,
                      flag = Unit::kFlag, length = Unit::kLength;
}

// Expands an X-macro list X(key, kind, unit, metric, label or cli_only, column, help, expr) into Fields
// (the expression, which reads a snapshot row `r`, is for the control side only).
#define IVS_FIELD_DECL(key, kind, u, metric, label, column, help, expr) \
  ::ivs::Field{key, ::ivs::fk::kind, ::ivs::unit::u, metric, ::ivs::label_of(label), column, help, ::ivs::cli_only_of(label)},

}  // namespace ivs
