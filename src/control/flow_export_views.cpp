// Flow records over IPFIX (docs/flow-export.md): `ivctl flow-export show|add|del` and the
// exporter's counters for /metrics.
#include <fmt/format.h>

#include <cstring>

#include "control/params.hpp"
#include "control/views.hpp"
#include "flowexport/ipfix.hpp"

namespace ivs::control {

using nlohmann::json;

json view_flow_export(const pipeline::Datapath& dp) {
  const flowexport::Exporter& ex = dp.flow_exporter();
  const auto& cfg = ex.config();
  json collectors = json::array();
  uint64_t messages = 0, records = 0, templates = 0, errors = 0, dropped = 0;
  for (const auto& c : ex.snapshot()) {
    collectors.push_back({{"collector", c.target},
                          {"address", c.address},
                          {"messages", c.messages},
                          {"records", c.records},
                          {"templates", c.templates},
                          {"send_errors", c.send_errors},
                          {"records_dropped", c.records_dropped},
                          {"last_error", c.last_errno ? std::string(std::strerror(c.last_errno)) : std::string()}});
    messages += c.messages;
    records += c.records;
    templates += c.templates;
    errors += c.send_errors;
    dropped += c.records_dropped;
  }
  return {{"active_timeout_s", cfg.active_timeout_s},
          {"template_interval_s", cfg.template_interval_s},
          {"observation_domain", cfg.observation_domain},
          {"enterprise_number", cfg.enterprise_number},
          {"max_message_bytes", cfg.max_message_bytes},
          {"queue_records", cfg.queue_records},
          {"templates", {{"ipv4", flowexport::kTemplateIpv4}, {"ipv6", flowexport::kTemplateIpv6}}},
          {"collectors", collectors},
          {"records_queued", ex.stats().records_queued.get()},
          {"queue_full", ex.stats().queue_full.get()},
          {"queued_now", ex.queued()},
          {"totals", {{"messages", messages}, {"records", records}, {"templates", templates}, {"send_errors", errors}, {"records_dropped", dropped}}}};
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
  auto family = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  auto per_collector = [&](const char* name, const char* help, const char* key) {
    family(name, "counter", help);
    for (const auto& c : v["collectors"])
      out += fmt::format("{}{{collector=\"{}\"}} {}\n", name, c["collector"].get<std::string>(), c[key].get<uint64_t>());
  };
  per_collector("ivswitch_flow_export_records_total", "Flow records sent to each IPFIX collector.", "records");
  per_collector("ivswitch_flow_export_messages_total", "IPFIX messages (UDP datagrams) sent to each collector, templates included.", "messages");
  per_collector("ivswitch_flow_export_templates_total", "Template messages sent to each collector.", "templates");
  per_collector("ivswitch_flow_export_send_errors_total", "Sends that failed (collector gone: connection refused; socket buffer full; no route).", "send_errors");
  per_collector("ivswitch_flow_export_records_dropped_total", "Records lost with a failed send.", "records_dropped");
  family("ivswitch_flow_export_records_queued_total", "counter", "Flow records built by the policy thread and queued for the collectors.");
  out += fmt::format("ivswitch_flow_export_records_queued_total {}\n", v["records_queued"].get<uint64_t>());
  family("ivswitch_flow_export_queue_full_total", "counter", "Flow records dropped because the exporter's queue was full.");
  out += fmt::format("ivswitch_flow_export_queue_full_total {}\n", v["queue_full"].get<uint64_t>());
  family("ivswitch_flow_export_collectors", "gauge", "IPFIX collectors configured now.");
  out += fmt::format("ivswitch_flow_export_collectors {}\n", v["collectors"].size());
  return out;
}

}  // namespace ivs::control
