#pragma once
// JSON views of the datapath state, shared by the control socket (ivctl) and /metrics so
// that both always show the same counters.
#include <nlohmann/json.hpp>

#include "pipeline/datapath.hpp"

namespace ivs::control {

nlohmann::json view_ports(const pipeline::Datapath& dp);
nlohmann::json view_fdb(const pipeline::Datapath& dp);
nlohmann::json view_neighbors(const pipeline::Datapath& dp);
nlohmann::json view_routes(const pipeline::Datapath& dp);
nlohmann::json view_pmd(const pipeline::Datapath& dp);
nlohmann::json view_stats(const pipeline::Datapath& dp);

// Prometheus text exposition format (version 0.0.4).
std::string metrics_text(const pipeline::Datapath& dp);

}  // namespace ivs::control
