#pragma once
// The QoS guard's counters, declared once (common/counter_schema.hpp; the columns as in
// pipeline/counter_fields.hpp). Built by qos/control.cpp: per VM (`s` its
// GuardSums::Vm, `name`, `seen` {DSCP: packets}, `total`), per meter (`c` its config,
// `s` its counters), per class (`k` its index, `ci` the classes, `dscps`, `meter`, `snap`
// the EgressSums), per
// class queue of a scheduled port (`q` its counters, `name` the class), and the guard's
// one row (`mismatching_flows`). ivctl show qos's tables are generated from these.
#include <string_view>

#include "common/counter_schema.hpp"

namespace ivs::qos {

#define IVS_QOS_VM_FIELDS(X)                                                                                                  \
  X("vm", info, none, "", no_label, "VM", "the sending VM ((not a VM): senders that are no configured VM)", name)             \
  X("packets", counter, none, "", cli_only("sum by (vm) of ivswitch_qos_vm_packets_total"), "PACKETS",                       \
    "packets the VM sent", total)                                                                                              \
  X("seen", counter, none, "ivswitch_qos_vm_packets_total", key_label("dscp"), "BY DSCP (as received)",                       \
    "Packets each VM sent, by the DSCP they arrived with (before any rewrite).", seen)                                        \
  X("mismatched", counter, none, "ivswitch_qos_vm_mismatched_total", no_label, "MISMATCHED",                                  \
    "Packets whose DSCP differed from the assigned one (enforce and audit).", s.mismatched)                                    \
  X("rewritten", counter, none, "ivswitch_qos_vm_rewritten_total", no_label, "REWRITTEN",                                     \
    "Packets whose DSCP the switch rewrote (enforce, meter remark).", s.rewritten)                                             \
  X("metered/green", counter, none, "ivswitch_qos_vm_metered_total", fixed_label("colour=\"green\""), "METERED G/Y/R",       \
    "Packets of each VM a meter coloured, by colour.", s.colour[0])                                                            \
  X("metered/yellow", counter, none, "ivswitch_qos_vm_metered_total", fixed_label("colour=\"yellow\""), "METERED G/Y/R",     \
    "... yellow", s.colour[1])                                                                                                 \
  X("metered/red", counter, none, "ivswitch_qos_vm_metered_total", fixed_label("colour=\"red\""), "METERED G/Y/R", "... red", \
    s.colour[2])                                                                                                               \
  X("meter_dropped", counter, none, "ivswitch_qos_vm_meter_dropped_total", no_label, "METER DROPS",                           \
    "Packets of each VM dropped by a meter.", s.meter_dropped)

// /metrics lists the colours by name (the order of the JSON's keys).
#define IVS_QOS_METER_FIELDS(X)                                                                                               \
  X("name", info, none, "", no_label, "METER", "the meter (qos.meters[].name)", c.name)                                       \
  X("cir_kbit", info, none, "", no_label, "CIR/PIR kbit", "committed rate", c.cir_bps / 1000)                                 \
  X("pir_kbit", info, none, "", no_label, "CIR/PIR kbit", "peak rate", c.pir_bps / 1000)                                      \
  X("cbs_bytes", info, none, "", no_label, "CBS/PBS bytes", "committed burst", c.cbs_bytes)                                   \
  X("pbs_bytes", info, none, "", no_label, "CBS/PBS bytes", "peak burst", c.pbs_bytes)                                        \
  X("yellow", info, none, "", no_label, "YELLOW", "what a yellow packet gets", action_json(c.yellow))                         \
  X("red", info, none, "", no_label, "RED", "what a red packet gets", action_json(c.red))                                     \
  X("packets/green", counter, none, "ivswitch_qos_meter_packets_total", fixed_label("colour=\"green\""), "GREEN",             \
    "Packets through each meter, by colour.", s.colour[0])                                                                     \
  X("packets/red", counter, none, "ivswitch_qos_meter_packets_total", fixed_label("colour=\"red\""), "RED PKTS",              \
    "packets the meter coloured red", s.colour[2])                                                                             \
  X("packets/yellow", counter, none, "ivswitch_qos_meter_packets_total", fixed_label("colour=\"yellow\""), "YELLOW PKTS",     \
    "packets the meter coloured yellow", s.colour[1])                                                                          \
  X("dropped", counter, none, "ivswitch_qos_meter_dropped_total", no_label, "DROPPED", "Packets dropped by a meter's colour action.", \
    s.dropped)                                                                                                                 \
  X("remarked", counter, none, "ivswitch_qos_meter_remarked_total", no_label, "REMARKED",                                    \
    "Packets whose DSCP a meter's colour action remarked.", s.remarked)

#define IVS_QOS_CLASS_FIELDS(X)                                                                                               \
  X("name", info, none, "", no_label, "CLASS", "the class (qos.classes[].name)", ci[k].name)                                  \
  X("dscp", info, none, "", no_label, "DSCP", "the DSCP values it holds", dscps)                                              \
  X("scheduling", info, none, "", no_label, "SCHEDULING", "strict priority or weight", scheduling)                            \
  X("meter", info, none, "", no_label, "METER", "its meter (null: none)", meter)                                              \
  X("packets_out", counter, none, "ivswitch_qos_class_packets_total", no_label, "PACKETS OUT",                                \
    "Packets output, by class (after rewrite).", snap.class_packets[k])

#define IVS_QOS_QUEUE_FIELDS(X)                                                                                               \
  X("class", info, none, "", no_label, "CLASS", "the class", ci[k].name)                                                      \
  X("queued_total", counter, none, "ivswitch_qos_queue_packets_total", no_label, "QUEUED",                                    \
    "Packets queued per class on a scheduled port.", q.packets)                                                                \
  X("dropped", counter, none, "ivswitch_qos_queue_dropped_total", no_label, "DROPPED",                                        \
    "Packets tail-dropped per class on a scheduled port (queue full).", q.dropped)                                             \
  X("bytes", counter, bytes, "ivswitch_qos_queue_bytes_total", no_label, "BYTES", "Bytes queued per class on a scheduled port.", \
    q.bytes)                                                                                                                   \
  X("queue_now", gauge, none, "ivswitch_qos_queue_length", no_label, "IN QUEUE", "Packets in each class queue of a scheduled port now.", \
    q.queued)

#define IVS_QOS_FIELDS(X)                                                                                                     \
  X("mismatching_flow_directions", gauge, none, "ivswitch_qos_mismatching_flow_directions", no_label, "",                     \
    "Flow directions in the table that carried a DSCP other than the assigned one.", mismatching_flows)

inline constexpr Field kQosVmFields[] = {IVS_QOS_VM_FIELDS(IVS_FIELD_DECL)};
inline constexpr Field kQosMeterFields[] = {IVS_QOS_METER_FIELDS(IVS_FIELD_DECL)};
inline constexpr Field kQosClassFields[] = {IVS_QOS_CLASS_FIELDS(IVS_FIELD_DECL)};
inline constexpr Field kQosQueueFields[] = {IVS_QOS_QUEUE_FIELDS(IVS_FIELD_DECL)};
inline constexpr Field kQosFields[] = {IVS_QOS_FIELDS(IVS_FIELD_DECL)};
inline constexpr RowLabel kQosVmRowLabels[] = {{"vm", "vm"}};
inline constexpr RowLabel kQosMeterRowLabels[] = {{"meter", "name"}};
inline constexpr RowLabel kQosClassRowLabels[] = {{"class", "name"}};
inline constexpr RowLabel kQosQueueRowLabels[] = {{"port", "../port"}, {"class", "class"}};
inline constexpr Schema kQosVmSchema{"qos vms", "vms", kQosVmRowLabels, kQosVmFields};
inline constexpr Schema kQosMeterSchema{"qos meters", "meters", kQosMeterRowLabels, kQosMeterFields};
inline constexpr Schema kQosClassSchema{"qos classes", "classes", kQosClassRowLabels, kQosClassFields};
inline constexpr Schema kQosQueueSchema{"qos queues", "egress/queues", kQosQueueRowLabels, kQosQueueFields};
inline constexpr Schema kQosSchema{"qos", "", {}, kQosFields};

inline constexpr std::string_view kQosVmTable[] = {"VM",        "PACKETS",       "BY DSCP (as received)", "MISMATCHED",
                                                   "REWRITTEN", "METERED G/Y/R", "METER DROPS"};
inline constexpr std::string_view kQosMeterTable[] = {"METER", "CIR/PIR kbit", "CBS/PBS bytes", "YELLOW",  "RED",
                                                      "GREEN", "YELLOW PKTS",  "RED PKTS",      "DROPPED", "REMARKED"};
inline constexpr std::string_view kQosClassTable[] = {"CLASS", "DSCP", "SCHEDULING", "METER", "PACKETS OUT"};
inline constexpr std::string_view kQosQueueTable[] = {"CLASS", "QUEUED", "DROPPED", "BYTES", "IN QUEUE"};

}  // namespace ivs::qos
