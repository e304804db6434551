// ivctl show port-security: per port, whether port security is on, the VMs it admits
// (MAC, addresses, guards) and what it dropped, by reason.
#include <fmt/format.h>

#include "control/views.hpp"
#include "portsec/counter_fields.hpp"

namespace ivs::control {

using nlohmann::json;

namespace {
bool is_portsec_reason(size_t r) { return drop_reasons()[r].name.starts_with("portsec."); }
}  // namespace

json view_port_security(const pipeline::Datapath& dp) {
  const auto& ps = dp.tables().port_security();
  const auto snaps = dp.ports();
  json ports = json::array();
  for (size_t i = 0; i < ps.port_count() && i < snaps.size(); ++i) {
    const auto& g = ps.port(static_cast<uint16_t>(i));
    json vms = json::array();
    for (const auto& vm : g.vms) {
      json addrs = json::array();
      for (const auto& a : vm.v4) addrs.push_back(a.to_string());
      for (const auto& a : vm.v6) addrs.push_back(a.to_string());
      IpPrefix ll;
      ll.family = 6;
      ll.len = 128;
      ll.bytes = vm.link_local;
      vms.push_back({{"vm", vm.name}, {"network", dp.tables().network(vm.network).name}, {"mac", vm.mac.to_string()},
                     {"addresses", addrs}, {"link_local", ll.to_string()}, {"checks_addresses", vm.restrict_ip},
                     {"router", vm.router}, {"dhcp_server", vm.dhcp_server}});
    }
    const auto& p = snaps[i];
    json drops = json::object();
    uint64_t total = 0;
    for (size_t r = 0; r < drop_reasons().size(); ++r)
      if (is_portsec_reason(r)) {
        drops[std::string(drop_reasons()[r].name)] = p.drops[r];
        total += p.drops[r];
      }
    json row = json::object();
    IVS_PORT_SECURITY_FIELDS(IVS_FIELD_JSON)
    ports.push_back(std::move(row));
  }
  return {{"ports", ports}};
}

std::string port_security_metrics(const pipeline::Datapath& dp) {
  std::string out;
  append_metrics(out, portsec::kPortSecuritySchema, view_port_security(dp));
  return out;
}

}  // namespace ivs::control
