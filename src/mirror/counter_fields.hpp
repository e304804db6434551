#pragma once
// Mirrors' counters, declared once (common/counter_schema.hpp; the columns as in
// pipeline/counter_fields.hpp). Built by mirror/control.cpp: per mirror (`m` its
// pipeline::MirrorSnapshot) and per tool (`st` its mirror::ToolStats, null before the
// broker saw it). A group's members are tools too: /metrics labels them
// "GROUP / MEMBER", ivctl lists them indented under their group.
#include <string_view>

#include "common/counter_schema.hpp"

namespace ivs::mirror {

// /metrics lists the series by name (the order of the JSON's keys).
#define IVS_MIRROR_FIELDS(X)                                                                                                  \
  X("filter_verdicts/run", counter, none, "ivswitch_mirror_filter_verdicts_total", fixed_label("how=\"run\""), "",                  \
    "Verdicts of each mirror's filter by how they were had: the filter run, or read from the verdict kept for the flow (a filter judged once per flow: docs/mirrors.md).", \
    m.filter_runs)                                                                                                             \
  X("filter_verdicts/cached", counter, none, "ivswitch_mirror_filter_verdicts_total", fixed_label("how=\"cached\""), "",             \
    "verdicts read from the verdict kept for the flow: the filter did not run", m.verdict_cached)                             \
  X("packets/copied", counter, none, "ivswitch_mirror_packets_total", fixed_label("what=\"copied\""), "",                     \
    "Packets at each mirror's tap points, by what happened to them (eligible = seen at a tap).", m.copied)                     \
  X("packets/dropped_broker_behind", counter, none, "ivswitch_mirror_packets_total", fixed_label("what=\"dropped_broker_behind\""), \
    "", "copies not made: the broker's ring was full (the broker is behind)", m.queue_full)                                   \
  X("packets/dropped_no_buffer", counter, none, "ivswitch_mirror_packets_total", fixed_label("what=\"dropped_no_buffer\""), "", \
    "copies dropped: no mbuf in the mirror pool", m.no_buffer)                                                                 \
  X("packets/duplicates", counter, none, "ivswitch_mirror_packets_total", fixed_label("what=\"duplicates\""), "",             \
    "packets seen again at an egress tap after the ingress tap (dedup)", m.duplicate)                                          \
  X("packets/eligible", counter, none, "ivswitch_mirror_packets_total", fixed_label("what=\"eligible\""), "",                 \
    "packets seen at the mirror's tap points", m.eligible)                                                                     \
  X("packets/filtered_out", counter, none, "ivswitch_mirror_packets_total", fixed_label("what=\"filtered_out\""), "",         \
    "packets not selected by the mirror's filter", m.filtered_out)                                                             \
  X("packets/received_by_broker", counter, none, "ivswitch_mirror_packets_total", fixed_label("what=\"received_by_broker\""), \
    "", "copies the broker took from its ring", m.broker.received)                                                             \
  X("packets/sampled_out", counter, none, "ivswitch_mirror_packets_total", fixed_label("what=\"sampled_out\""), "",           \
    "packets selected, skipped by 1-in-N sampling", m.sampled_out)                                                             \
  X("packets/skipped_tools_full", counter, none, "ivswitch_mirror_packets_total", fixed_label("what=\"skipped_tools_full\""), "", \
    "copies not made: every tool of the mirror was backed up (the broker said so before the copy)", m.tools_full)

#define IVS_MIRROR_TOOL_FIELDS(X)                                                                                             \
  X("what", info, none, "", no_label, "TOOL", "the tool, described (pcapng PATH, port NAME, erspan ..., group of N)",         \
    st ? st->what : mirror::describe_tool(t))                                                                                                        \
  X("delivered", counter, none, "ivswitch_mirror_delivered_total", no_label, "DELIVERED",                                     \
    "Copies delivered to each tool of a mirror (a group's members each).", st ? st->delivered : 0)                            \
  X("bytes", counter, bytes, "ivswitch_mirror_delivered_bytes_total", no_label, "BYTES",                                     \
    "Bytes of the copies delivered to each tool of a mirror.", st ? st->bytes : 0)                                             \
  X("errors", counter, none, "ivswitch_mirror_tool_errors_total", no_label, "NOT DELIVERED",                                  \
    "Copies a tool could not take (write error, full tool queue or capture buffer, no buffer).", st ? st->errors : 0)

inline constexpr Field kMirrorFields[] = {IVS_MIRROR_FIELDS(IVS_FIELD_DECL)};
// files_started: pcapng tools only (FILES; "-" for other tools), written by the tool's own
// view, so it has no expression here; /metrics has a series for the tools that have it.
inline constexpr Field kMirrorToolFields[] = {
    IVS_MIRROR_TOOL_FIELDS(IVS_FIELD_DECL){"files_started", FieldKind::kCounter, Unit::kNone, "ivswitch_mirror_files_started_total",
                                           no_label, "FILES", "Files each pcapng tool of a mirror started (rotation)."}};
inline constexpr RowLabel kMirrorRowLabels[] = {{"mirror", "name"}};
inline constexpr RowLabel kMirrorToolRowLabels[] = {{"mirror", "../name"}, {"tool", "what"}};
inline constexpr Schema kMirrorSchema{"mirrors", "mirrors", kMirrorRowLabels, kMirrorFields};
// Rows: each mirror's tools with a group's members after it (mirror/control.cpp).
inline constexpr Schema kMirrorToolSchema{"mirror tools", "mirrors/tools", kMirrorToolRowLabels, kMirrorToolFields};
inline constexpr std::string_view kMirrorToolTable[] = {"TOOL", "DELIVERED", "BYTES", "NOT DELIVERED", "FILES"};

}  // namespace ivs::mirror
