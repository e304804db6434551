#pragma once
// Flow export's counters, declared once (common/counter_schema.hpp; the columns as in
// pipeline/counter_fields.hpp): per collector (rows: flowexport::CollectorSnapshot `r`)
// and for the exporter (the view itself; `ex` the Exporter, `collectors` the rows' JSON).
// `ivctl flow-export show`, /metrics and docs/counters.md are generated from these.
#include <string_view>

#include "common/counter_schema.hpp"

namespace ivs::flowexport {

#define IVS_FLOW_EXPORT_COLLECTOR_FIELDS(X)                                                                                   \
  X("collector", info, none, "", no_label, "COLLECTOR", "the collector as given (host:port)", r.target)                       \
  X("address", info, none, "", no_label, "ADDRESS", "the address it resolved to", r.address)                                  \
  X("records", counter, none, "ivswitch_flow_export_records_total", no_label, "RECORDS",                                      \
    "Flow records sent to each IPFIX collector.", r.records)                                                                   \
  X("messages", counter, none, "ivswitch_flow_export_messages_total", no_label, "MESSAGES",                                   \
    "IPFIX messages (UDP datagrams) sent to each collector, templates included.", r.messages)                                  \
  X("templates", counter, none, "ivswitch_flow_export_templates_total", no_label, "TEMPLATES",                                \
    "Template messages sent to each collector.", r.templates)                                                                  \
  X("send_errors", counter, none, "ivswitch_flow_export_send_errors_total", no_label, "SEND-ERRORS",                          \
    "Sends that failed (collector gone: connection refused; socket buffer full; no route).", r.send_errors)                    \
  X("records_dropped", counter, none, "ivswitch_flow_export_records_dropped_total", no_label, "RECORDS-DROPPED",              \
    "Records lost with a failed send.", r.records_dropped)                                                                     \
  X("last_error", info, none, "", no_label, "LAST-ERROR", "the last send's error (empty: none)",                              \
    r.last_errno ? std::string(std::strerror(r.last_errno)) : std::string())

#define IVS_FLOW_EXPORT_FIELDS(X)                                                                                             \
  X("records_queued", counter, none, "ivswitch_flow_export_records_queued_total", no_label, "",                               \
    "Flow records built by the policy thread and queued for the collectors.", ex.stats().records_queued.get())                 \
  X("queue_full", counter, none, "ivswitch_flow_export_queue_full_total", no_label, "",                                       \
    "Flow records dropped because the exporter's queue was full.", ex.stats().queue_full.get())                                \
  X("collectors", gauge, length, "ivswitch_flow_export_collectors", no_label, "", "IPFIX collectors configured now.", collectors) \
  X("queued_now", gauge, none, "", no_label, "", "records waiting for the exporter thread now", ex.queued())

inline constexpr Field kCollectorFields[] = {IVS_FLOW_EXPORT_COLLECTOR_FIELDS(IVS_FIELD_DECL)};
inline constexpr Field kExporterFields[] = {IVS_FLOW_EXPORT_FIELDS(IVS_FIELD_DECL)};
inline constexpr RowLabel kCollectorRowLabels[] = {{"collector", "collector"}};
inline constexpr Schema kCollectorSchema{"flow export collectors", "collectors", kCollectorRowLabels, kCollectorFields};
inline constexpr Schema kExporterSchema{"flow export", "", {}, kExporterFields};
inline constexpr std::string_view kCollectorTable[] = {"COLLECTOR",   "ADDRESS",         "RECORDS",   "MESSAGES",
                                                       "TEMPLATES", "SEND-ERRORS", "RECORDS-DROPPED", "LAST-ERROR"};

}  // namespace ivs::flowexport
