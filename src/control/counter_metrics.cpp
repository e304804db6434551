#include "control/counter_metrics.hpp"

#include <fmt/format.h>

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

void put_field(json& row, std::string_view key, json value) { row[pointer(key)] = std::move(value); }

const json* get_field(const json& row, std::string_view key) {
  const auto p = pointer(key);
  return row.contains(p) ? &row.at(p) : nullptr;
}

void append_metrics(std::string& out, const Schema& schema, const json& view) {
  static const json kNoRows = json::array();
  const json one = json::array({view});
  const json& rows = schema.rows.empty() ? one : view.contains(schema.rows) ? view.at(std::string(schema.rows)) : kNoRows;
  const auto& fields = schema.fields;
  for (size_t i = 0; i < fields.size(); ++i) {
    const Field& first = fields[i];
    if (first.metric.empty() || (i > 0 && fields[i - 1].metric == first.metric)) continue;  // not exported, or not a family's first
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", first.metric, first.help, first.metric,
                       first.kind == FieldKind::kGauge ? "gauge" : "counter");
    for (const json& row : rows) {
      std::string labels;
      for (const RowLabel& l : schema.labels)
        labels += fmt::format("{}{}=\"{}\"", labels.empty() ? "" : ",", l.name, label_value(text(row.at(std::string(l.key)))));
      for (size_t j = i; j < fields.size() && fields[j].metric == first.metric; ++j) {
        const Field& f = fields[j];
        const json* v = get_field(row, f.key);
        if (!v) continue;
        if (f.label.each) {
          const LabelSet& set = *f.label.each;
          for (size_t k = 0; k < set.count; ++k) {
            const std::string name(set.name(k));
            series(out, f.metric, labels, fmt::format("{}=\"{}\"", set.label, name),
                   v->contains(name) ? prom_value(v->at(name), f.unit, row) : "0");
          }
        } else {
          series(out, f.metric, labels, f.label.fixed, prom_value(*v, f.unit, row));
        }
      }
    }
  }
}

}  // namespace ivs::control
