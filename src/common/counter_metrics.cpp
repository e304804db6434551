#include "common/counter_metrics.hpp"

#include <fmt/format.h>

#include <vector>

namespace ivs::control {

using nlohmann::json;

namespace {
json::json_pointer pointer(std::string_view key) { return json::json_pointer("/" + std::string(key)); }

std::string text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// A JSON value in Prometheus's base unit, formatted as before the declarations (fmt's
// shortest form of the same integer or double).
std::string prom_value(const json& v, Unit u, const json& row) {
  switch (u) {
    case Unit::kFlag: return (v.is_boolean() ? v.get<bool>() : v.is_string() && v.get<std::string>() == "up") ? "1" : "0";
    case Unit::kLength: return fmt::format("{}", v.size());
    case Unit::kKibibytes: return fmt::format("{}", v.get<uint64_t>() << 10);
    case Unit::kMilliseconds: return fmt::format("{}", v.get<double>() / 1e3);
    case Unit::kMicroseconds: return fmt::format("{}", v.get<double>() / 1e6);
    case Unit::kCycles: return fmt::format("{}", v.get<double>() / row.at("tsc_hz").get<double>());
    default: break;
  }
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  if (v.is_number_unsigned()) return fmt::format("{}", v.get<uint64_t>());
  if (v.is_number_integer()) return fmt::format("{}", v.get<int64_t>());
  return v.dump();
}

struct Row {
  const json* row;
  const json* parent;
};

// The schema's rows in the view: the view itself, an array, or arrays in an array's elements.
std::vector<Row> rows_of(const Schema& schema, const json& view) {
  std::vector<Row> out;
  if (schema.rows.empty()) return {{&view, nullptr}};
  const auto slash = schema.rows.find('/');
  const std::string outer(schema.rows.substr(0, slash));
  if (!view.contains(outer)) return out;
  for (const json& r : view.at(outer)) {
    if (slash == std::string_view::npos) {
      out.push_back({&r, nullptr});
      continue;
    }
    const std::string inner(schema.rows.substr(slash + 1));
    if (r.contains(inner))
      for (const json& c : r.at(inner)) out.push_back({&c, &r});
  }
  return out;
}

void series(std::string& out, std::string_view metric, const std::string& labels, std::string_view extra, const std::string& value) {
  std::string l = labels;
  if (!extra.empty()) l += (l.empty() ? "" : ",") + std::string(extra);
  out += l.empty() ? fmt::format("{} {}\n", metric, value) : fmt::format("{}{{{}}} {}\n", metric, l, value);
}
}  // namespace

std::string label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void put_field(json& row, std::string_view key, json value) {
  if (value.is_discarded()) return;  // a counter that does not exist now (test mode's)
  row[pointer(key)] = std::move(value);
}

const json* get_field(const json& row, std::string_view key) {
  const auto p = pointer(key);
  return row.contains(p) ? &row.at(p) : nullptr;
}

void append_metrics(std::string& out, const Schema& schema, const json& view) {
  const std::vector<Row> rows = rows_of(schema, view);
  const auto& fields = schema.fields;
  for (size_t i = 0; i < fields.size(); ++i) {
    const Field& first = fields[i];
    if (first.metric.empty() || (i > 0 && fields[i - 1].metric == first.metric)) continue;  // not exported, or not a family's first
    // A family no row has (a test mode's counters) is left out; with no rows at all it is
    // listed, empty.
    bool present = rows.empty();
    for (const auto& [r, parent] : rows)
      for (size_t j = i; j < fields.size() && fields[j].metric == first.metric; ++j) present |= get_field(*r, fields[j].key) != nullptr;
    if (!present) continue;
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", first.metric, first.help, first.metric,
                       first.kind == FieldKind::kGauge ? "gauge" : "counter");
    for (const auto& [r, parent] : rows) {
      const json& row = *r;
      std::string labels;
      for (const RowLabel& l : schema.labels) {
        const bool up = l.key.starts_with("../");
        const json& from = up && parent ? *parent : row;
        labels += fmt::format("{}{}=\"{}\"", labels.empty() ? "" : ",", l.name,
                              label_value(text(from.at(std::string(up ? l.key.substr(3) : l.key)))));
      }
      for (size_t j = i; j < fields.size() && fields[j].metric == first.metric; ++j) {
        const Field& f = fields[j];
        const json* v = get_field(row, f.key);
        if (!v) continue;
        if (f.label.each) {
          const LabelSet& set = *f.label.each;
          for (size_t k = 0, n = set.count(); k < n; ++k) {
            const std::string name(set.name(k));
            series(out, f.metric, labels, fmt::format("{}=\"{}\"", set.label, name),
                   v->contains(name) ? prom_value(v->at(name), f.unit, row) : "0");
          }
        } else if (!f.label.keys.empty()) {
          for (const auto& [k, n] : v->items())
            series(out, f.metric, labels, fmt::format("{}=\"{}\"", f.label.keys, label_value(k)), prom_value(n, f.unit, row));
        } else {
          series(out, f.metric, labels, f.label.fixed, prom_value(*v, f.unit, row));
        }
      }
    }
  }
}

}  // namespace ivs::control
