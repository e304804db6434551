// ivctl flow-export show|add|del: the IPFIX exporter's settings, collectors and counters.
#include <fmt/format.h>

#include "cli/show.hpp"
#include "cli/schema_table.hpp"
#include "cli/table.hpp"
#include "flowexport/counter_fields.hpp"

namespace ivs::cli {

using nlohmann::json;

std::string render_flow_export(const json& v) {
  std::string out = fmt::format(
      "IPFIX: active timeout {} s, templates every {} s (ids {} IPv4, {} IPv6), observation domain {}, enterprise {}, "
      "messages <= {} bytes\nqueue: {} records queued in all, {} dropped (queue full), {} waiting now (bound {})\n",
      v["active_timeout_s"].dump(), v["template_interval_s"].dump(), v["templates"]["ipv4"].dump(), v["templates"]["ipv6"].dump(),
      v["observation_domain"].dump(), v["enterprise_number"].dump(), v["max_message_bytes"].dump(), v["records_queued"].dump(),
      v["queue_full"].dump(), v["queued_now"].dump(), v["queue_records"].dump());
  if (v["collectors"].empty()) return out + "no collectors (ivctl flow-export add HOST:PORT)\n";
  const CellOverrides none_as_dash{{"LAST-ERROR", [](const json& c) {
                                      const auto e = c["last_error"].get<std::string>();
                                      return e.empty() ? std::string("-") : e;
                                    }}};
  return out + schema_table({flowexport::kCollectorFields}, flowexport::kCollectorTable, v["collectors"], none_as_dash).render();
}

std::string render_flow_export_change(const json& v) {
  if (v.contains("added")) return fmt::format("collector {} added: records and templates go to it from now on\n", v["added"].get<std::string>());
  return fmt::format("collector {} removed\n", v["deleted"].get<std::string>());
}

}  // namespace ivs::cli
