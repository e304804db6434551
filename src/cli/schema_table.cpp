#include "cli/schema_table.hpp"

#include <fmt/format.h>

namespace ivs::cli {

using nlohmann::json;

std::string field_cell(const Field& f, const json& row) {
  const auto p = json::json_pointer("/" + std::string(f.key));
  if (!row.contains(p)) return "-";
  const json& v = row.at(p);
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string s;
    for (const auto& e : v) s += (s.empty() ? "" : ",") + (e.is_string() ? e.get<std::string>() : e.dump());
    return s;
  }
  if (v.is_number_float()) {
    if (f.unit == Unit::kRatio) return fmt::format("{:.1f}", 100 * v.get<double>());
    if (f.unit == Unit::kSeconds || f.unit == Unit::kMilliseconds) return fmt::format("{:.2f}", v.get<double>());
    return fmt::format("{:.1f}", v.get<double>());
  }
  return v.dump();
}

std::string column_cell(std::initializer_list<std::span<const Field>> fields, std::string_view column, const json& row) {
  std::string cell;
  bool any = false;
  for (const auto& list : fields)
    for (const Field& f : list)
      if (f.column == column) {
        cell += (any ? "/" : "") + field_cell(f, row);
        any = true;
      }
  return cell;
}

Table schema_table(std::initializer_list<std::span<const Field>> fields, std::span<const std::string_view> columns, const json& rows,
                   const CellOverrides& overrides) {
  Table t(std::vector<std::string>(columns.begin(), columns.end()));
  for (const json& row : rows) {
    std::vector<std::string> cells;
    for (const std::string_view c : columns) {
      const auto o = overrides.find(c);
      cells.push_back(o != overrides.end() ? o->second(row) : column_cell(fields, c, row));
    }
    t.add(std::move(cells));
  }
  return t;
}

}  // namespace ivs::cli
