#include "cli/show.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/schema_table.hpp"
#include "cli/table.hpp"
#include "channel/counter_fields.hpp"
#include "mirror/counter_fields.hpp"
#include "pipeline/counter_fields.hpp"
#include "policy/counter_fields.hpp"
#include "qos/counter_fields.hpp"

namespace ivs::cli {

using nlohmann::json;

namespace {
std::string num(const json& v) { return v.is_number_float() ? fmt::format("{:.1f}", v.get<double>()) : v.dump(); }
std::string drops_line(const json& drops) {
  std::string s;
  for (const auto& [reason, n] : drops.items()) s += fmt::format("{}{}={}", s.empty() ? "" : " ", reason, n.dump());
  return s.empty() ? "-" : s;
}
}  // namespace

std::string render_ports(const json& v) {
  const Table t = schema_table({pipeline::kPortFields, pipeline::kPortDropFields}, pipeline::kPortTable, v["ports"]);
  std::string reasons;
  for (const auto& p : v["ports"]) {
    if (p["drops_total"].get<uint64_t>() > 0) reasons += fmt::format("  {}: {}\n", p["name"].get<std::string>(), drops_line(p["drops"]));
    const auto& d = p["device"];
    if (d["rx_missed"].get<uint64_t>() || d["rx_errors"].get<uint64_t>() || d["tx_errors"].get<uint64_t>())
      reasons += fmt::format("  {}: device rx_missed={} rx_errors={} tx_errors={}\n", p["name"].get<std::string>(),
                             d["rx_missed"].dump(), d["rx_errors"].dump(), d["tx_errors"].dump());
  }
  return t.render() + (reasons.empty() ? "" : "drops by reason:\n" + reasons);
}

std::string render_fdb(const json& v) {
  Table t({"NETWORK", "MAC", "PORT", "TYPE", "AGE(s)"});
  for (const auto& e : v["entries"]) t.add({e["network"], e["mac"], e["port"], e["type"], num(e["age_s"])});
  Table n({"NETWORK", "IP", "MAC", "TYPE", "AGE(s)"});
  for (const auto& e : v["neighbors"]) n.add({e["network"], e["ip"], e["mac"], e["type"], num(e["age_s"])});
  return fmt::format("MAC table ({} entries)\n{}\nIPv4 neighbours ({} entries)\n{}", v["entries"].size(), t.render(),
                     v["neighbors"].size(), n.render());
}

std::string render_routes(const json& v) {
  Table t({"PREFIX", "NETWORK", "VLAN", "GATEWAY", "GATEWAY-MAC", "TYPE"});
  for (const auto& r : v["routes"]) t.add({r["prefix"], r["network"], num(r["vlan"]), r["gateway"], r["gateway_mac"], r["type"]});
  if (!v.contains("static_routes") || v["static_routes"].empty()) return t.render();
  // Static routes (config routes): a row per next hop; an ECMP route has several.
  const Table s = schema_table({pipeline::kRouteHopFields}, pipeline::kRouteHopTable, v["static_routes"],
                               {{"MAC", [](const json& r) { return r["mac"].get<std::string>().empty() ? std::string("(unresolved)") : r["mac"].get<std::string>(); }}});
  return t.render() + "\nstatic routes (a row per next hop)\n" + s.render();
}

std::string render_stats(const json& v) {
  std::string out = fmt::format("uptime {:.0f} s   rx {} pkts   tx {} pkts   dropped {} pkts\n", v["uptime_s"].get<double>(),
                                num(v["rx_packets"]), num(v["tx_packets"]), num(v["drops_total"]));
  out += fmt::format("fdb: {} / {} entries, learned {}, moved {}, aged {}, refused (full) {}\n", num(v["fdb"]["entries"]),
                     num(v["fdb"]["capacity"]), num(v["fdb"]["learned"]), num(v["fdb"]["moved"]), num(v["fdb"]["aged"]),
                     num(v["fdb"]["refused_full"]));
  if (v.contains("ports"))  // (a daemon before the port table has no such key)
    out += fmt::format("ports: {} live of {} slots (switch.max_ports)\n", num(v["ports"]["live"]), num(v["ports"]["slots"]));
  out += fmt::format("neighbours: {} entries, learned {}\n", num(v["neighbors"]["entries"]), num(v["neighbors"]["learned"]));
  if (v.contains("neighbors6"))
    out += fmt::format("neighbours (IPv6): {} entries, learned {}\n", num(v["neighbors6"]["entries"]), num(v["neighbors6"]["learned"]));
  out += fmt::format("mbufs: {} in use of {}\n", num(v["mbufs"]["in_use"]), num(v["mbufs"]["total"]));
  if (v.contains("memory")) {
    const auto& m = v["memory"];
    out += fmt::format("memory: RSS {} MB (anon {}, file {}, shared {}), hugepages {} MB; DPDK heap {} MB allocated, {} MB free; "
                       "datapath page faults {} (major {})\n",
                       m["rss_kb"].get<uint64_t>() >> 10, m["rss_anon_kb"].get<uint64_t>() >> 10, m["rss_file_kb"].get<uint64_t>() >> 10,
                       m["rss_shmem_kb"].get<uint64_t>() >> 10, m["hugetlb_kb"].get<uint64_t>() >> 10,
                       m["dpdk_heap"]["allocated_bytes"].get<uint64_t>() >> 20, m["dpdk_heap"]["free_bytes"].get<uint64_t>() >> 20,
                       num(m["datapath_page_faults"]["minor"]), num(m["datapath_page_faults"]["major"]));
  }
  Table ev({"EVENT", "COUNT"});
  for (const auto& [name, n] : v["events"].items()) ev.add({name, n.dump()});
  out += "\n" + ev.render();
  if (!v["drops"].empty()) {
    Table d({"DROP REASON", "COUNT"});
    for (const auto& [name, n] : v["drops"].items()) d.add({name, n.dump()});
    out += "\n" + d.render();
  }
  return out;
}

std::string render_pmd(const json& v) {
  // Page faults: minor, and major only when there were any.
  const CellOverrides faults{{"PAGE FAULTS", [](const json& p) {
                                return p.contains("minor_faults") ? num(p["minor_faults"]) + (p["major_faults"].get<uint64_t>()
                                                                                                  ? "+" + num(p["major_faults"]) + " major"
                                                                                                  : "")
                                                                  : "-";
                              }}};
  return schema_table({pipeline::kPmdFields}, pipeline::kPmdTable, v["pmds"], faults).render();
}

std::string render_flows(const json& v) {
  Table t({"PROTO", "SOURCE", "DESTINATION", "NETWORK", "STATE", "RULE", "EPOCH", "PKTS FWD/REV", "BYTES FWD/REV", "AGE(s)",
           "IDLE/TIMEOUT(s)", "CHAIN: DEVICE/SHORTCUT PKTS"});
  for (const auto& f : v["flows"]) {
    std::string chain = "-";
    if (f.contains("chain")) {
      const auto& c = f["chain"];
      chain = fmt::format("{}: {}/{}{}", c["name"].get<std::string>(),
                          c["to_device"]["forward"].get<uint64_t>() + c["to_device"]["reverse"].get<uint64_t>(),
                          c["shortcut"]["forward"].get<uint64_t>() + c["shortcut"]["reverse"].get<uint64_t>(),
                          c["bypassed"].get<bool>() ? " (device down: bypassed)"
                          : c["verify_ms"].is_null() ? ""
                                                     : fmt::format(" (verified in {:.2f} ms)", c["verify_ms"].get<double>()));
    }
    t.add({f["proto"], f["src"], f["dst"], f["network"], f["state"].get<std::string>() + (f["persisted"].get<bool>() ? " (persist)" : ""),
           // a flow kept by persist: its rule index is an older policy's
           f["rule"].get<std::string>() + (f.value("rule_of_older_policy", false) ? " (older policy's)" : ""), num(f["epoch"]), fmt::format("{}/{}", num(f["packets"]["forward"]), num(f["packets"]["reverse"])),
           fmt::format("{}/{}", num(f["bytes"]["forward"]), num(f["bytes"]["reverse"])), num(f["age_s"]),
           fmt::format("{}/{}", num(f["idle_s"]), num(f["timeout_s"])), chain});
  }
  return fmt::format("{} flow(s), {} shown\n{}", num(v["total"]), num(v["shown"]), t.render());
}

std::string render_policy(const json& v) {
  std::string out = fmt::format("epoch {}   default {}   last change converged in {:.3f} ms (in force after {:.3f} ms)   classifier rows {} (IPv6 {})\n",
                                num(v["epoch"]), v["default"].get<std::string>(), v["last_convergence_ms"].get<double>(),
                                v.value("last_reload_in_force_ms", 0.0), num(v["classifier_rows"]), num(v.value("classifier_rows_ipv6", json(0))));
  out += fmt::format("flows {} / {}   installed {}   expired {}   refused (table full) {}\n", num(v["flows"]["entries"]),
                     num(v["flows"]["capacity"]), num(v["flows"]["installed"]), num(v["flows"]["expired"]),
                     num(v["flows"]["refused_table_full"]));
  // Flow restore at start (switch.flow_restore, docs/vms.md "The restart gap").
  out += fmt::format("flows restored at start {}   left out {}   files refused {}\n\n", num(v["flows"]["restored"]),
                     num(v["flows"]["restore_refused"]), num(v["flows"]["restore_files_refused"]));
  // ROWS: the rule's classifier rows, and of them the IPv6 classifier's (0: it matches no
  // IPv6 flow, e.g. its endpoints have no IPv6 address).
  Table t({"#", "RULE", "ACTION", "ON-CHANGE", "NEW FLOWS THIS EPOCH", "ROWS (IPv6)"});
  int i = 0;
  for (const auto& r : v["rules"])
    t.add({std::to_string(i++), r["name"], r["action"], r["on_change"], num(r["hits"]),
           fmt::format("{} ({})", num(r["classifier_rows"]), num(r.value("classifier_rows_ipv6", json(0))))});
  t.add({"-", "(default)", v["default"], "-", num(v["default_hits"]), "-"});
  out += t.render() + "\nslow path:";
  for (const auto& [k, n] : v["slow_path"].items()) out += fmt::format(" {}={}", k, n.dump());
  out += fmt::format(" busy_ms={:.3f}\n", v["slow_path_busy_ms"].get<double>());
  if (v.contains("autovalidator")) {  // test mode
    out += "autovalidator (test mode):";
    for (const auto& [k, n] : v["autovalidator"].items()) out += fmt::format(" {}={}", k, n.dump());
    out += "\n";
  }
  return out;
}

std::string render_chains(const json& v) {
  return v["chains"].empty() ? "no chains configured\n" : schema_table({policy::kChainFields}, policy::kChainTable, v["chains"]).render();
}

std::string render_qos(const json& v) {
  if (!v["enabled"].get<bool>()) return "no qos section configured\n";
  std::string out;
  Table a({"ASSIGNMENT", "FROM", "TO", "NETWORK", "DSCP", "MODE", "METER"});
  auto list = [](const json& l) { return l.empty() ? std::string("any") : fmt::format("{}", fmt::join(l.get<std::vector<std::string>>(), ",")); };
  for (const auto& x : v["assign"])
    a.add({x["name"], list(x["from"]), list(x["to"]), x["network"], x["dscp"].is_null() ? "-" : x["dscp"].get<std::string>(), x["mode"],
           x["meter"].is_null() ? "-" : x["meter"].get<std::string>()});
  if (!v["assign"].empty()) out += a.render() + "\n";
  const CellOverrides by_dscp{{"BY DSCP (as received)", [](const json& x) {
                                 std::string seen;
                                 for (const auto& [d, n] : x["seen"].items()) seen += fmt::format("{}{}={}", seen.empty() ? "" : " ", d, n.dump());
                                 return seen.empty() ? std::string("-") : seen;
                               }}};
  out += schema_table({qos::kQosVmFields}, qos::kQosVmTable, v["vms"], by_dscp).render();
  if (!v["meters"].empty()) {
    auto act = [](const json& j) { return j.is_string() ? j.get<std::string>() : "remark " + j["remark"].get<std::string>(); };
    const CellOverrides actions{{"YELLOW", [&](const json& m) { return act(m["yellow"]); }}, {"RED", [&](const json& m) { return act(m["red"]); }}};
    out += "\n" + schema_table({qos::kQosMeterFields}, qos::kQosMeterTable, v["meters"], actions).render();
  }
  if (!v["classes"].empty()) {
    const CellOverrides dscp{{"DSCP", [](const json& c) {
                                const auto d = c["dscp"].get<std::vector<std::string>>();
                                return d.size() > 8 ? fmt::format("{} values", d.size()) : fmt::format("{}", fmt::join(d, ","));
                              }}};
    out += "\n" + schema_table({qos::kQosClassFields}, qos::kQosClassTable, v["classes"], dscp).render();
  }
  for (const auto& e : v["egress"])
    out += fmt::format("\nport {} scheduled by class, {}; backlog {}\n", e["port"].get<std::string>(),
                       fmt::format("at {} kbit/s", num(e["rate_kbit"])), num(e["backlog"])) +
           schema_table({qos::kQosQueueFields}, qos::kQosQueueTable, e["queues"]).render();
  const auto& mm = v["recent_mismatches"];
  if (mm.empty()) return out + "\nno flow carries a DSCP other than its assignment\n";
  Table t({"SENDER", "PROTO", "SRC", "DST", "OBSERVED", "ASSIGNED", "BY", "MODE", "ACTION", "PACKETS", "LAST(s ago)"});
  for (const auto& r : mm)
    t.add({r["sender"], r["proto"], r["src"], r["dst"], r["observed"], r["assigned"].is_null() ? "-" : r["assigned"].get<std::string>(),
           r["assignment"], r["mode"], r["action"], num(r["mismatched_packets"]), num(r["last_seen_s_ago"])});
  return out + fmt::format("\nrecent mismatching flows ({} of {} flow directions):\n", mm.size(), num(v["mismatching_flow_directions"])) + t.render();
}

std::string render_mirrors(const json& v) {
  if (v["mirrors"].empty()) return "no mirrors (add one: ivctl mirror add NAME --tap PORT --pcapng FILE)\n";
  std::string out;
  for (const auto& m : v["mirrors"]) {
    std::string taps;
    for (const auto& t : m["taps"])
      taps += (taps.empty() ? "" : " ") + (t.contains("flows") ? "[" + t["description"].get<std::string>() + "]"
                                                              : t["port"].get<std::string>() + ":" + t["direction"].get<std::string>());
    const auto& p = m["packets"];
    const std::string mode = m.value("filter_mode", std::string());
    out += fmt::format("mirror {}{}  taps {}  filter '{}'{}  snaplen {}  sample 1/{}{}\n", m["name"].get<std::string>(),
                       m["live_capture"].get<bool>() ? " (live capture)" : "", taps, m["filter"].get<std::string>(),
                       m["filter_engine"].get<std::string>().empty() ? "" : " (" + m["filter_engine"].get<std::string>() + ", " + mode + ")",
                       m["snaplen"].get<uint32_t>() ? num(m["snaplen"]) : std::string("whole frames"), num(m["sample"]),
                       m["dedup"].get<bool>() ? "" : "  no dedup");
    out += fmt::format("  eligible {}  duplicates {}  filtered out {}  sampled out {}  copied {}  not copied: tools full {}  dropped: no buffer {}, broker behind {}  broker received {}\n",
                       num(p["eligible"]), num(p["duplicates"]), num(p["filtered_out"]), num(p["sampled_out"]), num(p["copied"]),
                       num(p["skipped_tools_full"]), num(p["dropped_no_buffer"]), num(p["dropped_broker_behind"]), num(p["received_by_broker"]));
    if (!m["filter"].get<std::string>().empty())
      out += fmt::format("  filter verdicts: filter run {}  kept for the flow {}\n", num(m["filter_verdicts"]["run"]), num(m["filter_verdicts"]["cached"]));
    // A group's members indented under it.
    json rows = json::array();
    for (const auto& tool : m["tools"]) {
      rows.push_back(tool);
      if (tool.contains("group"))
        for (json member : tool["group"]) {
          member["what"] = "  " + member["what"].get<std::string>();
          member.erase("files_started");
          rows.push_back(std::move(member));
        }
    }
    out += schema_table({mirror::kMirrorToolFields}, mirror::kMirrorToolTable, rows).render() + "\n";
  }
  return out;
}

std::string render_port_security(const json& v) {
  Table t({"PORT", "SECURITY", "VM", "NETWORK", "MAC", "ADDRESSES", "GUARDS", "DROPS"});
  std::string reasons;
  for (const auto& p : v["ports"]) {
    const std::string drops = num(p["drops_total"]);
    if (p["vms"].empty()) t.add({p["port"], p["enabled"].get<bool>() ? "on" : "off", "-", "-", "-", "any (not checked)", "-", drops});
    for (const auto& vm : p["vms"]) {
      std::vector<std::string> addrs;
      for (const auto& a : vm["addresses"]) addrs.push_back(a.get<std::string>());
      const std::string a = vm["checks_addresses"].get<bool>() ? fmt::format("{}", fmt::join(addrs, ", ")) + " + " + vm["link_local"].get<std::string>()
                                                               : "any (none listed: MAC only)";
      std::string guards = vm["router"].get<bool>() ? "may route" : "RA guard";
      guards += vm["dhcp_server"].get<bool>() ? ", DHCP server" : ", DHCP guard";
      t.add({p["port"], p["enabled"].get<bool>() ? "on" : "off", vm["vm"], vm["network"], vm["mac"], a, guards, drops});
    }
    if (p["drops_total"].get<uint64_t>() > 0) reasons += fmt::format("  {}: {}\n", p["port"].get<std::string>(), drops_line(p["drops"]));
  }
  return t.render() + (reasons.empty() ? "" : "drops by reason:\n" + reasons);
}

std::string render_channels(const json& v) {
  const std::string role = v["role"];
  if (role == "none") return "no channels (config section 'channels', docs/channels.md)\n";
  const auto& a = v["address"];
  std::string out = fmt::format("channel role {}: address {} {} udp {}; messages up to {} bytes; agents limited to {}/s (burst {})\n", role,
                                a["mac"].get<std::string>(), a["ip"].get<std::string>(), num(a["udp_port"]), num(v["max_message"]),
                                num(v["rate_pps"]), num(v["burst"]));
  if (role == "host")
    out += fmt::format("host daemons: {} connected to {}  (bad requests {}, bad frames {})\n", num(v["clients"]),
                       v["socket"].get<std::string>(), num(v["bad_requests"]), num(v["bad_frames"]));
  else
    out += fmt::format("uplink: {}\n", v["uplink"].get<std::string>());
  Table map({"VM", "ID", "VLAN", "AGENT MAC", "AGENT IP", "AGENT PORT", "HOST SIDE"});
  for (const auto& c : v["channels"])
    map.add({c.value("vm", std::string("-")), num(c["id"]), num(c["vlan"]), c["agent_mac"], c["agent_ip"], c["agent_port"], c["host_port"]});
  out += map.render();
  if (role == "host") {
    out += "\n" + schema_table({channel::kChannelFields}, channel::kChannelTable, v["channels"]).render();
  }
  std::string drops;
  for (const auto& c : v["channels"])
    for (const auto& [reason, n] : c["drops_at_agent_port"].items())
      if (n.get<uint64_t>() > 0) drops += fmt::format("  {} (port {}): {} {}\n", c.value("vm", "id " + num(c["id"])), c["agent_port"].get<std::string>(), reason, num(n));
  out += drops.empty() ? "\nno drops at the agents' ports\n" : "\ndropped at the agents' ports:\n" + drops;
  return out;
}

std::string render_mirror_change(const json& v) {
  return v.contains("added") ? fmt::format("mirror {} added\n", v["added"].get<std::string>())
                             : fmt::format("mirror {} removed\n", v["removed"].get<std::string>());
}

std::string render_reload(const json& v) {
  if (!v["applied"].get<bool>())
    return fmt::format("policy epoch {} published ({} rules); flows still being revalidated after {} ms (see ivctl show policy)\n",
                       num(v["epoch"]), num(v["rules"]), num(v["pending_after_ms"]));
  return fmt::format("epoch {} in force after {:.3f} ms ({} rules, {} VMs); flows revalidated in {:.3f} ms\n", num(v["epoch"]),
                     v.value("in_force_ms", 0.0), num(v["rules"]), num(v.value("vms", json(0))), v["convergence_ms"].get<double>());
}

std::string render_trace(const json& v) {
  const auto& p = v["packet"];
  std::string out = fmt::format("packet: port {}  {} -> {}  {} {} -> {}  ({} bytes)\n", p["port"].get<std::string>(),
                                p["src_mac"].get<std::string>(), p["dst_mac"].get<std::string>(), p["proto"].get<std::string>(),
                                p["src"].get<std::string>(), p["dst"].get<std::string>(), num(p["length"]));
  for (const auto& s : v["steps"]) out += fmt::format("  {:<9} {}\n", s["stage"].get<std::string>(), s["what"].get<std::string>());
  out += fmt::format("result: {} (policy epoch {})\n", v["result"].get<std::string>(), num(v["epoch"]));
  return out;
}

std::string render_trace_live(const json& v) {
  const std::string filter = v["filter"].get<std::string>();
  std::string out = fmt::format("live trace on port {}{}: {} of {} packet(s) in {:.2f} s{}, policy epoch {}\n", v["port"].get<std::string>(),
                                filter.empty() ? "" : fmt::format(" (filter '{}')", filter), num(v["traced"]), num(v["requested"]),
                                v["seconds"].get<double>(), v["timed_out"].get<bool>() ? " (timed out)" : "", num(v["epoch"]));
  size_t i = 0;
  for (const auto& p : v["packets"]) {
    out += fmt::format("\npacket {}: +{:.3f} ms, thread {}: {}\n", ++i, p["time_us"].get<double>() / 1000.0, num(p["thread"]),
                       p["summary"].get<std::string>());
    for (const auto& s : p["steps"]) out += fmt::format("  {:<9} {}\n", s["stage"].get<std::string>(), s["what"].get<std::string>());
    const std::string verdict = p["verdict"].get<std::string>();
    out += fmt::format("result: {}{}\n", p["result"].get<std::string>(), verdict.empty() ? "" : fmt::format(" (flow {})", verdict));
  }
  if (v["records_lost"].get<uint64_t>() > 0) out += fmt::format("\n{} trace record(s) lost: the trace buffer was full\n", num(v["records_lost"]));
  return out;
}

}  // namespace ivs::cli
