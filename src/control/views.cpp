#include "control/views.hpp"

#include <fmt/format.h>

namespace ivs::control {

using nlohmann::json;

std::string label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

namespace {
json drops_json(const std::array<uint64_t, kDropReasonCount>& drops) {
  json d = json::object();
  for (size_t r = 0; r < kDropReasonCount; ++r)
    if (drops[r]) d[std::string(kDropReasonInfo[r].name)] = drops[r];
  return d;
}
}  // namespace

json view_ports(const pipeline::Datapath& dp) {
  json ports = json::array();
  for (const auto& p : dp.ports()) {
    ports.push_back({{"name", p.name}, {"type", p.type}, {"driver", p.driver}, {"detail", p.detail}, {"mode", p.network_mode},
                     {"link", p.link_up ? "up" : "down"}, {"link_ups", p.link_ups}, {"link_downs", p.link_downs},
                     {"pmd_cpu", p.pmd_cpu},
                     {"rx_packets", p.rx_packets}, {"rx_bytes", p.rx_bytes}, {"tx_packets", p.tx_packets},
                     {"tx_bytes", p.tx_bytes}, {"drops_total", p.drops_total}, {"drops", drops_json(p.drops)},
                     {"device", {{"rx_missed", p.dev.imissed}, {"rx_errors", p.dev.ierrors},
                                 {"tx_errors", p.dev.oerrors}, {"rx_nombuf", p.dev.rx_nombuf}}}});
  }
  return {{"ports", ports}};
}

json view_fdb(const pipeline::Datapath& dp) {
  json entries = json::array();
  for (const auto& e : dp.fdb())
    entries.push_back({{"network", e.network}, {"mac", e.mac}, {"port", e.port},
                       {"type", e.is_static ? "static" : "learned"}, {"age_s", e.age_s}});
  json neighbors = json::array();
  for (const auto& e : dp.neighbors())
    neighbors.push_back({{"network", e.network}, {"ip", e.ip}, {"mac", e.mac},
                         {"type", e.is_static ? "static" : "learned"}, {"age_s", e.age_s}});
  return {{"entries", entries}, {"neighbors", neighbors}};
}

json view_routes(const pipeline::Datapath& dp) {
  json routes = json::array();
  for (const auto& r : dp.routes())
    routes.push_back({{"prefix", r.prefix}, {"network", r.network}, {"vlan", r.vlan}, {"gateway", r.gateway},
                      {"gateway_mac", r.gateway_mac}, {"type", "connected"}});
  return {{"routes", routes}};
}

json view_pmd(const pipeline::Datapath& dp) {
  json pmds = json::array();
  const double hz = static_cast<double>(dp.stats().tsc_hz);
  for (const auto& p : dp.pmds()) {
    const uint64_t total = p.busy_cycles + p.idle_cycles;
    pmds.push_back({{"index", p.index}, {"cpu", p.cpu}, {"ports", p.ports}, {"iterations", p.iterations},
                    {"packets", p.packets}, {"busy_cycles", p.busy_cycles}, {"idle_cycles", p.idle_cycles},
                    {"busy_cycles_per_packet", p.packets ? static_cast<double>(p.busy_cycles) / static_cast<double>(p.packets) : 0.0},
                    {"busy_share", total ? static_cast<double>(p.busy_cycles) / static_cast<double>(total) : 0.0},
                    {"sleeps", p.sleeps}, {"sleep_seconds", static_cast<double>(p.sleep_us) / 1e6},
                    {"tsc_hz", hz}, {"tid", p.tid}, {"minor_faults", p.minor_faults}, {"major_faults", p.major_faults}});
  }
  return {{"pmds", pmds}};
}

json view_stats(const pipeline::Datapath& dp) {
  const auto s = dp.stats();
  json events = json::object();
  for (size_t e = 0; e < pipeline::kEventCount; ++e) events[std::string(pipeline::kEventInfo[e].name)] = s.events[e];
  return {{"uptime_s", s.uptime_s},
          {"rx_packets", s.rx_packets},
          {"tx_packets", s.tx_packets},
          {"drops_total", s.drops_total},
          {"drops", drops_json(s.drops)},
          {"events", events},
          {"fdb", {{"entries", s.fdb_entries}, {"capacity", s.fdb_capacity}, {"learned", s.fdb_learned},
                   {"moved", s.fdb_moved}, {"aged", s.fdb_aged}, {"refused_full", s.fdb_full}}},
          {"neighbors", {{"entries", s.neighbor_entries}, {"learned", s.neighbors_learned}}},
          {"mbufs", {{"in_use", s.mbufs_in_use}, {"total", s.mbufs_total}}},
          {"memory", {{"rss_kb", s.rss_kb}, {"rss_anon_kb", s.rss_anon_kb}, {"rss_file_kb", s.rss_file_kb},
                      {"rss_shmem_kb", s.rss_shmem_kb}, {"hugetlb_kb", s.hugetlb_kb},
                      {"dpdk_heap", {{"total_bytes", s.heap_total_bytes}, {"allocated_bytes", s.heap_allocated_bytes},
                                     {"free_bytes", s.heap_free_bytes}}},
                      {"prefault", {{"bytes", s.prefault_bytes}, {"ms", s.prefault_ms}}},
                      {"datapath_page_faults", {{"minor", s.datapath_minor_faults}, {"major", s.datapath_major_faults}}}}}};
}

std::string metrics_text(const pipeline::Datapath& dp) {
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  const auto ports = dp.ports();
  auto per_port = [&](const char* name, const char* help, auto get) {
    family(name, "counter", help);
    for (const auto& p : ports) out += fmt::format("{}{{port=\"{}\"}} {}\n", name, p.name, get(p));
  };
  per_port("ivswitch_port_rx_packets_total", "Packets received on the port.", [](auto& p) { return p.rx_packets; });
  per_port("ivswitch_port_rx_bytes_total", "Bytes received on the port.", [](auto& p) { return p.rx_bytes; });
  per_port("ivswitch_port_tx_packets_total", "Packets sent on the port.", [](auto& p) { return p.tx_packets; });
  per_port("ivswitch_port_tx_bytes_total", "Bytes sent on the port.", [](auto& p) { return p.tx_bytes; });
  per_port("ivswitch_port_device_rx_missed_total", "Packets the port's device dropped before the switch saw them.",
           [](auto& p) { return p.dev.imissed; });
  family("ivswitch_port_link_up", "gauge", "1 when the port has a peer (link up).");
  for (const auto& p : ports) out += fmt::format("ivswitch_port_link_up{{port=\"{}\"}} {}\n", p.name, p.link_up ? 1 : 0);
  family("ivswitch_port_link_changes_total", "counter",
         "Link transitions seen by the 100 ms link check (a VM connecting, leaving, restarting).");
  for (const auto& p : ports) {
    out += fmt::format("ivswitch_port_link_changes_total{{port=\"{}\",to=\"up\"}} {}\n", p.name, p.link_ups);
    out += fmt::format("ivswitch_port_link_changes_total{{port=\"{}\",to=\"down\"}} {}\n", p.name, p.link_downs);
  }
  out += port_security_metrics(dp);
  family("ivswitch_port_drops_total", "counter", "Packets dropped, by port and reason (docs/counters.md).");
  for (const auto& p : ports)
    for (size_t r = 0; r < kDropReasonCount; ++r)
      out += fmt::format("ivswitch_port_drops_total{{port=\"{}\",reason=\"{}\"}} {}\n", p.name, kDropReasonInfo[r].name, p.drops[r]);

  const auto s = dp.stats();
  family("ivswitch_events_total", "counter", "Datapath events that are not drops.");
  for (size_t e = 0; e < pipeline::kEventCount; ++e)
    out += fmt::format("ivswitch_events_total{{event=\"{}\"}} {}\n", pipeline::kEventInfo[e].name, s.events[e]);
  auto gauge = [&](const char* name, const char* type, const char* help, auto v) {
    family(name, type, help);
    out += fmt::format("{} {}\n", name, v);
  };
  gauge("ivswitch_fdb_entries", "gauge", "MAC table entries (static and learned).", s.fdb_entries);
  gauge("ivswitch_fdb_capacity", "gauge", "MAC table size bound (switch.fdb_size).", s.fdb_capacity);
  gauge("ivswitch_fdb_learned_total", "counter", "MAC addresses learned.", s.fdb_learned);
  gauge("ivswitch_fdb_moved_total", "counter", "Learned MAC addresses that moved to another port.", s.fdb_moved);
  gauge("ivswitch_fdb_aged_total", "counter", "Learned MAC addresses removed after fdb_aging_seconds idle.", s.fdb_aged);
  gauge("ivswitch_fdb_refused_full_total", "counter", "MAC addresses not learned because the table was full.", s.fdb_full);
  gauge("ivswitch_neighbor_entries", "gauge", "IPv4 neighbour (ARP) entries.", s.neighbor_entries);
  gauge("ivswitch_neighbors_learned_total", "counter", "IPv4 neighbours learned from ARP.", s.neighbors_learned);
  gauge("ivswitch_mbufs_in_use", "gauge", "Packet buffers in use.", s.mbufs_in_use);
  // Was ivswitch_mbufs_total: a gauge must not end in _total (promtool, Prometheus naming).
  gauge("ivswitch_mbufs_capacity", "gauge", "Packet buffers in the pool.", s.mbufs_total);
  family("ivswitch_datapath_page_faults_total", "counter",
         "Page faults of the datapath threads since they started (from /proc; ~0 under traffic: memory is touched at start).");
  out += fmt::format("ivswitch_datapath_page_faults_total{{kind=\"minor\"}} {}\n", s.datapath_minor_faults);
  out += fmt::format("ivswitch_datapath_page_faults_total{{kind=\"major\"}} {}\n", s.datapath_major_faults);
  family("ivswitch_resident_memory_bytes", "gauge", "The daemon's resident memory by kind (/proc/self/status; hugepages apart).");
  out += fmt::format("ivswitch_resident_memory_bytes{{kind=\"anon\"}} {}\n", s.rss_anon_kb << 10);
  out += fmt::format("ivswitch_resident_memory_bytes{{kind=\"file\"}} {}\n", s.rss_file_kb << 10);
  out += fmt::format("ivswitch_resident_memory_bytes{{kind=\"shmem\"}} {}\n", s.rss_shmem_kb << 10);
  out += fmt::format("ivswitch_resident_memory_bytes{{kind=\"hugetlb\"}} {}\n", s.hugetlb_kb << 10);
  family("ivswitch_dpdk_heap_bytes", "gauge", "DPDK's malloc heap (rte_malloc_get_socket_stats): allocated and free.");
  out += fmt::format("ivswitch_dpdk_heap_bytes{{state=\"allocated\"}} {}\n", s.heap_allocated_bytes);
  out += fmt::format("ivswitch_dpdk_heap_bytes{{state=\"free\"}} {}\n", s.heap_free_bytes);
  gauge("ivswitch_uptime_seconds", "gauge", "Seconds since the datapath started.", s.uptime_s);

  const auto pol = view_policy(dp);
  gauge("ivswitch_policy_epoch", "gauge", "Current policy epoch (bumped by every reload).", pol["epoch"].get<uint32_t>());
  gauge("ivswitch_policy_convergence_seconds", "gauge", "Time the last policy change took to revalidate every flow.",
        pol["last_convergence_ms"].get<double>() / 1e3);
  family("ivswitch_policy_rule_hits_total", "counter", "New flows decided by each rule in the current epoch (rule=\"(default)\": the default action).");
  out += fmt::format("ivswitch_policy_rule_hits_total{{rule=\"(default)\"}} {}\n", pol["default_hits"].get<uint64_t>());
  for (const auto& r : pol["rules"])
    out += fmt::format("ivswitch_policy_rule_hits_total{{rule=\"{}\"}} {}\n", r["name"].get<std::string>(), r["hits"].get<uint64_t>());
  gauge("ivswitch_flow_entries", "gauge", "Flows in the flow table.", pol["flows"]["entries"].get<uint64_t>());
  gauge("ivswitch_flow_capacity", "gauge", "Flow table bound (flows.table_size).", pol["flows"]["capacity"].get<uint64_t>());
  gauge("ivswitch_flow_installed_total", "counter", "Flows installed by the policy thread.", pol["flows"]["installed"].get<uint64_t>());
  gauge("ivswitch_flow_expired_total", "counter", "Flows removed after their idle timeout.", pol["flows"]["expired"].get<uint64_t>());
  gauge("ivswitch_flow_refused_table_full_total", "counter", "New flows not installed because the table was full.",
        pol["flows"]["refused_table_full"].get<uint64_t>());
  family("ivswitch_slow_path_total", "counter", "Policy thread work, by kind.");
  for (const auto& [k, v] : pol["slow_path"].items()) out += fmt::format("ivswitch_slow_path_total{{kind=\"{}\"}} {}\n", k, v.get<uint64_t>());
  if (pol.contains("autovalidator")) {
    family("ivswitch_autovalidator_total", "counter",
           "Test mode (flows.autovalidator): flow-cache hits sampled, lost to a full ring, checked against decide(), skipped as "
           "changed since served (stale), and mismatches (must stay 0).");
    for (const auto& [k, v] : pol["autovalidator"].items())
      out += fmt::format("ivswitch_autovalidator_total{{kind=\"{}\"}} {}\n", k, v.get<uint64_t>());
  }
  const auto chains = view_chains(dp)["chains"];
  family("ivswitch_chain_flows_total", "counter", "Flows of each chain by outcome (pending: started on the device path).");
  for (const auto& c : chains)
    for (const auto& [outcome, n] : c["flows"].items())
      out += fmt::format("ivswitch_chain_flows_total{{chain=\"{}\",outcome=\"{}\"}} {}\n", c["name"].get<std::string>(), outcome, n.get<uint64_t>());
  family("ivswitch_chain_pending_flows", "gauge", "Flows waiting for the chain's device to pass them back.");
  for (const auto& c : chains)
    out += fmt::format("ivswitch_chain_pending_flows{{chain=\"{}\"}} {}\n", c["name"].get<std::string>(), c["pending_now"].get<uint64_t>());
  family("ivswitch_chain_device_up", "gauge", "1 while the chain's device ports have link.");
  for (const auto& c : chains)
    out += fmt::format("ivswitch_chain_device_up{{chain=\"{}\"}} {}\n", c["name"].get<std::string>(), c["device"] == "up" ? 1 : 0);
  family("ivswitch_chain_verify_seconds_max", "gauge", "Longest time from a flow's first packet to verified.");
  for (const auto& c : chains)
    out += fmt::format("ivswitch_chain_verify_seconds_max{{chain=\"{}\"}} {}\n", c["name"].get<std::string>(), c["verify_ms_max"].get<double>() / 1e3);
  gauge("ivswitch_slow_path_busy_seconds_total", "counter", "Time the policy thread spent on new flows (decide, install, re-inject).",
        pol["slow_path_busy_ms"].get<double>() / 1e3);

  const auto qos = view_qos(dp, 0);
  if (qos["enabled"].get<bool>()) {
    family("ivswitch_qos_vm_packets_total", "counter", "Packets each VM sent, by the DSCP they arrived with (before any rewrite).");
    for (const auto& v : qos["vms"])
      for (const auto& [d, n] : v["seen"].items())
        out += fmt::format("ivswitch_qos_vm_packets_total{{vm=\"{}\",dscp=\"{}\"}} {}\n", v["vm"].get<std::string>(), d, n.get<uint64_t>());
    family("ivswitch_qos_vm_mismatched_total", "counter", "Packets whose DSCP differed from the assigned one (enforce and audit).");
    for (const auto& v : qos["vms"])
      out += fmt::format("ivswitch_qos_vm_mismatched_total{{vm=\"{}\"}} {}\n", v["vm"].get<std::string>(), v["mismatched"].get<uint64_t>());
    family("ivswitch_qos_vm_rewritten_total", "counter", "Packets whose DSCP the switch rewrote (enforce, meter remark).");
    for (const auto& v : qos["vms"])
      out += fmt::format("ivswitch_qos_vm_rewritten_total{{vm=\"{}\"}} {}\n", v["vm"].get<std::string>(), v["rewritten"].get<uint64_t>());
    family("ivswitch_qos_meter_packets_total", "counter", "Packets through each meter, by colour.");
    for (const auto& m : qos["meters"])
      for (const auto& [c, n] : m["packets"].items())
        out += fmt::format("ivswitch_qos_meter_packets_total{{meter=\"{}\",colour=\"{}\"}} {}\n", m["name"].get<std::string>(), c, n.get<uint64_t>());
    family("ivswitch_qos_meter_dropped_total", "counter", "Packets dropped by a meter's colour action.");
    for (const auto& m : qos["meters"])
      out += fmt::format("ivswitch_qos_meter_dropped_total{{meter=\"{}\"}} {}\n", m["name"].get<std::string>(), m["dropped"].get<uint64_t>());
    family("ivswitch_qos_class_packets_total", "counter", "Packets output, by class (after rewrite).");
    for (const auto& c : qos["classes"])
      out += fmt::format("ivswitch_qos_class_packets_total{{class=\"{}\"}} {}\n", c["name"].get<std::string>(), c["packets_out"].get<uint64_t>());
    family("ivswitch_qos_queue_packets_total", "counter", "Packets queued per class on a scheduled port.");
    for (const auto& e : qos["egress"])
      for (const auto& q : e["queues"])
        out += fmt::format("ivswitch_qos_queue_packets_total{{port=\"{}\",class=\"{}\"}} {}\n", e["port"].get<std::string>(), q["class"].get<std::string>(), q["queued_total"].get<uint64_t>());
    family("ivswitch_qos_queue_dropped_total", "counter", "Packets tail-dropped per class on a scheduled port (queue full).");
    for (const auto& e : qos["egress"])
      for (const auto& q : e["queues"])
        out += fmt::format("ivswitch_qos_queue_dropped_total{{port=\"{}\",class=\"{}\"}} {}\n", e["port"].get<std::string>(), q["class"].get<std::string>(), q["dropped"].get<uint64_t>());
    family("ivswitch_qos_queue_length", "gauge", "Packets in each class queue of a scheduled port now.");
    for (const auto& e : qos["egress"])
      for (const auto& q : e["queues"])
        out += fmt::format("ivswitch_qos_queue_length{{port=\"{}\",class=\"{}\"}} {}\n", e["port"].get<std::string>(), q["class"].get<std::string>(), q["queue_now"].get<uint64_t>());
    family("ivswitch_qos_mismatching_flow_directions", "gauge", "Flow directions in the table that carried a DSCP other than the assigned one.");
    out += fmt::format("ivswitch_qos_mismatching_flow_directions {}\n", qos["mismatching_flow_directions"].get<uint64_t>());
  }

  const auto mirrors = view_mirrors(dp)["mirrors"];
  family("ivswitch_mirror_packets_total", "counter", "Packets at each mirror's tap points, by what happened to them (eligible = seen at a tap).");
  for (const auto& m : mirrors)
    for (const auto& [what, n] : m["packets"].items())
      out += fmt::format("ivswitch_mirror_packets_total{{mirror=\"{}\",what=\"{}\"}} {}\n", m["name"].get<std::string>(), what, n.get<uint64_t>());
  // Tools by their description; a group's members each as "group of N / member".
  std::vector<std::pair<std::string, std::pair<std::string, json>>> tools;  // mirror, (tool, view)
  for (const auto& m : mirrors)
    for (const auto& t : m["tools"]) {
      tools.push_back({m["name"], {t["what"], t}});
      if (t.contains("group"))
        for (const auto& member : t["group"])
          tools.push_back({m["name"], {t["what"].get<std::string>() + " / " + member["what"].get<std::string>(), member}});
    }
  family("ivswitch_mirror_delivered_total", "counter", "Copies delivered to each tool of a mirror (a group's members each).");
  for (const auto& [mirror, tool] : tools)
    out += fmt::format("ivswitch_mirror_delivered_total{{mirror=\"{}\",tool=\"{}\"}} {}\n", mirror, label_value(tool.first), tool.second["delivered"].get<uint64_t>());
  family("ivswitch_mirror_tool_errors_total", "counter", "Copies a tool could not take (write error, full tool queue or capture buffer, no buffer).");
  for (const auto& [mirror, tool] : tools)
    out += fmt::format("ivswitch_mirror_tool_errors_total{{mirror=\"{}\",tool=\"{}\"}} {}\n", mirror, label_value(tool.first), tool.second["errors"].get<uint64_t>());

  for (const auto& m : dp.modules()) out += m->metrics();  // the jobs' (pipeline/module.hpp)

  const auto pmds = dp.pmds();
  auto per_pmd = [&](const char* name, const char* help, auto get) {
    family(name, "counter", help);
    for (const auto& p : pmds) out += fmt::format("{}{{pmd=\"{}\",cpu=\"{}\"}} {}\n", name, p.index, p.cpu, get(p));
  };
  per_pmd("ivswitch_pmd_packets_total", "Packets processed by the datapath thread.", [](auto& p) { return p.packets; });
  per_pmd("ivswitch_pmd_busy_cycles_total", "TSC cycles spent on iterations that moved packets.", [](auto& p) { return p.busy_cycles; });
  per_pmd("ivswitch_pmd_idle_cycles_total", "TSC cycles spent on empty polls (naps excluded).", [](auto& p) { return p.idle_cycles; });
  per_pmd("ivswitch_pmd_sleeps_total", "Naps taken by the idle datapath thread.", [](auto& p) { return p.sleeps; });
  // The same time in seconds, Prometheus's base unit: rate(ivswitch_pmd_busy_seconds_total[1m])
  // is the share of the thread's time spent moving packets, without knowing the TSC rate.
  const double hz = static_cast<double>(s.tsc_hz);
  per_pmd("ivswitch_pmd_busy_seconds_total", "Time spent on iterations that moved packets (busy cycles / TSC rate).",
          [hz](auto& p) { return static_cast<double>(p.busy_cycles) / hz; });
  per_pmd("ivswitch_pmd_idle_seconds_total", "Time spent on empty polls, naps excluded (idle cycles / TSC rate).",
          [hz](auto& p) { return static_cast<double>(p.idle_cycles) / hz; });
  per_pmd("ivswitch_pmd_sleep_seconds_total", "Time the idle datapath thread spent napping.",
          [](auto& p) { return static_cast<double>(p.sleep_us) / 1e6; });
  return out;
}

}  // namespace ivs::control
