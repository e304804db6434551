// Flow records over IPFIX (docs/flow-export.md): `ivctl flow-export show|add|del` and the
// exporter's counters for /metrics.
#include <fmt/format.h>

#include <cstring>
#include <stdexcept>

#include "control/params.hpp"
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
          {"templates", {{"ipv4", kTemplateIpv4}, {"ipv6", kTemplateIpv6}}},
          {"collectors", collectors},
          {"records_queued", ex.stats().records_queued.get()},
          {"queue_full", ex.stats().queue_full.get()},
          {"queued_now", ex.queued()},
          {"totals", {{"messages", messages}, {"records", records}, {"templates", templates}, {"send_errors", errors}, {"records_dropped", dropped}}}};
}

void FlowExportModule::add_control_methods(const pipeline::AddControlMethod& add) {
  add("flow_export.show", [this](const json&) { return view(); });
  add("flow_export.add", [this](const json& params) {
    const std::string target = Params(params).string("collector", "", 300, true);
    if (auto ok = exporter_->add(target); !ok) throw std::runtime_error(ok.error());
    return json{{"added", target}};
  });
  add("flow_export.del", [this](const json& params) {
    const std::string target = Params(params).string("collector", "", 300, true);
    if (auto ok = exporter_->remove(target); !ok) throw std::runtime_error(ok.error());
    return json{{"deleted", target}};
  });
}

std::string FlowExportModule::metrics() const {
  const json v = view();
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

}  // namespace ivs::flowexport
