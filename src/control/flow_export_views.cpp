// Flow records over IPFIX (docs/flow-export.md): `ivctl flow-export show|add|del` and the
// exporter's counters for /metrics.
#include <fmt/format.h>

#include <cstring>

#include "control/params.hpp"
#include "control/views.hpp"
#include "flowexport/counter_fields.hpp"
#include "flowexport/ipfix.hpp"

namespace ivs::control {

using nlohmann::json;

json view_flow_export(const pipeline::Datapath& dp) {
  const flowexport::Exporter& ex = dp.flow_exporter();
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
           {"templates", {{"ipv4", flowexport::kTemplateIpv4}, {"ipv6", flowexport::kTemplateIpv6}}},
           {"totals", {{"messages", messages}, {"records", records}, {"templates", templates}, {"send_errors", errors}, {"records_dropped", dropped}}}};
  IVS_FLOW_EXPORT_FIELDS(IVS_FIELD_JSON)
  return row;
}

Result<json> flow_export_add(pipeline::Datapath& dp, const json& params) {
  auto target = Params(params).string("collector", "", 300, true);
  if (!target) return std::unexpected(target.error());
  // Refused: a collector that exists, one too many, or an address that does not resolve.
  if (auto ok = dp.flow_exporter().add(*target); !ok) return fail(ErrorCode::kRefused, ok.error(), "params.collector");
  return json{{"added", *target}};
}

Result<json> flow_export_del(pipeline::Datapath& dp, const json& params) {
  auto target = Params(params).string("collector", "", 300, true);
  if (!target) return std::unexpected(target.error());
  // Exporter::remove's one refusal is a collector it does not have.
  if (auto ok = dp.flow_exporter().remove(*target); !ok) return fail(ErrorCode::kNotFound, ok.error(), "params.collector");
  return json{{"deleted", *target}};
}

std::string flow_export_metrics(const pipeline::Datapath& dp) {
  const json v = view_flow_export(dp);
  std::string out;
  append_metrics(out, flowexport::kCollectorSchema, v);
  append_metrics(out, flowexport::kExporterSchema, v);
  return out;
}

}  // namespace ivs::control
