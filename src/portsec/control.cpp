// ivctl show port-security: per port, whether port security is on, the VMs it admits
// (MAC, addresses, guards) and what it dropped, by reason (its own: portsec/reasons.hpp);
// and its /metrics, generated from its declared counters (portsec/counter_fields.hpp).
#include <fmt/format.h>

#include "common/counter_metrics.hpp"
#include "forward/tables.hpp"
#include "pipeline/datapath.hpp"
#include "portsec/counter_fields.hpp"
#include "portsec/module.hpp"
#include "portsec/reasons.hpp"

namespace ivs::portsec {

using nlohmann::json;

json PortSecurityModule::view() const {
  const auto snaps = dp_->ports();
  const auto ps = current();  // (held through the loop: a reload may swap it meanwhile)
  const auto tables = tables_.get();
  json ports = json::array();
  for (size_t i = 0; i < snaps.size(); ++i) {
    const int slot = tables->port_index(snaps[i].name);  // (a port's entry is its slot's)
    if (slot < 0 || static_cast<size_t>(slot) >= ps->port_count()) continue;
    const auto& g = ps->port(static_cast<uint16_t>(slot));
    json vms = json::array();
    for (const auto& vm : g.vms) {
      json addrs = json::array();
      for (const auto& a : vm.v4) addrs.push_back(a.to_string());
      for (const auto& a : vm.v6) addrs.push_back(a.to_string());
      IpPrefix ll;
      ll.family = 6;
      ll.len = 128;
      ll.bytes = vm.link_local;
      vms.push_back({{"vm", vm.name}, {"network", tables->network(vm.network).name}, {"mac", vm.mac.to_string()},
                     {"addresses", addrs}, {"link_local", ll.to_string()}, {"checks_addresses", vm.restrict_ip},
                     {"router", vm.router}, {"dhcp_server", vm.dhcp_server}});
    }
    const auto& p = snaps[i];
    json drops = json::object();
    uint64_t total = 0;
    for (size_t k = 0; k < kDrops.size(); ++k) {
      drops[std::string(kDrops.reasons[k].name)] = p.drops[kDrops.index(k)];
      total += p.drops[kDrops.index(k)];
    }
    json row = json::object();
    IVS_PORT_SECURITY_FIELDS(IVS_FIELD_JSON)
    ports.push_back(std::move(row));
  }
  return {{"ports", ports}};
}

void PortSecurityModule::add_control_methods(const pipeline::AddControlMethod& add) {
  if (!dp_) return;
  add("show.port_security", [this](const json&) -> Result<json> { return view(); });
}

std::string PortSecurityModule::metrics() const {
  if (!dp_) return "";
  std::string out;
  control::append_metrics(out, kPortSecuritySchema, view());
  return out;
}

}  // namespace ivs::portsec
