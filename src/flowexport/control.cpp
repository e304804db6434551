// Flow records over IPFIX (docs/flow-export.md): `ivctl flow-export show|add|del` and the
// exporter's counters for /metrics.
#include <fmt/format.h>

#include <cstring>

#include "common/counter_metrics.hpp"
#include "common/params.hpp"
#include "flowexport/counter_fields.hpp"
#include "flowexport/ipfix.hpp"
#include "flowexport/module.hpp"

namespace ivs::flowexport {

using control::Params;
using nlohmann::json;

json FlowExportModule::view() const {
  const Exporter& ex = *exporter_;
  const auto& cfg = ex.config();
  json collectors = json::array();
  uint64_t messages = 0, records = 0, templates = 0, errors = 0, dropped = 0;
  for (const auto& r : ex.snapshot()) {
    json row = json::object();
    IVS_FLOW_EXPORT_COLLECTOR_FIELDS(IVS_FIELD_JSON)
    collectors.push_back(std::move(row));
    messages += r.messages;
    records += r.records;
    templates += r.templates;
    errors += r.send_errors;
    dropped += r.records_dropped;
  }
  json row{{"active_timeout_s", cfg.active_timeout_s},
           {"template_interval_s", cfg.template_interval_s},
           {"observation_domain", cfg.observation_domain},
           {"enterprise_number", cfg.enterprise_number},
           {"max_message_bytes", cfg.max_message_bytes},
           {"queue_records", cfg.queue_records},
           {"templates", {{"ipv4", kTemplateIpv4}, {"ipv6", kTemplateIpv6}}},
           {"totals", {{"messages", messages}, {"records", records}, {"templates", templates}, {"send_errors", errors}, {"records_dropped", dropped}}}};
  IVS_FLOW_EXPORT_FIELDS(IVS_FIELD_JSON)
  return row;
}

void FlowExportModule::add_control_methods(const pipeline::AddControlMethod& add) {
  add("flow_export.show", [this](const json&) -> Result<json> { return view(); });
  add("flow_export.add", [this](const json& params) -> Result<json> {
    auto target = Params(params).string("collector", "", 300, true);
    if (!target) return std::unexpected(target.error());
    // Refused: a collector that exists, one too many, or an address that does not resolve.
    if (auto ok = exporter_->add(*target); !ok) return fail(ErrorCode::kRefused, ok.error(), "params.collector");
    return json{{"added", *target}};
  });
  add("flow_export.del", [this](const json& params) -> Result<json> {
    auto target = Params(params).string("collector", "", 300, true);
    if (!target) return std::unexpected(target.error());
    // Exporter::remove's one refusal is a collector it does not have.
    if (auto ok = exporter_->remove(*target); !ok) return fail(ErrorCode::kNotFound, ok.error(), "params.collector");
    return json{{"deleted", *target}};
  });
}

std::string FlowExportModule::metrics() const {
  const json v = view();
  std::string out;
  control::append_metrics(out, kCollectorSchema, v);
  control::append_metrics(out, kExporterSchema, v);
  return out;
}

}  // namespace ivs::flowexport
