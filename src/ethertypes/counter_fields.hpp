#pragma once
// The ethertypes job's counters, declared once (common/counter_schema.hpp; the columns as
// in pipeline/counter_fields.hpp): per (port, VLAN, EtherType) entry (rows: `k` its Key,
// `r` its EthertypesModule::Sum), per port the frames beyond the tables' capacity (`p` the
// port index), and the job's own gauges (the view itself). `ivctl show ethertypes`,
// /metrics and docs/counters.md are generated from these; the expressions are for
// ethertypes/control.cpp only (ivctl includes this header for the declarations).
#include <string_view>

#include "common/counter_schema.hpp"

namespace ivs::ethertypes {

#define IVS_ETHERTYPE_FIELDS(X)                                                                                          \
  X("port", info, none, "", no_label, "PORT", "the port the frames were received on", port_name(k.port))                \
  X("vlan", info, none, "", no_label, "VLAN", "the frame's outer 802.1Q VLAN as received, or \"untagged\"",             \
    vlan_text(k.vlan))                                                                                                   \
  X("ethertype", info, none, "", no_label, "ETHERTYPE", "the EtherType after that tag, in hex (0x0000: a runt)",         \
    ethertype_hex(k.ethertype))                                                                                          \
  X("name", info, none, "", no_label, "NAME", "the EtherType's name when known (IPv4, ARP, IPv6, LLDP, ...)",            \
    std::string(ethertype_name(k.ethertype)))                                                                            \
  X("frames", counter, none, "ivswitch_ethertype_frames_total", no_label, "FRAMES",                                     \
    "Frames received, by port, outer VLAN and EtherType (the ethertypes job).", r.frames)                               \
  X("bytes", counter, bytes, "ivswitch_ethertype_bytes_total", no_label, "BYTES",                                       \
    "Bytes of the frames received, by port, outer VLAN and EtherType (the ethertypes job).", r.bytes)                   \
  X("samples", counter, none, "ivswitch_ethertype_samples_total", no_label, "SAMPLES",                                  \
    "Frames sampled (1 in ethertypes.sample_every of each entry), by port, outer VLAN and EtherType.", r.samples)

#define IVS_ETHERTYPE_OVERFLOW_FIELDS(X)                                                                                 \
  X("port", info, none, "", no_label, "PORT", "the port", port_name(p))                                                  \
  X("frames", counter, none, "ivswitch_ethertype_overflow_frames_total", no_label, "OVERFLOW FRAMES",                  \
    "Frames counted in no entry because their thread's table was full (ethertypes.max_entries); still forwarded.",     \
    of_frames[p])                                                                                                        \
  X("bytes", counter, bytes, "ivswitch_ethertype_overflow_bytes_total", no_label, "OVERFLOW BYTES",                    \
    "Bytes of the frames counted in no entry because their thread's table was full.", of_bytes[p])

#define IVS_ETHERTYPE_HEAD_FIELDS(X)                                                                                     \
  X("entries", gauge, length, "ivswitch_ethertype_entries", no_label, "",                                               \
    "(port, VLAN, EtherType) entries now, over every thread's table.", entries)                                          \
  X("table_entries_max", gauge, none, "ivswitch_ethertype_table_entries_max", no_label, "",                              \
    "Entries in the fullest thread's table (new keys overflow at ethertypes.max_entries).", used_max)

inline constexpr Field kEthertypeFields[] = {IVS_ETHERTYPE_FIELDS(IVS_FIELD_DECL)};
inline constexpr Field kEthertypeOverflowFields[] = {IVS_ETHERTYPE_OVERFLOW_FIELDS(IVS_FIELD_DECL)};
inline constexpr Field kEthertypeHeadFields[] = {IVS_ETHERTYPE_HEAD_FIELDS(IVS_FIELD_DECL)};
inline constexpr RowLabel kEthertypeRowLabels[] = {{"port", "port"}, {"vlan", "vlan"}, {"ethertype", "ethertype"}};
inline constexpr RowLabel kEthertypeOverflowRowLabels[] = {{"port", "port"}};
inline constexpr Schema kEthertypeSchema{"ethertypes", "entries", kEthertypeRowLabels, kEthertypeFields};
inline constexpr Schema kEthertypeOverflowSchema{"ethertypes overflow", "overflow", kEthertypeOverflowRowLabels,
                                                 kEthertypeOverflowFields};
inline constexpr Schema kEthertypeHeadSchema{"ethertypes tables", "", {}, kEthertypeHeadFields};
inline constexpr std::string_view kEthertypeTable[] = {"PORT", "VLAN", "ETHERTYPE", "NAME", "FRAMES", "BYTES", "SAMPLES"};
inline constexpr std::string_view kEthertypeOverflowTable[] = {"PORT", "OVERFLOW FRAMES", "OVERFLOW BYTES"};

}  // namespace ivs::ethertypes
