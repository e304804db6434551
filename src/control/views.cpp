#include "control/views.hpp"

#include <fmt/format.h>


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
  json hops = json::array();
  for (const auto& r : dp.route_hops()) {
    json row = json::object();
    IVS_ROUTE_HOP_FIELDS(IVS_FIELD_JSON)
    hops.push_back(std::move(row));
  }
  return {{"routes", routes}, {"static_routes", hops}};
}

json view_pmd(const pipeline::Datapath& dp) { return pmds_json(dp.pmds(), static_cast<double>(dp.stats().tsc_hz)); }

json view_stats(const pipeline::Datapath& dp) { return stats_json(dp.stats()); }

// Every group's families from its declarations, in the order /metrics always had (the
// control server appends its own, control/server.cpp).
std::string metrics_text(const pipeline::Datapath& dp) {
  std::string out;
  const json ports = view_ports(dp);
  const auto s = dp.stats();
  append_metrics(out, pipeline::kPortSchema, ports);
  append_metrics(out, pipeline::kPortDropSchema, ports);
  append_metrics(out, pipeline::kStatsSchema, stats_json(s));
  append_metrics(out, pipeline::kRouteHopSchema, view_routes(dp));

  out += policy_metrics(view_policy(dp), view_chains(dp));

  for (const auto& m : dp.modules()) out += m->metrics();  // the jobs' (pipeline/module.hpp; QoS's first, then the mirrors')

  append_metrics(out, pipeline::kPmdSchema, pmds_json(dp.pmds(), static_cast<double>(s.tsc_hz)));
  return out;
}

}  // namespace ivs::control
