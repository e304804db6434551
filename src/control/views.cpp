#include "control/views.hpp"

#include <fmt/format.h>

#include "qos/counter_fields.hpp"

namespace ivs::control {

using nlohmann::json;

namespace {
using pipeline::PmdSnapshot;
using pipeline::PortSnapshot;
using pipeline::StatsSnapshot;
}  // namespace

// The core counters' JSON, field by field from their declarations (pipeline/counter_fields.hpp).
json ports_json(const std::vector<PortSnapshot>& snaps) {
  json ports = json::array();
  for (const PortSnapshot& r : snaps) {
    json row = json::object();
    IVS_PORT_FIELDS(IVS_FIELD_JSON)
    IVS_PORT_DROP_FIELDS(IVS_FIELD_JSON)
    ports.push_back(std::move(row));
  }
  return {{"ports", ports}};
}

json pmds_json(const std::vector<PmdSnapshot>& snaps, double hz) {
  json pmds = json::array();
  for (const PmdSnapshot& r : snaps) {
    json row = json::object();
    IVS_PMD_FIELDS(IVS_FIELD_JSON)
    pmds.push_back(std::move(row));
  }
  return {{"pmds", pmds}};
}

json stats_json(const StatsSnapshot& r) {
  json row = json::object();
  IVS_STATS_FIELDS(IVS_FIELD_JSON)
  return row;
}

json view_ports(const pipeline::Datapath& dp) { return ports_json(dp.ports()); }

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

json view_pmd(const pipeline::Datapath& dp) { return pmds_json(dp.pmds(), static_cast<double>(dp.stats().tsc_hz)); }

json view_stats(const pipeline::Datapath& dp) { return stats_json(dp.stats()); }

std::string metrics_text(const pipeline::Datapath& dp) {
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  auto gauge = [&](const char* name, const char* type, const char* help, auto v) {
    family(name, type, help);
    out += fmt::format("{} {}\n", name, v);
  };
  const json ports = view_ports(dp);
  const auto s = dp.stats();
  append_metrics(out, pipeline::kPortSchema, ports);
  out += port_security_metrics(dp);
  append_metrics(out, pipeline::kPortDropSchema, ports);
  append_metrics(out, pipeline::kStatsSchema, stats_json(s));

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
  if (qos["enabled"].get<bool>())
    for (const Schema* q : {&qos::kQosVmSchema, &qos::kQosMeterSchema, &qos::kQosClassSchema, &qos::kQosQueueSchema, &qos::kQosSchema})
      append_metrics(out, *q, qos);

  out += mirror_metrics(view_mirrors(dp));

  out += channel_metrics(dp);
  out += flow_export_metrics(dp);

  append_metrics(out, pipeline::kPmdSchema, pmds_json(dp.pmds(), static_cast<double>(s.tsc_hz)));
  return out;
}

}  // namespace ivs::control
