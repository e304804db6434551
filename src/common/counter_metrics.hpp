#pragma once
// The control side of the counter declarations (common/counter_schema.hpp): a snapshot
// row to JSON by a field list, and /metrics from the JSON views by a Schema.
// In src/common, not src/control: the jobs' own control methods (src/<job>/control.cpp)
// use it as the control server does, and the jobs sit below the control server.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/counter_schema.hpp"

namespace ivs::control {

// Puts `value` at a field's key in `row` ('/' nests: "device/rx_missed"); a discarded
// value (json(json::value_t::discarded)) is a counter that does not exist now: no key.
void put_field(nlohmann::json& row, std::string_view key, nlohmann::json value);
// The field's value in a row (nullptr when the row has no such key).
const nlohmann::json* get_field(const nlohmann::json& row, std::string_view key);

// {name: count} of a declared label set; only the counts not 0 when `nonzero_only`.
template <size_t N>
nlohmann::json label_set_json(const LabelSet& set, const std::array<uint64_t, N>& counts, bool nonzero_only) {
  nlohmann::json o = nlohmann::json::object();
  for (size_t i = 0, n = set.count(); i < N && i < n; ++i)
    if (!nonzero_only || counts[i]) o[std::string(set.name(i))] = counts[i];
  return o;
}

// Expands a field list X-macro into statements filling `row` (a json) from `r`.
#define IVS_FIELD_JSON(key, kind, u, metric, label, column, help, expr) ::ivs::control::put_field(row, key, expr);

// Appends every family the schema declares, in declaration order: HELP and TYPE, then a
// series per row (and per value of a label set), labelled by the row's labels. A family
// whose key no row has is left out (with no rows at all it is listed, empty).
void append_metrics(std::string& out, const Schema& schema, const nlohmann::json& view);

// A label value with \, " and newline escaped, as the text format wants.
std::string label_value(std::string_view v);

}  // namespace ivs::control
