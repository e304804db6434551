// ivctl show port-security: per port, whether port security is on, the VMs it admits
// (MAC, addresses, guards) and what it dropped, by reason.
#include <fmt/format.h>

#include "control/views.hpp"

namespace ivs::control {

using nlohmann::json;

namespace {
bool is_portsec_reason(size_t r) { return kDropReasonInfo[r].name.starts_with("portsec."); }
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
    json drops = json::object();
    uint64_t total = 0;
    for (size_t r = 0; r < kDropReasonCount; ++r)
      if (is_portsec_reason(r)) {
        drops[std::string(kDropReasonInfo[r].name)] = snaps[i].drops[r];
        total += snaps[i].drops[r];
      }
    ports.push_back({{"port", snaps[i].name}, {"enabled", g.enabled}, {"vms", vms}, {"drops", drops}, {"drops_total", total}});
  }
  return {{"ports", ports}};
}

std::string port_security_metrics(const pipeline::Datapath& dp) {
  const auto& ps = dp.tables().port_security();
  const auto snaps = dp.ports();
  std::string out = "# HELP ivswitch_port_security_enabled 1 when the port admits only its VMs' MACs and addresses.\n"
                    "# TYPE ivswitch_port_security_enabled gauge\n";
  for (size_t i = 0; i < ps.port_count() && i < snaps.size(); ++i)
    out += fmt::format("ivswitch_port_security_enabled{{port=\"{}\"}} {}\n", snaps[i].name, ps.enabled(static_cast<uint16_t>(i)) ? 1 : 0);
  return out;
}

}  // namespace ivs::control
