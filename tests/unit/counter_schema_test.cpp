// Counters declared once (common/counter_schema.hpp): every declared counter reaches all
// three outputs, the JSON view (its key), /metrics (HELP, TYPE and a series per row, in
// the declared unit) and ivctl's table (its column, its value), and docs/counters.md's
// generated tables match the declarations. The core groups go from hand-made snapshots
// through the daemon's own view functions (so the declarations' expressions are checked
// too); the job groups, whose views need a running service, from JSON built from their
// declarations through the same generators and renderers. tests/integration's suites
// and scripts/capture-outputs.sh check the real daemon.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "cli/schema_table.hpp"
#include "cli/show.hpp"
#include "ethertypes/cli/show.hpp"
#include "control/counter_registry.hpp"
#include "control/views.hpp"
#include "mirror/module.hpp"
#include "portsec/reasons.hpp"

namespace ivs::control {
namespace {
// A port security reason's counter (a module's reason: numbered once the table is built).
size_t portsec_ip_index() {
  (void)drop_reasons();
  return portsec::kDrops.index(static_cast<size_t>(portsec::Drop::kIp));
}


using nlohmann::json;

// The rows of a view as the schema reads them, each with its parent row (nested rows).
std::vector<std::pair<json, json>> rows_with_parents(const Schema& s, const json& view) {
  std::vector<std::pair<json, json>> out;
  if (s.rows.empty()) return {{view, json()}};
  const auto slash = s.rows.find('/');
  for (const json& r : view.at(std::string(s.rows.substr(0, slash)))) {
    if (slash == std::string_view::npos) out.push_back({r, json()});
    else
      for (const json& c : r.at(std::string(s.rows.substr(slash + 1)))) out.push_back({c, r});
  }
  return out;
}
json rows_of(const Schema& s, const json& view) {
  json out = json::array();
  for (const auto& [r, parent] : rows_with_parents(s, view)) out.push_back(r);
  return out;
}

std::string text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// The value /metrics must show for a field, from the JSON, in Prometheus's base unit.
double expected_value(const Field& f, const json& v, const json& row) {
  switch (f.unit) {
    case Unit::kFlag: return (v.is_boolean() ? v.get<bool>() : v == "up") ? 1 : 0;
    case Unit::kLength: return static_cast<double>(v.size());
    case Unit::kKibibytes: return v.get<double>() * 1024;
    case Unit::kMilliseconds: return v.get<double>() / 1000;
    case Unit::kMicroseconds: return v.get<double>() / 1e6;
    case Unit::kCycles: return v.get<double>() / row.at("tsc_hz").get<double>();
    default: return v.get<double>();
  }
}

// metric{labels} -> value, from Prometheus text.
std::map<std::string, double> samples(const std::string& prom) {
  std::map<std::string, double> out;
  std::istringstream in(prom);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto sp = line.rfind(' ');
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

struct Case {
  const Schema* schema;
  json view;
  std::string cli;                           // the ivctl rendering of the view
  std::span<const std::string_view> table;   // the layout of its table, if it has one
  std::vector<std::span<const Field>> table_fields;
};

// Core snapshots with a distinct value in every counter, so a counter read from the wrong
// member shows.
std::vector<pipeline::PortSnapshot> test_ports() {
  std::vector<pipeline::PortSnapshot> ports(2);
  uint64_t n = 1000;
  for (size_t i = 0; i < ports.size(); ++i) {
    auto& p = ports[i];
    p.name = fmt::format("p{}", i);
    p.type = "af_packet";
    p.detail = fmt::format("veth{}", i);
    p.network_mode = "access web";
    p.driver = "net_af_packet";
    p.link_up = i == 0;
    p.pmd_cpu = 3;
    for (uint64_t* c : {&p.link_ups, &p.link_downs, &p.rx_packets, &p.rx_bytes, &p.tx_packets, &p.tx_bytes, &p.dev.imissed,
                        &p.dev.ierrors, &p.dev.oerrors, &p.dev.rx_nombuf})
      *c = ++n;
    p.drops[static_cast<size_t>(DropReason::kTxFull)] = ++n;
    p.drops[portsec_ip_index()] = ++n;
    p.drops_total = p.drops[static_cast<size_t>(DropReason::kTxFull)] + p.drops[portsec_ip_index()];
  }
  return ports;
}

std::vector<pipeline::PmdSnapshot> test_pmds() {
  std::vector<pipeline::PmdSnapshot> pmds(2);
  uint64_t n = 2000;
  for (size_t i = 0; i < pmds.size(); ++i) {
    auto& p = pmds[i];
    p.index = static_cast<unsigned>(i);
    p.cpu = static_cast<unsigned>(i + 2);
    p.ports = {"p0", "p1"};
    p.tid = 4242;
    for (uint64_t* c : {&p.iterations, &p.busy_cycles, &p.idle_cycles, &p.packets, &p.sleeps, &p.sleep_us, &p.minor_faults, &p.major_faults})
      *c = ++n;
  }
  return pmds;
}

pipeline::StatsSnapshot test_stats() {
  pipeline::StatsSnapshot s;
  uint64_t n = 3000;
  for (uint64_t* c : {&s.rx_packets, &s.tx_packets, &s.drops_total, &s.fdb_learned, &s.fdb_moved, &s.fdb_aged, &s.fdb_full,
                      &s.static_evicted, &s.static_failed,
                      &s.neighbors_learned, &s.mbufs_in_use, &s.mbufs_total,
                      &s.rss_kb, &s.rss_anon_kb, &s.rss_file_kb, &s.rss_shmem_kb, &s.hugetlb_kb, &s.heap_total_bytes,
                      &s.heap_allocated_bytes, &s.heap_free_bytes, &s.prefault_bytes, &s.datapath_minor_faults, &s.datapath_major_faults})
    *c = ++n;
  s.fdb_entries = 41;
  s.fdb_capacity = 42;
  s.neighbor_entries = 43;
  s.port_slots = 44;
  s.ports_live = 45;
  s.neighbor6_entries = 47;
  s.neighbors6_learned = 48;
  for (size_t e = 0; e < pipeline::kEventCount; ++e) s.events[e] = ++n;
  s.drops[static_cast<size_t>(DropReason::kNoRoute)] = ++n;
  s.prefault_ms = 12.5;
  s.uptime_s = 77.25;
  s.tsc_hz = 2'000'000'000;
  return s;
}

// A job group's view built from its declarations: every field gets a distinct value of
// its kind (strings for info fields, a list for a length), on top of `base`.
json declared_view(const Schema& s, json base, size_t rows, uint64_t& n) {
  auto fill = [&](json& row, size_t i) {
    for (const Field& f : s.fields) {
      if (get_field(row, f.key)) continue;  // a field exported twice, or given by the base
      if (f.unit == Unit::kLength) put_field(row, f.key, json::array({"a", "b", "c"}));
      else if (f.unit == Unit::kFlag) put_field(row, f.key, i % 2 == 0);
      else if (!f.label.keys.empty()) put_field(row, f.key, {{"kind_a", ++n}, {"kind_b", ++n}});
      else if (f.kind == FieldKind::kInfo) put_field(row, f.key, fmt::format("{}-{}", f.key, i));
      else put_field(row, f.key, ++n);
    }
  };
  if (s.rows.empty()) {
    fill(base, 0);
    return base;
  }
  auto fill_all = [&](json& arr) {
    if (!arr.is_array()) arr = json::array();
    for (size_t i = arr.size(); i < rows; ++i) arr.push_back(json::object());
    for (size_t i = 0; i < arr.size(); ++i) fill(arr[i], i);
  };
  const auto slash = s.rows.find('/');
  if (slash == std::string_view::npos) fill_all(base[std::string(s.rows)]);
  else
    for (json& outer : base[std::string(s.rows.substr(0, slash))]) fill_all(outer[std::string(s.rows.substr(slash + 1))]);
  return base;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  const json ports = ports_json(test_ports());
  out.push_back({&pipeline::kPortSchema, ports, cli::render_ports(ports), pipeline::kPortTable,
                 {pipeline::kPortFields, pipeline::kPortDropFields}});
  out.push_back({&pipeline::kPortDropSchema, ports, cli::render_ports(ports), pipeline::kPortTable,
                 {pipeline::kPortFields, pipeline::kPortDropFields}});
  const json pmds = pmds_json(test_pmds(), 2e9);
  out.push_back({&pipeline::kPmdSchema, pmds, cli::render_pmd(pmds), pipeline::kPmdTable, {pipeline::kPmdFields}});
  const json stats = stats_json(test_stats());
  out.push_back({&pipeline::kStatsSchema, stats, cli::render_stats(stats), {}, {}});
  uint64_t rn = 9000;
  const json routes = declared_view(pipeline::kRouteHopSchema, {{"routes", json::array()}}, 2, rn);
  out.push_back({&pipeline::kRouteHopSchema, routes, cli::render_routes(routes), pipeline::kRouteHopTable, {pipeline::kRouteHopFields}});

  uint64_t n = 5000;
  json fe = declared_view(flowexport::kCollectorSchema,
                          {{"active_timeout_s", 60}, {"template_interval_s", 60}, {"templates", {{"ipv4", 256}, {"ipv6", 257}}},
                           {"observation_domain", 1}, {"enterprise_number", 1}, {"max_message_bytes", 1400}, {"queue_records", 64}},
                          2, n);
  fe = declared_view(flowexport::kExporterSchema, fe, 0, n);
  for (const Schema* s : {&flowexport::kCollectorSchema, &flowexport::kExporterSchema})
    out.push_back({s, fe, cli::render_flow_export(fe), flowexport::kCollectorTable, {flowexport::kCollectorFields}});

  json ch_base{{"role", "host"}, {"address", {{"mac", "02:00:00:00:00:01"}, {"ip", "169.254.77.1"}, {"udp_port", 7077}}},
               {"max_message", 1400}, {"rate_pps", 200}, {"burst", 50}, {"socket", "/run/ch.sock"},
               {"channels", json::array()}};
  for (int i = 0; i < 2; ++i)
    ch_base["channels"].push_back({{"id", 100 + i}, {"vlan", 3000 + i}, {"agent_mac", "02:00:00:00:a1:02"}, {"agent_ip", "169.254.77.12"},
                                   {"agent_port", "vm"}, {"host_port", "channel"}, {"drops_at_agent_port", json::object()}});
  json ch = declared_view(channel::kChannelSchema, ch_base, 2, n);
  ch = declared_view(channel::kChannelSocketSchema, ch, 0, n);
  for (const Schema* s : {&channel::kChannelSchema, &channel::kChannelSocketSchema})
    out.push_back({s, ch, cli::render_channels(ch), channel::kChannelTable, {channel::kChannelFields}});

  // QoS: the config columns the renderer formats itself get their real shapes.
  json qv{{"enabled", true}, {"assign", json::array()}, {"recent_mismatches", json::array()},
          {"classes", json::array({{{"dscp", {"EF"}}}, {{"dscp", {"AF21", "AF22"}}, {"meter", nullptr}}})},
          {"egress", json::array({{{"port", "vm3"}, {"rate_kbit", 20000}, {"backlog", 0}, {"queues", json::array()}}})}};
  for (const Schema* q : {&qos::kQosVmSchema, &qos::kQosMeterSchema, &qos::kQosClassSchema, &qos::kQosQueueSchema, &qos::kQosSchema})
    qv = declared_view(*q, qv, 2, n);
  qv["vms"][0]["seen"] = {{"BE", 7}, {"EF", 8}};
  qv["vms"][1]["seen"] = json::object();
  const std::string qcli = cli::render_qos(qv);
  out.push_back({&qos::kQosVmSchema, qv, qcli, qos::kQosVmTable, {qos::kQosVmFields}});
  out.push_back({&qos::kQosMeterSchema, qv, qcli, qos::kQosMeterTable, {qos::kQosMeterFields}});
  out.push_back({&qos::kQosClassSchema, qv, qcli, qos::kQosClassTable, {qos::kQosClassFields}});
  out.push_back({&qos::kQosQueueSchema, qv, qcli, qos::kQosQueueTable, {qos::kQosQueueFields}});
  out.push_back({&qos::kQosSchema, qv, qcli, {}, {}});

  json mv{{"mirrors", json::array()}};
  for (int i = 0; i < 2; ++i)
    mv["mirrors"].push_back({{"name", fmt::format("m{}", i)}, {"live_capture", false}, {"taps", json::array()}, {"filter", ""},
                             {"filter_engine", ""}, {"snaplen", 0}, {"sample", 1}, {"dedup", true}, {"tools", json::array()}});
  mv = declared_view(mirror::kMirrorSchema, mv, 2, n);
  mv = declared_view(mirror::kMirrorToolSchema, mv, 2, n);
  const std::string mcli = cli::render_mirrors(mv);
  out.push_back({&mirror::kMirrorSchema, mv, mcli, {}, {}});
  out.push_back({&mirror::kMirrorToolSchema, mv, mcli, mirror::kMirrorToolTable, {mirror::kMirrorToolFields}});

  json pv{{"default", "allow"}, {"classifier_rows", 3}, {"rules", json::array()}};
  for (int i = 0; i < 2; ++i) pv["rules"].push_back({{"action", "allow"}, {"on_change", "persist"}});
  for (const Schema* p : {&policy::kPolicyHeadSchema, &policy::kPolicyRuleSchema, &policy::kPolicyFlowSchema, &policy::kPolicyBusySchema})
    pv = declared_view(*p, pv, 2, n);
  const std::string pcli = cli::render_policy(pv);
  for (const Schema* p : {&policy::kPolicyHeadSchema, &policy::kPolicyRuleSchema, &policy::kPolicyFlowSchema, &policy::kPolicyBusySchema})
    out.push_back({p, pv, pcli, {}, {}});
  json cv = declared_view(policy::kChainSchema, {{"chains", json::array()}}, 2, n);
  cv["chains"][0]["device"] = "up";  // a flag shown as up/down
  cv["chains"][1]["device"] = "down";
  out.push_back({&policy::kChainSchema, cv, cli::render_chains(cv), policy::kChainTable, {policy::kChainFields}});

  json ps = declared_view(portsec::kPortSecuritySchema, {{"ports", json::array()}}, 2, n);
  for (auto& p : ps["ports"]) {
    p["vms"] = json::array();
    p["drops"] = json::object();
  }
  out.push_back({&portsec::kPortSecuritySchema, ps, cli::render_port_security(ps), {}, {}});

  json ev{{"enabled", true}, {"sample_every", 2}, {"max_entries", 64}, {"tables", 1}};
  ev = declared_view(ethertypes::kEthertypeSchema, ev, 2, n);
  ev = declared_view(ethertypes::kEthertypeOverflowSchema, ev, 2, n);
  ev = declared_view(ethertypes::kEthertypeHeadSchema, ev, 0, n);  // "entries" is the rows': its length
  const std::string ecli = cli::render_ethertypes(ev);
  out.push_back({&ethertypes::kEthertypeSchema, ev, ecli, ethertypes::kEthertypeTable, {ethertypes::kEthertypeFields}});
  out.push_back({&ethertypes::kEthertypeOverflowSchema, ev, ecli, ethertypes::kEthertypeOverflowTable,
                 {ethertypes::kEthertypeOverflowFields}});
  out.push_back({&ethertypes::kEthertypeHeadSchema, ev, ecli, {}, {}});
  return out;
}

TEST(CounterSchema, EveryGroupIsTested) {
  std::set<const Schema*> tested;
  for (const auto& c : cases()) tested.insert(c.schema);
  for (const Schema* s : kCounterSchemas) EXPECT_TRUE(tested.contains(s)) << s->name << " has no case here";
}

TEST(CounterSchema, EveryCounterIsInTheJson) {
  for (const auto& c : cases())
    for (const json& row : rows_of(*c.schema, c.view))
      for (const Field& f : c.schema->fields) EXPECT_NE(get_field(row, f.key), nullptr) << c.schema->name << ": no JSON key " << f.key;
}

TEST(CounterSchema, EveryDeclaredMetricIsInMetrics) {
  for (const auto& c : cases()) {
    const Schema& s = *c.schema;
    std::string prom;
    append_metrics(prom, s, c.view);
    const auto got = samples(prom);
    const auto rows = rows_with_parents(s, c.view);
    ASSERT_FALSE(rows.empty()) << s.name;
    for (const Field& f : s.fields) {
      if (f.metric.empty()) continue;
      const bool first = &f == s.fields.data() || (&f)[-1].metric != f.metric;
      if (first) {
        EXPECT_NE(prom.find(fmt::format("# HELP {} {}\n", f.metric, f.help)), std::string::npos) << f.metric;
        EXPECT_NE(prom.find(fmt::format("# TYPE {} {}\n", f.metric, f.kind == FieldKind::kGauge ? "gauge" : "counter")), std::string::npos)
            << f.metric;
      }
      for (const auto& [row, parent] : rows) {
        std::string labels;
        for (const RowLabel& l : s.labels) {
          const bool up = l.key.starts_with("../");
          labels += fmt::format("{}{}=\"{}\"", labels.empty() ? "" : ",", l.name,
                                label_value(text((up ? parent : row).at(std::string(up ? l.key.substr(3) : l.key)))));
        }
        const json& v = *get_field(row, f.key);
        auto expect = [&](std::string_view extra, double value) {
          std::string l = labels;
          if (!extra.empty()) l += (l.empty() ? "" : ",") + std::string(extra);
          const std::string name = l.empty() ? std::string(f.metric) : fmt::format("{}{{{}}}", f.metric, l);
          const auto it = got.find(name);
          ASSERT_NE(it, got.end()) << s.name << ": no series " << name << " in\n" << prom;
          EXPECT_DOUBLE_EQ(it->second, value) << name;
        };
        if (f.label.each)
          for (size_t k = 0; k < f.label.each->count(); ++k) {
            const std::string n(f.label.each->name(k));
            expect(fmt::format("{}=\"{}\"", f.label.each->label, n), v.contains(n) ? expected_value(f, v[n], row) : 0);
          }
        else if (!f.label.keys.empty())
          for (const auto& [k, n] : v.items()) expect(fmt::format("{}=\"{}\"", f.label.keys, k), expected_value(f, n, row));
        else
          expect(f.label.fixed, expected_value(f, v, row));
      }
    }
  }
}

TEST(CounterSchema, EveryDeclaredColumnIsInItsTable) {
  for (const auto& c : cases()) {
    const Schema& s = *c.schema;
    for (const Field& f : s.fields) {
      if (f.column.empty()) continue;
      EXPECT_NE(std::find(c.table.begin(), c.table.end(), f.column), c.table.end()) << s.name << ": column " << f.column << " not in the table";
      EXPECT_NE(c.cli.find(f.column), std::string::npos) << s.name << ": no column " << f.column << " in\n" << c.cli;
      // The row's line holds the field's value.
      for (const json& row : rows_of(s, c.view)) {
        // A map ({DSCP: packets}) is shown by its view's own formatting: its keys must be there.
        std::vector<std::string> want;
        const json* v = get_field(row, f.key);
        if (v && v->is_object())
          for (const auto& [k, n] : v->items()) want.push_back(k);
        else
          want.push_back(cli::field_cell(f, row));
        const std::string cell = want.empty() ? "" : want[0];
        bool found = false;
        std::istringstream in(c.cli);
        for (std::string line; std::getline(in, line);) {
          bool all = line.find(cli::field_cell(s.fields[0], row)) != std::string::npos;
          for (const auto& w : want) all = all && line.find(w) != std::string::npos;
          found |= all;
        }
        EXPECT_TRUE(found) << s.name << ": " << f.key << " = " << cell << " not in its row of\n" << c.cli;
      }
    }
    // ... and every column of the table is declared by a field.
    for (const std::string_view col : c.table) {
      bool declared = false;
      for (const auto& list : c.table_fields)
        for (const Field& f : list) declared |= f.column == col;
      EXPECT_TRUE(declared) << s.name << ": table column " << col << " declared by no field";
    }
  }
}

TEST(CounterSchema, FamiliesAreDeclaredOnceAndTogether) {
  std::map<std::string_view, std::string_view> owner;  // metric -> schema
  for (const Schema* s : kCounterSchemas) {
    std::set<std::string_view> closed;
    std::string_view prev;
    for (const Field& f : s->fields) {
      if (!f.metric.empty() && f.metric != prev) {
        EXPECT_FALSE(closed.contains(f.metric)) << f.metric << ": its fields are not adjacent in " << s->name;
        const auto [it, fresh] = owner.emplace(f.metric, s->name);
        EXPECT_TRUE(fresh || it->second == s->name) << f.metric << " declared by " << it->second << " and " << s->name;
        if (!prev.empty()) closed.insert(prev);
      }
      if (!f.metric.empty()) prev = f.metric;
      EXPECT_FALSE(f.help.empty()) << f.key << " in " << s->name << " has no help";
      EXPECT_TRUE(f.metric.empty() || f.metric.starts_with("ivswitch_")) << f.metric;
      // Prometheus: counters end in _total, gauges do not.
      if (!f.metric.empty()) {
        EXPECT_EQ(f.metric.ends_with("_total"), f.kind == FieldKind::kCounter) << f.metric;
      }
    }
  }
}

// docs/counters.md promises that every counter ivctl shows (in a column, in prose, in
// --json) is in /metrics: each declared counter and gauge has a metric, or is marked
// cli_only with why (a sum or ratio of exported series, which Prometheus computes itself).
// Every metric a reason names must exist, so that "a sum of X" cannot point at nothing.
TEST(CounterSchema, EveryCounterIsInMetricsOrSaysWhyNot) {
  std::set<std::string, std::less<>> metrics;
  for (const Schema* s : kCounterSchemas)
    for (const Field& f : s->fields)
      if (!f.metric.empty()) metrics.emplace(f.metric);
  for (const Schema* s : kCounterSchemas)
    for (const Field& f : s->fields) {
      if (f.kind == FieldKind::kInfo) {
        EXPECT_TRUE(f.cli_only.empty()) << s->name << ": " << f.key << " is no counter, cli_only means nothing";
        continue;
      }
      EXPECT_NE(f.metric.empty(), f.cli_only.empty())
          << s->name << ": " << f.key << (f.metric.empty() ? " (ivctl column \"" + std::string(f.column) + "\") has no metric; give it one, or cli_only(\"why\")"
                                                           : " has a metric and a cli_only reason");
      for (size_t at = f.cli_only.find("ivswitch_"); at != std::string_view::npos; at = f.cli_only.find("ivswitch_", at + 1)) {
        size_t end = at;
        while (end < f.cli_only.size() && (std::islower(static_cast<unsigned char>(f.cli_only[end])) || f.cli_only[end] == '_')) ++end;
        EXPECT_TRUE(metrics.contains(f.cli_only.substr(at, end - at)))
            << s->name << ": " << f.key << "'s reason names " << f.cli_only.substr(at, end - at) << ", declared by no field";
      }
    }
}

// One field of a core row and the value it must have, taken straight from the snapshot
// member it has to read (in the JSON's unit). `metric` tells apart a key exported twice.
struct Want {
  std::string_view key;
  std::string_view metric;
  json value;
};

// Every field of `s` in `row`: its JSON value is the member's, and its /metrics series
// (`labels` are the row's) that value in the declared unit. A field without a Want here,
// or a Want for no field, fails: a new core field needs its member named in this test.
void expect_every_field(const Schema& s, const json& row, const std::string& labels, const std::map<std::string, double>& got,
                        const std::vector<Want>& wants) {
  std::vector<bool> used(wants.size());
  for (const Field& f : s.fields) {
    const auto w = std::find_if(wants.begin(), wants.end(), [&](const Want& x) { return x.key == f.key && x.metric == f.metric; });
    if (w == wants.end()) {
      ADD_FAILURE() << s.name << ": field " << f.key << " (" << f.metric << ") is not checked against its snapshot member";
      continue;
    }
    used[static_cast<size_t>(w - wants.begin())] = true;
    const json* v = get_field(row, f.key);
    ASSERT_NE(v, nullptr) << s.name << ": no JSON key " << f.key;
    if (v->is_number() && w->value.is_number()) EXPECT_DOUBLE_EQ(v->get<double>(), w->value.get<double>()) << s.name << ": " << f.key;
    else EXPECT_EQ(*v, w->value) << s.name << ": " << f.key;
    if (f.metric.empty()) continue;
    auto series = [&](std::string_view extra) {
      std::string l = labels;
      if (!extra.empty()) l += (l.empty() ? "" : ",") + std::string(extra);
      return l.empty() ? std::string(f.metric) : fmt::format("{}{{{}}}", f.metric, l);
    };
    auto expect = [&](const std::string& name, double value) {
      const auto it = got.find(name);
      ASSERT_NE(it, got.end()) << s.name << ": no series " << name;
      EXPECT_DOUBLE_EQ(it->second, value) << name;
    };
    if (f.label.each)
      for (size_t k = 0; k < f.label.each->count(); ++k) {
        const std::string n(f.label.each->name(k));
        expect(series(fmt::format("{}=\"{}\"", f.label.each->label, n)), w->value.contains(n) ? expected_value(f, w->value[n], row) : 0);
      }
    else
      expect(series(f.label.fixed), expected_value(f, w->value, row));
  }
  for (size_t i = 0; i < wants.size(); ++i)
    EXPECT_TRUE(used[i]) << s.name << ": no field " << wants[i].key << " (" << wants[i].metric << ")";
}

// The declarations' expressions read the right members, end to end: first a few values
// by hand, then every core field of every row (expect_every_field).
TEST(CounterSchema, CoreValuesEndToEnd) {
  const auto ports = test_ports();
  const json pv = ports_json(ports);
  std::string prom;
  append_metrics(prom, pipeline::kPortSchema, pv);
  append_metrics(prom, pipeline::kPortDropSchema, pv);
  const auto got = samples(prom);
  const auto& p = ports[1];
  EXPECT_EQ(got.at("ivswitch_port_rx_packets_total{port=\"p1\"}"), p.rx_packets);
  EXPECT_EQ(got.at("ivswitch_port_tx_bytes_total{port=\"p1\"}"), p.tx_bytes);
  EXPECT_EQ(got.at("ivswitch_port_device_rx_missed_total{port=\"p1\"}"), p.dev.imissed);
  EXPECT_EQ(got.at("ivswitch_port_link_changes_total{port=\"p1\",to=\"down\"}"), p.link_downs);
  EXPECT_EQ(got.at("ivswitch_port_link_up{port=\"p0\"}"), 1);
  EXPECT_EQ(got.at("ivswitch_port_link_up{port=\"p1\"}"), 0);
  EXPECT_EQ(got.at("ivswitch_port_drops_total{port=\"p1\",reason=\"tx.queue_full\"}"), p.drops[static_cast<size_t>(DropReason::kTxFull)]);
  EXPECT_EQ(got.at("ivswitch_port_drops_total{port=\"p1\",reason=\"parse.eth.runt\"}"), 0);
  EXPECT_EQ(pv["ports"][1]["device"]["tx_errors"], p.dev.oerrors);
  EXPECT_EQ(got.at("ivswitch_port_device_rx_errors_total{port=\"p1\"}"), p.dev.ierrors);
  EXPECT_EQ(got.at("ivswitch_port_device_tx_errors_total{port=\"p1\"}"), p.dev.oerrors);
  EXPECT_EQ(got.at("ivswitch_port_device_rx_nombuf_total{port=\"p1\"}"), p.dev.rx_nombuf);
  EXPECT_EQ(pv["ports"][1]["drops"].size(), 2u);  // only reasons not 0, as before
  const std::string table = cli::render_ports(pv);
  EXPECT_NE(table.find(fmt::format("{}/{}", p.link_ups, p.link_downs)), std::string::npos) << table;

  const auto pmds = test_pmds();
  std::string pp;
  append_metrics(pp, pipeline::kPmdSchema, pmds_json(pmds, 2e9));
  const auto pg = samples(pp);
  EXPECT_EQ(pg.at("ivswitch_pmd_busy_cycles_total{pmd=\"1\",cpu=\"3\"}"), pmds[1].busy_cycles);
  EXPECT_DOUBLE_EQ(pg.at("ivswitch_pmd_busy_seconds_total{pmd=\"1\",cpu=\"3\"}"), pmds[1].busy_cycles / 2e9);
  EXPECT_DOUBLE_EQ(pg.at("ivswitch_pmd_sleep_seconds_total{pmd=\"0\",cpu=\"2\"}"), pmds[0].sleep_us / 1e6);
  EXPECT_EQ(pg.at("ivswitch_pmd_iterations_total{pmd=\"1\",cpu=\"3\"}"), pmds[1].iterations);
  EXPECT_EQ(pg.at("ivswitch_pmd_page_faults_total{pmd=\"1\",cpu=\"3\",kind=\"minor\"}"), pmds[1].minor_faults);
  EXPECT_EQ(pg.at("ivswitch_pmd_page_faults_total{pmd=\"1\",cpu=\"3\",kind=\"major\"}"), pmds[1].major_faults);

  const auto s = test_stats();
  std::string sp;
  append_metrics(sp, pipeline::kStatsSchema, stats_json(s));
  const auto sg = samples(sp);
  EXPECT_EQ(sg.at("ivswitch_resident_memory_bytes{kind=\"shmem\"}"), s.rss_shmem_kb * 1024);
  EXPECT_EQ(sg.at("ivswitch_mbufs_capacity"), s.mbufs_total);
  EXPECT_EQ(sg.at("ivswitch_fdb_refused_full_total"), s.fdb_full);
  EXPECT_EQ(sg.at("ivswitch_events_total{event=\"l3.route.packets\"}"), s.events[static_cast<size_t>(pipeline::Event::kRouted)]);
  EXPECT_DOUBLE_EQ(sg.at("ivswitch_uptime_seconds"), 77.25);
  EXPECT_EQ(sg.at("ivswitch_prefault_bytes"), s.prefault_bytes);
  EXPECT_DOUBLE_EQ(sg.at("ivswitch_prefault_seconds"), 0.0125);

  // Every core field, each against the member it must come from (every member holds a
  // distinct value, so one read from the wrong member shows), on every row.
  auto reason = [](DropReason r) { return std::string(pipeline::drop_reason_label(static_cast<size_t>(r))); };
  for (size_t i = 0; i < ports.size(); ++i) {
    const auto& q = ports[i];
    const std::string labels = fmt::format("port=\"{}\"", q.name);
    const json& row = pv["ports"][i];
    expect_every_field(pipeline::kPortSchema, row, labels, got,
                       {{"name", "", q.name},
                        {"type", "", q.type},
                        {"driver", "", q.driver},
                        {"mode", "", q.network_mode},
                        {"pmd_cpu", "", q.pmd_cpu},
                        {"detail", "", q.detail},
                        {"rx_packets", "ivswitch_port_rx_packets_total", q.rx_packets},
                        {"rx_bytes", "ivswitch_port_rx_bytes_total", q.rx_bytes},
                        {"tx_packets", "ivswitch_port_tx_packets_total", q.tx_packets},
                        {"tx_bytes", "ivswitch_port_tx_bytes_total", q.tx_bytes},
                        {"device/rx_missed", "ivswitch_port_device_rx_missed_total", q.dev.imissed},
                        {"device/rx_errors", "ivswitch_port_device_rx_errors_total", q.dev.ierrors},
                        {"device/tx_errors", "ivswitch_port_device_tx_errors_total", q.dev.oerrors},
                        {"device/rx_nombuf", "ivswitch_port_device_rx_nombuf_total", q.dev.rx_nombuf},
                        {"link", "ivswitch_port_link_up", q.link_up ? "up" : "down"},
                        {"link_ups", "ivswitch_port_link_changes_total", q.link_ups},
                        {"link_downs", "ivswitch_port_link_changes_total", q.link_downs}});
    expect_every_field(pipeline::kPortDropSchema, row, labels, got,
                       {{"drops_total", "", q.drops_total},
                        {"drops", "ivswitch_port_drops_total",
                         {{reason(DropReason::kTxFull), q.drops[static_cast<size_t>(DropReason::kTxFull)]},
                          {reason(portsec::kDrops(portsec::Drop::kIp)), q.drops[portsec_ip_index()]}}}});
  }
  const json pmv = pmds_json(pmds, 2e9);
  for (size_t i = 0; i < pmds.size(); ++i) {
    const auto& q = pmds[i];
    const auto d = [](uint64_t x) { return static_cast<double>(x); };
    expect_every_field(pipeline::kPmdSchema, pmv["pmds"][i], fmt::format("pmd=\"{}\",cpu=\"{}\"", q.index, q.cpu), pg,
                       {{"index", "", q.index},
                        {"cpu", "", q.cpu},
                        {"ports", "", q.ports},
                        {"tid", "", q.tid},
                        {"tsc_hz", "", 2e9},
                        {"iterations", "ivswitch_pmd_iterations_total", q.iterations},
                        {"packets", "ivswitch_pmd_packets_total", q.packets},
                        {"busy_cycles", "ivswitch_pmd_busy_cycles_total", q.busy_cycles},
                        {"idle_cycles", "ivswitch_pmd_idle_cycles_total", q.idle_cycles},
                        {"busy_cycles_per_packet", "", d(q.busy_cycles) / d(q.packets)},
                        {"busy_share", "", d(q.busy_cycles) / d(q.busy_cycles + q.idle_cycles)},
                        {"sleeps", "ivswitch_pmd_sleeps_total", q.sleeps},
                        {"busy_cycles", "ivswitch_pmd_busy_seconds_total", q.busy_cycles},
                        {"idle_cycles", "ivswitch_pmd_idle_seconds_total", q.idle_cycles},
                        {"sleep_seconds", "ivswitch_pmd_sleep_seconds_total", d(q.sleep_us) / 1e6},
                        {"minor_faults", "ivswitch_pmd_page_faults_total", q.minor_faults},
                        {"major_faults", "ivswitch_pmd_page_faults_total", q.major_faults}});
  }
  json events = json::object();
  for (size_t e = 0; e < pipeline::kEventCount; ++e) events[std::string(pipeline::event_label(e))] = s.events[e];
  expect_every_field(pipeline::kStatsSchema, stats_json(s), "", sg,
                     {{"rx_packets", "", s.rx_packets},
                      {"tx_packets", "", s.tx_packets},
                      {"drops_total", "", s.drops_total},
                      {"drops", "", {{reason(DropReason::kNoRoute), s.drops[static_cast<size_t>(DropReason::kNoRoute)]}}},
                      {"events", "ivswitch_events_total", events},
                      {"ports/slots", "ivswitch_port_slots", s.port_slots},
                      {"ports/live", "ivswitch_ports_live", s.ports_live},
                      {"fdb/entries", "ivswitch_fdb_entries", s.fdb_entries},
                      {"fdb/capacity", "ivswitch_fdb_capacity", s.fdb_capacity},
                      {"fdb/learned", "ivswitch_fdb_learned_total", s.fdb_learned},
                      {"fdb/moved", "ivswitch_fdb_moved_total", s.fdb_moved},
                      {"fdb/aged", "ivswitch_fdb_aged_total", s.fdb_aged},
                      {"fdb/refused_full", "ivswitch_fdb_refused_full_total", s.fdb_full},
                      {"fdb/evicted_for_static", "ivswitch_static_entry_evictions_total", s.static_evicted},
                      {"fdb/static_failed", "ivswitch_static_entries_failed_total", s.static_failed},
                      {"neighbors/entries", "ivswitch_neighbor_entries", s.neighbor_entries},
                      {"neighbors/learned", "ivswitch_neighbors_learned_total", s.neighbors_learned},
                      {"neighbors6/entries", "ivswitch_neighbor6_entries", s.neighbor6_entries},
                      {"neighbors6/learned", "ivswitch_neighbors6_learned_total", s.neighbors6_learned},
                      {"mbufs/in_use", "ivswitch_mbufs_in_use", s.mbufs_in_use},
                      {"mbufs/total", "ivswitch_mbufs_capacity", s.mbufs_total},
                      {"memory/datapath_page_faults/minor", "ivswitch_datapath_page_faults_total", s.datapath_minor_faults},
                      {"memory/datapath_page_faults/major", "ivswitch_datapath_page_faults_total", s.datapath_major_faults},
                      {"memory/rss_anon_kb", "ivswitch_resident_memory_bytes", s.rss_anon_kb},
                      {"memory/rss_file_kb", "ivswitch_resident_memory_bytes", s.rss_file_kb},
                      {"memory/rss_shmem_kb", "ivswitch_resident_memory_bytes", s.rss_shmem_kb},
                      {"memory/hugetlb_kb", "ivswitch_resident_memory_bytes", s.hugetlb_kb},
                      {"memory/dpdk_heap/allocated_bytes", "ivswitch_dpdk_heap_bytes", s.heap_allocated_bytes},
                      {"memory/dpdk_heap/free_bytes", "ivswitch_dpdk_heap_bytes", s.heap_free_bytes},
                      {"uptime_s", "ivswitch_uptime_seconds", s.uptime_s},
                      {"memory/rss_kb", "", s.rss_kb},
                      {"memory/dpdk_heap/total_bytes", "", s.heap_total_bytes},
                      {"memory/prefault/bytes", "ivswitch_prefault_bytes", s.prefault_bytes},
                      {"memory/prefault/ms", "ivswitch_prefault_seconds", s.prefault_ms}});
}

// docs/counters.md: the tables between the markers are generated from the declarations.
std::string docs_tables() {
  std::string out;
  for (const Schema* s : kCounterSchemas) {
    std::string labels;
    for (const RowLabel& l : s->labels) labels += (labels.empty() ? "" : ", ") + std::string(l.name);
    out += fmt::format("\n### {}\n\n| JSON key | metric | labels | type | unit | ivctl column | meaning |\n| --- | --- | --- | --- | --- | --- | --- |\n",
                       s->name);
    for (const Field& f : s->fields) {
      if (f.kind == FieldKind::kInfo) continue;
      std::string l = labels;
      const std::string extra = f.label.each ? std::string(f.label.each->label) : std::string(f.label.fixed);
      if (!extra.empty()) l += (l.empty() ? "" : ", ") + extra;
      static constexpr std::string_view kUnits[] = {"", "bytes", "KiB", "seconds", "ms", "us", "TSC cycles", "ratio", "flag", "list"};
      const std::string metric = f.metric.empty() ? fmt::format("- ({})", f.cli_only) : fmt::format("`{}`", f.metric);
      out += fmt::format("| `{}` | {} | {} | {} | {} | {} | {} |\n", f.key, metric,
                         f.metric.empty() ? "" : l, f.kind == FieldKind::kGauge ? "gauge" : "counter", kUnits[static_cast<size_t>(f.unit)],
                         f.column, f.help);
    }
  }
  return out;
}

constexpr std::string_view kBegin = "<!-- BEGIN declared counters: generated by tests/unit/counter_schema_test.cpp -->\n";
constexpr std::string_view kEnd = "<!-- END declared counters -->\n";

TEST(CounterDocs, TablesMatchTheDeclarations) {
  const std::string path = std::string(IVS_TEST_DATA) + "/../docs/counters.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  const auto b = doc.find(kBegin), e = doc.find(kEnd);
  ASSERT_NE(b, std::string::npos) << "no generated section in " << path;
  ASSERT_NE(e, std::string::npos) << "no end of the generated section in " << path;
  const std::string want = docs_tables();
  const std::string have = doc.substr(b + kBegin.size(), e - b - kBegin.size());
  if (have != want && std::getenv("IVS_UPDATE_DOCS")) {
    doc.replace(b + kBegin.size(), e - b - kBegin.size(), want);
    std::ofstream(path) << doc;
    GTEST_SKIP() << "rewrote " << path;
  }
  EXPECT_EQ(have, want) << path << " is not what the declarations say; regenerate: IVS_UPDATE_DOCS=1 "
                        << "build/release/tests/ivs_unit_tests --gtest_filter='CounterDocs.*'";
}

TEST(CounterDocs, EveryDropReasonAndEventIsListed) {
  std::ifstream in(std::string(IVS_TEST_DATA) + "/../docs/counters.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  for (const LabelSet* set : {&pipeline::kDropReasonSet, &pipeline::kEventSet})
    for (size_t i = 0; i < set->count(); ++i)
      EXPECT_NE(doc.find(fmt::format("| `{}` |", set->name(i))), std::string::npos) << set->label << " " << set->name(i) << " not in docs/counters.md";
}


// The static routes' events are documented with their declared help, word for word (the
// docs' backticks aside): the two said different things about next_hop_skipped (the
// review of the routes merge). (The older events' rows still word it their own way.)
TEST(CounterDocs, StaticRouteEventsSayWhatTheirDeclarationsSay) {
  std::ifstream in(std::string(IVS_TEST_DATA) + "/../docs/counters.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  int checked = 0;
  for (const auto& ev : pipeline::kEventInfo) {
    if (!ev.name.starts_with("l3.route.static.") && !ev.name.starts_with("l3.route.ecmp.")) continue;
    ++checked;
    const std::string head = fmt::format("| `{}` | ", ev.name);
    const auto at = doc.find(head);
    ASSERT_NE(at, std::string::npos) << ev.name;
    const auto from = at + head.size(), to = doc.find(" |\n", from);
    std::string row = doc.substr(from, to - from);
    std::erase(row, '`');
    EXPECT_EQ(row, ev.help) << ev.name << ": docs/counters.md and src/pipeline/counters.hpp differ";
  }
  EXPECT_EQ(checked, 3);
}

// A tool just added (ivctl mirror add) that the broker has not taken yet has no stats:
// its row (the /metrics `tool` label, ivctl's TOOL column) is described from its config,
// the same words the broker uses, never "" (two such tools made two series with the same
// labels).
TEST(CounterSchema, AToolNotYetTakenIsDescribedFromItsConfig) {
  config::MirrorTool file;
  file.kind = config::MirrorTool::kPcapng;
  file.path = "/var/tmp/a.pcapng";
  EXPECT_EQ(mirror::view_mirror_tool(file, nullptr)["what"], "pcapng /var/tmp/a.pcapng");
  config::MirrorTool port;
  port.kind = config::MirrorTool::kPort;
  port.port = "ids";
  config::MirrorTool group;
  group.kind = config::MirrorTool::kGroup;
  group.members = {port, port};
  const auto g = mirror::view_mirror_tool(group, nullptr);
  EXPECT_EQ(g["what"], "group of 2");
  ASSERT_EQ(g["group"].size(), 2u);
  EXPECT_EQ(g["group"][0]["what"], "port ids");
  EXPECT_EQ(mirror::view_mirror_tool(file, nullptr)["files_started"], 0);
}

}  // namespace
}  // namespace ivs::control
