#pragma once
// ivctl's counter tables generated from the declarations (common/counter_schema.hpp): a
// table lists the columns it shows, each declared by one or more fields (joined by '/'),
// and a row's cells are read from the JSON view at the fields' keys and formatted by unit.
#include <functional>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cli/table.hpp"
#include "common/counter_schema.hpp"

namespace ivs::cli {

// A cell the generic formatting cannot say (several fields in prose): row -> text.
using CellOverrides = std::map<std::string_view, std::function<std::string(const nlohmann::json&)>>;

// One field's value as a cell: integers as is, ratios as a percentage (.1f), seconds and
// ms .2f, other decimals .1f, lists joined by ',', strings as is, missing or null ones "-".
std::string field_cell(const Field& f, const nlohmann::json& row);
// The cell of `column` in `row`: its fields' cells joined by '/'.
std::string column_cell(std::initializer_list<std::span<const Field>> fields, std::string_view column, const nlohmann::json& row);

// A table with `columns` (declared in `fields`) and a row per element of `rows`.
Table schema_table(std::initializer_list<std::span<const Field>> fields, std::span<const std::string_view> columns,
                   const nlohmann::json& rows, const CellOverrides& overrides = {});

}  // namespace ivs::cli
