#pragma once
// The core's counters, declared once (common/counter_schema.hpp): per port, drops per
// port, per datapath thread, switch-wide. Each line: JSON key, kind, unit, Prometheus
// family, extra label, ivctl column, help, and the expression that reads it from the
// snapshot row `r` (pipeline/datapath.hpp's PortSnapshot, PmdSnapshot, StatsSnapshot).
// A family's fields are adjacent and its first field's help is its HELP line; the order
// of the families is the order of /metrics. To add a counter: add a line here (and to a
// table's layout below if ivctl shows it); JSON, /metrics, ivctl and the docs' table
// (the unit test tells when docs/counters.md needs regenerating) follow.
//
// No DPDK and no snapshot types are included: ivctl includes this for its tables.
#include <array>
#include <string_view>

#include "common/counter_schema.hpp"
#include "pipeline/counters.hpp"
#include "common/drop_reason.hpp"

namespace ivs::pipeline {

// The drop reasons and events as label values (declared in drop_reason.hpp and the
// modules' folders, counters.hpp). Only the daemon reads them; ivctl's tables only name them.
inline size_t drop_reason_count() { return drop_reasons().size(); }
inline std::string_view drop_reason_label(size_t i) { return drop_reasons()[i].name; }
inline std::string_view drop_reason_help(size_t i) { return drop_reasons()[i].help; }
constexpr size_t event_count() { return kEventCount; }
constexpr std::string_view event_label(size_t i) { return kEventInfo[i].name; }
constexpr std::string_view event_help(size_t i) { return kEventInfo[i].help; }
inline constexpr LabelSet kDropReasonSet{"reason", drop_reason_count, drop_reason_label, drop_reason_help};
inline constexpr LabelSet kEventSet{"event", event_count, event_label, event_help};

// ivctl show ports; rows: PortSnapshot.
#define IVS_PORT_FIELDS(X)                                                                                                    \
  X("name", info, none, "", no_label, "PORT", "the port's name (ports[].name)", r.name)                                        \
  X("type", info, none, "", no_label, "TYPE", "the port's type (af_packet, af_xdp, vhost_user, pcap, ...)", r.type)            \
  X("driver", info, none, "", no_label, "", "the ethdev's driver (librte_vhost for vhost-user ports)", r.driver)               \
  X("mode", info, none, "", no_label, "MODE", "access NETWORK or trunk NETWORKS", r.network_mode)                             \
  X("pmd_cpu", info, none, "", no_label, "CPU", "CPU of the datapath thread polling the port", r.pmd_cpu)                     \
  X("detail", info, none, "", no_label, "ATTACHED TO", "what the port is attached to (interface, socket, file)", r.detail)     \
  X("rx_packets", counter, none, "ivswitch_port_rx_packets_total", no_label, "RX-PKTS", "Packets received on the port.",      \
    r.rx_packets)                                                                                                              \
  X("rx_bytes", counter, bytes, "ivswitch_port_rx_bytes_total", no_label, "RX-BYTES", "Bytes received on the port.", r.rx_bytes) \
  X("tx_packets", counter, none, "ivswitch_port_tx_packets_total", no_label, "TX-PKTS", "Packets sent on the port.", r.tx_packets) \
  X("tx_bytes", counter, bytes, "ivswitch_port_tx_bytes_total", no_label, "TX-BYTES", "Bytes sent on the port.", r.tx_bytes)  \
  X("device/rx_missed", counter, none, "ivswitch_port_device_rx_missed_total", no_label, "",                                  \
    "Packets the port's device dropped before the switch saw them.", r.dev.imissed)                                          \
  X("device/rx_errors", counter, none, "ivswitch_port_device_rx_errors_total", no_label, "",                                  \
    "Receive errors counted by the port's device.", r.dev.ierrors)                                                             \
  X("device/tx_errors", counter, none, "ivswitch_port_device_tx_errors_total", no_label, "",                                  \
    "Transmit errors counted by the port's device.", r.dev.oerrors)                                                            \
  X("device/rx_nombuf", counter, none, "ivswitch_port_device_rx_nombuf_total", no_label, "",                                  \
    "Receive buffer allocation failures of the port's device.", r.dev.rx_nombuf)                                               \
  X("link", gauge, flag, "ivswitch_port_link_up", no_label, "LINK", "1 when the port has a peer (link up).",                   \
    r.link_up ? "up" : "down")                                                                                                 \
  X("link_ups", counter, none, "ivswitch_port_link_changes_total", fixed_label("to=\"up\""), "UPS/DOWNS",                     \
    "Link transitions seen by the 100 ms link check (a VM connecting, leaving, restarting).", r.link_ups)                      \
  X("link_downs", counter, none, "ivswitch_port_link_changes_total", fixed_label("to=\"down\""), "UPS/DOWNS",                 \
    "link transitions to down", r.link_downs)

// Drops per port (the same rows; ivctl show ports' DROPS, /metrics ivswitch_port_drops_total).
#define IVS_PORT_DROP_FIELDS(X)                                                                                               \
  X("drops_total", counter, none, "", cli_only("sum by (port) of ivswitch_port_drops_total"), "DROPS",                      \
    "packets dropped on the port, all reasons", r.drops_total)                                                                 \
  X("drops", counter, none, "ivswitch_port_drops_total", each_label(kDropReasonSet), "",                                      \
    "Packets dropped, by port and reason (docs/counters.md).", label_set_json(::ivs::pipeline::kDropReasonSet, r.drops, true))

// ivctl show pmd; rows: PmdSnapshot (and `hz`, the TSC rate).
#define IVS_PMD_FIELDS(X)                                                                                                     \
  X("index", info, none, "", no_label, "PMD", "the datapath thread's index", r.index)                                         \
  X("cpu", info, none, "", no_label, "CPU", "the CPU it runs on", r.cpu)                                                      \
  X("ports", info, none, "", no_label, "PORTS", "the ports it polls", r.ports)                                                \
  X("tid", info, none, "", no_label, "", "its thread id (0 until it runs)", r.tid)                                            \
  X("tsc_hz", info, none, "", no_label, "", "TSC cycles per second", hz)                                                      \
  X("iterations", counter, none, "ivswitch_pmd_iterations_total", no_label, "", "Polling loop iterations of the datapath thread.", \
    r.iterations)                                                                                                              \
  X("packets", counter, none, "ivswitch_pmd_packets_total", no_label, "PACKETS", "Packets processed by the datapath thread.", \
    r.packets)                                                                                                                 \
  X("busy_cycles", counter, none, "ivswitch_pmd_busy_cycles_total", no_label, "",                                             \
    "TSC cycles spent on iterations that moved packets.", r.busy_cycles)                                                       \
  X("idle_cycles", counter, none, "ivswitch_pmd_idle_cycles_total", no_label, "", "TSC cycles spent on empty polls (naps excluded).", \
    r.idle_cycles)                                                                                                             \
  X("busy_cycles_per_packet", gauge, none, "",                                                                               \
    cli_only("a ratio since start: rate(ivswitch_pmd_busy_cycles_total) / rate(ivswitch_pmd_packets_total)"),                  \
    "BUSY-CYCLES/PKT", "busy cycles per packet: the switch's own cost",                                                       \
    r.packets ? static_cast<double>(r.busy_cycles) / static_cast<double>(r.packets) : 0.0)                                     \
  X("busy_share", gauge, ratio, "",                                                                                          \
    cli_only("a ratio since start: rate(ivswitch_pmd_busy_seconds_total) / (that + rate(ivswitch_pmd_idle_seconds_total))"),   \
    "BUSY%",                                                                                                                   \
    "busy cycles / (busy + idle) cycles",                                                                                      \
    r.busy_cycles + r.idle_cycles ? static_cast<double>(r.busy_cycles) / static_cast<double>(r.busy_cycles + r.idle_cycles) : 0.0) \
  X("sleeps", counter, none, "ivswitch_pmd_sleeps_total", no_label, "SLEEPS", "Naps taken by the idle datapath thread.", r.sleeps) \
  /* The cycles again in seconds, Prometheus's base unit: rate(ivswitch_pmd_busy_seconds_total[1m]) */                       \
  /* is the share of the thread's time spent moving packets, without knowing the TSC rate. */                                \
  X("busy_cycles", counter, cycles, "ivswitch_pmd_busy_seconds_total", no_label, "",                                          \
    "Time spent on iterations that moved packets (busy cycles / TSC rate).", r.busy_cycles)                                    \
  X("idle_cycles", counter, cycles, "ivswitch_pmd_idle_seconds_total", no_label, "",                                          \
    "Time spent on empty polls, naps excluded (idle cycles / TSC rate).", r.idle_cycles)                                       \
  X("sleep_seconds", counter, seconds, "ivswitch_pmd_sleep_seconds_total", no_label, "SLEPT(s)",                              \
    "Time the idle datapath thread spent napping.", static_cast<double>(r.sleep_us) / 1e6)                                     \
  X("minor_faults", counter, none, "ivswitch_pmd_page_faults_total", fixed_label("kind=\"minor\""), "PAGE FAULTS",           \
    "Page faults of each datapath thread since it started, by kind (/proc).", r.minor_faults)                                  \
  X("major_faults", counter, none, "ivswitch_pmd_page_faults_total", fixed_label("kind=\"major\""), "PAGE FAULTS",           \
    "the thread's major page faults since it started (/proc)", r.major_faults)

// ivctl show stats (prose and the EVENT / DROP REASON tables); the one row: StatsSnapshot.
#define IVS_STATS_FIELDS(X)                                                                                                   \
  X("rx_packets", counter, none, "", cli_only("sum of ivswitch_port_rx_packets_total"), "", "packets received, all ports",    \
    r.rx_packets)                                                                                                              \
  X("tx_packets", counter, none, "", cli_only("sum of ivswitch_port_tx_packets_total"), "", "packets sent, all ports",        \
    r.tx_packets)                                                                                                              \
  X("drops_total", counter, none, "", cli_only("sum of ivswitch_port_drops_total"), "",                                       \
    "packets dropped, all ports and reasons", r.drops_total)                                                                   \
  X("drops", counter, none, "", cli_only("sum by (reason) of ivswitch_port_drops_total"), "",                                 \
    "packets dropped by reason, all ports (reasons not 0)",                                                                    \
    label_set_json(::ivs::pipeline::kDropReasonSet, r.drops, true))                                                                             \
  X("events", counter, none, "ivswitch_events_total", each_label(kEventSet), "", "Datapath events that are not drops.",       \
    label_set_json(::ivs::pipeline::kEventSet, r.events, false))                                                                                \
  X("ports/slots", gauge, none, "ivswitch_port_slots", no_label, "",                                                         \
    "Port table slots (switch.max_ports): the most ports at once, those added at runtime included.", r.port_slots)             \
  X("ports/live", gauge, none, "ivswitch_ports_live", no_label, "", "Ports open and polled now.", r.ports_live)                \
  X("fdb/entries", gauge, none, "ivswitch_fdb_entries", no_label, "", "MAC table entries (static and learned).", r.fdb_entries) \
  X("fdb/capacity", gauge, none, "ivswitch_fdb_capacity", no_label, "", "MAC table size bound (switch.fdb_size).", r.fdb_capacity) \
  X("fdb/learned", counter, none, "ivswitch_fdb_learned_total", no_label, "", "MAC addresses learned.", r.fdb_learned)       \
  X("fdb/moved", counter, none, "ivswitch_fdb_moved_total", no_label, "", "Learned MAC addresses that moved to another port.", \
    r.fdb_moved)                                                                                                               \
  X("fdb/aged", counter, none, "ivswitch_fdb_aged_total", no_label, "", "Learned MAC addresses removed after fdb_aging_seconds idle.", \
    r.fdb_aged)                                                                                                                \
  X("fdb/refused_full", counter, none, "ivswitch_fdb_refused_full_total", no_label, "",                                       \
    "MAC addresses not learned because the table was full.", r.fdb_full)                                                       \
  X("fdb/evicted_for_static", counter, none, "ivswitch_static_entry_evictions_total", no_label, "",                        \
    "Learned MAC and neighbour entries evicted to make room for a VM's static entry at a reload (tables full).",             \
    r.static_evicted)                                                                                                          \
  X("fdb/static_failed", counter, none, "ivswitch_static_entries_failed_total", no_label, "",                                \
    "VM static MAC and neighbour entries a reload could not write (the table's buckets full).", r.static_failed)             \
  X("neighbors/entries", gauge, none, "ivswitch_neighbor_entries", no_label, "", "IPv4 neighbour (ARP) entries.", r.neighbor_entries) \
  X("neighbors/learned", counter, none, "ivswitch_neighbors_learned_total", no_label, "", "IPv4 neighbours learned from ARP.", \
    r.neighbors_learned)                                                                                                       \
  X("neighbors6/entries", gauge, none, "ivswitch_neighbor6_entries", no_label, "", "IPv6 neighbour (neighbour discovery) entries.", \
    r.neighbor6_entries)                                                                                                       \
  X("neighbors6/learned", counter, none, "ivswitch_neighbors6_learned_total", no_label, "",                                 \
    "IPv6 neighbours learned from neighbour solicitations and advertisements.", r.neighbors6_learned)                         \
  X("mbufs/in_use", gauge, none, "ivswitch_mbufs_in_use", no_label, "", "Packet buffers in use.", r.mbufs_in_use)            \
  /* Was ivswitch_mbufs_total: a gauge must not end in _total (promtool, Prometheus naming). */                              \
  X("mbufs/total", gauge, none, "ivswitch_mbufs_capacity", no_label, "", "Packet buffers in the pool.", r.mbufs_total)       \
  X("memory/datapath_page_faults/minor", counter, none, "ivswitch_datapath_page_faults_total", fixed_label("kind=\"minor\""), "", \
    "Page faults of the datapath threads since they started (from /proc; ~0 under traffic: memory is touched at start).",     \
    r.datapath_minor_faults)                                                                                                   \
  X("memory/datapath_page_faults/major", counter, none, "ivswitch_datapath_page_faults_total", fixed_label("kind=\"major\""), "", \
    "major page faults of the datapath threads", r.datapath_major_faults)                                                      \
  X("memory/rss_anon_kb", gauge, kib, "ivswitch_resident_memory_bytes", fixed_label("kind=\"anon\""), "",                     \
    "The daemon's resident memory by kind (/proc/self/status; hugepages apart).", r.rss_anon_kb)                               \
  X("memory/rss_file_kb", gauge, kib, "ivswitch_resident_memory_bytes", fixed_label("kind=\"file\""), "",                     \
    "resident memory mapped from files", r.rss_file_kb)                                                                        \
  X("memory/rss_shmem_kb", gauge, kib, "ivswitch_resident_memory_bytes", fixed_label("kind=\"shmem\""), "",                   \
    "resident shared memory", r.rss_shmem_kb)                                                                                  \
  X("memory/hugetlb_kb", gauge, kib, "ivswitch_resident_memory_bytes", fixed_label("kind=\"hugetlb\""), "",                   \
    "hugepage memory", r.hugetlb_kb)                                                                                           \
  X("memory/dpdk_heap/allocated_bytes", gauge, bytes, "ivswitch_dpdk_heap_bytes", fixed_label("state=\"allocated\""), "",     \
    "DPDK's malloc heap (rte_malloc_get_socket_stats): allocated and free.", r.heap_allocated_bytes)                           \
  X("memory/dpdk_heap/free_bytes", gauge, bytes, "ivswitch_dpdk_heap_bytes", fixed_label("state=\"free\""), "",               \
    "DPDK heap free", r.heap_free_bytes)                                                                                       \
  X("uptime_s", gauge, seconds, "ivswitch_uptime_seconds", no_label, "", "Seconds since the datapath started.", r.uptime_s)    \
  X("memory/rss_kb", gauge, kib, "", cli_only("VmRSS is the sum of ivswitch_resident_memory_bytes' anon, file and shmem"), "", \
    "the daemon's resident memory (VmRSS)", r.rss_kb)                                                                          \
  X("memory/dpdk_heap/total_bytes", gauge, bytes, "", cli_only("sum of ivswitch_dpdk_heap_bytes' allocated and free"), "",   \
    "DPDK heap size", r.heap_total_bytes)                                                                                      \
  X("memory/prefault/bytes", gauge, bytes, "ivswitch_prefault_bytes", no_label, "",                                          \
    "Memory the daemon touched at start (rings, mempools), so that the datapath takes no page fault later.", r.prefault_bytes) \
  X("memory/prefault/ms", gauge, ms, "ivswitch_prefault_seconds", no_label, "", "Time the touch at start took.", r.prefault_ms)

// ivctl show routes' static routes (config routes), a row per next hop; rows: RouteHopSnapshot.
#define IVS_ROUTE_HOP_FIELDS(X)                                                                                               \
  X("prefix", info, none, "", no_label, "PREFIX", "the route's destination prefix (routes[].prefix)", r.prefix)               \
  X("via", info, none, "", no_label, "VIA", "the next hop (one of routes[].via)", r.via)                                     \
  X("network", info, none, "", no_label, "NETWORK", "the routed network the next hop lies in", r.network)                    \
  X("mac", info, none, "", no_label, "MAC", "the next hop's MAC as ARP resolved it (\"\": unresolved)", r.mac)               \
  X("packets", counter, none, "ivswitch_route_packets_total", no_label, "PACKETS",                                          \
    "Packets routed to a static route's next hop (an ECMP route: each flow to one of them).", r.packets)                   \
  X("state", info, none, "", no_label, "STATE",                                                                              \
    "an ECMP route's next hop: up, or down (asked by ARP and silent for 3 s: passed over); a route's only next hop: "       \
    "resolved (not checked); either: unresolved (no MAC)", r.state)                                                          \
  X("downs", counter, none, "ivswitch_route_next_hop_downs_total", no_label, "DOWNS",                                       \
    "Times an ECMP route's next hop went down (asked by ARP and silent for 3 s); its flows moved to the route's other next hops.", r.downs)

inline constexpr Field kPortFields[] = {IVS_PORT_FIELDS(IVS_FIELD_DECL)};
inline constexpr Field kPortDropFields[] = {IVS_PORT_DROP_FIELDS(IVS_FIELD_DECL)};
inline constexpr Field kPmdFields[] = {IVS_PMD_FIELDS(IVS_FIELD_DECL)};
inline constexpr Field kStatsFields[] = {IVS_STATS_FIELDS(IVS_FIELD_DECL)};

inline constexpr Field kRouteHopFields[] = {IVS_ROUTE_HOP_FIELDS(IVS_FIELD_DECL)};
inline constexpr RowLabel kPortRowLabels[] = {{"port", "name"}};
inline constexpr RowLabel kPmdRowLabels[] = {{"pmd", "index"}, {"cpu", "cpu"}};

inline constexpr Schema kPortSchema{"ports", "ports", kPortRowLabels, kPortFields};
inline constexpr Schema kPortDropSchema{"port drops", "ports", kPortRowLabels, kPortDropFields};
inline constexpr Schema kPmdSchema{"pmd", "pmds", kPmdRowLabels, kPmdFields};
inline constexpr Schema kStatsSchema{"stats", "", {}, kStatsFields};
inline constexpr RowLabel kRouteHopRowLabels[] = {{"prefix", "prefix"}, {"via", "via"}};
inline constexpr Schema kRouteHopSchema{"static routes", "static_routes", kRouteHopRowLabels, kRouteHopFields};

// ivctl's tables: the columns in order, each one declared above.
inline constexpr std::string_view kPortTable[] = {"PORT",    "TYPE",     "LINK",    "UPS/DOWNS", "MODE",  "CPU",
                                                  "RX-PKTS", "RX-BYTES", "TX-PKTS", "TX-BYTES",  "DROPS", "ATTACHED TO"};
inline constexpr std::string_view kRouteHopTable[] = {"PREFIX", "VIA", "NETWORK", "MAC", "STATE", "PACKETS", "DOWNS"};
inline constexpr std::string_view kPmdTable[] = {"PMD",   "CPU",    "PORTS",    "PACKETS",    "BUSY-CYCLES/PKT",
                                                 "BUSY%", "SLEEPS", "SLEPT(s)", "PAGE FAULTS"};

}  // namespace ivs::pipeline
