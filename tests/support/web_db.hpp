#pragma once
// The two-network topology most unit tests run on, written once (it was repeated, with
// small differences, in six test files): networks web (VLAN 10, 10.0.1.0/24) and db
// (VLAN 20, 10.0.2.0/24); VMs vm1 (p1, web, 10.0.1.11) and vm3 (p3, db, 10.0.2.13); on
// request vm2 (p2, web, 10.0.1.12), a port p9 in web without a VM, the legs of a chain's
// device (fwa in web, fwb in db: a router with MAC R1 on fwa and R2 on fwb), the
// switch's gateways (10.0.1.1, 10.0.2.1) and VMs' IPv6 addresses.
//
// Port indices follow the order p1, [p2], p3, [p9], [fwa, fwb]. The YAML is the ports,
// networks and VMs; the test appends the rest (chains, qos, flows, policy...).
#include <string>

#include "config/model.hpp"
#include "support/packet_builder.hpp"

namespace ivs::test::web_db {

inline const MacAddr kVm1 = mac("02:00:00:00:01:01"), kVm2 = mac("02:00:00:00:01:02"), kVm3 = mac("02:00:00:00:02:03");
inline const MacAddr kR1 = mac("02:fe:00:00:00:01"), kR2 = mac("02:fe:00:00:00:02");  // the device's legs
inline const MacAddr kGwWeb = config::default_gateway_mac(10), kGwDb = config::default_gateway_mac(20);

struct Topology {
  bool vm2 = false;          // p2 with vm2 in web
  bool host_port = false;    // p9 in web, no VM (no port security: any host may sit there)
  bool device = false;       // fwa (web) and fwb (db): a chain's device legs
  bool gateways = false;     // the switch routes: gateway 10.0.1.1 in web, 10.0.2.1 in db
  // allowed_addresses (IPv6) of each VM, as YAML list items; empty: none
  std::string vm1_v6, vm2_v6, vm3_v6;
};

inline std::string yaml(const Topology& t) {
  auto port = [](const char* name, const char* net) { return std::string("  - {name: ") + name + ", type: discard, network: " + net + "}\n"; };
  auto vm = [](const char* name, const char* p, const char* m, const char* ip, const std::string& v6) {
    return std::string("  - {name: ") + name + ", port: " + p + ", mac: \"" + m + "\", ip: " + ip +
           (v6.empty() ? "" : ", allowed_addresses: [" + v6 + "]") + "}\n";
  };
  std::string y = "\nports:\n" + port("p1", "web");
  if (t.vm2) y += port("p2", "web");
  y += port("p3", "db");
  if (t.host_port) y += port("p9", "web");
  if (t.device) y += port("fwa", "web") + port("fwb", "db");
  y += "networks:\n";
  y += std::string("  - {name: web, vlan: 10, subnet: 10.0.1.0/24") + (t.gateways ? ", gateway: 10.0.1.1}\n" : "}\n");
  y += std::string("  - {name: db, vlan: 20, subnet: 10.0.2.0/24") + (t.gateways ? ", gateway: 10.0.2.1}\n" : "}\n");
  y += "vms:\n" + vm("vm1", "p1", "02:00:00:00:01:01", "10.0.1.11", t.vm1_v6);
  if (t.vm2) y += vm("vm2", "p2", "02:00:00:00:01:02", "10.0.1.12", t.vm2_v6);
  y += vm("vm3", "p3", "02:00:00:00:02:03", "10.0.2.13", t.vm3_v6);
  return y;
}

// The routed pair most policy tests use: gateways on, vm1 and vm3, then `rest`.
inline std::string routed(const std::string& rest) { return yaml(Topology{.gateways = true}) + rest; }

}  // namespace ivs::test::web_db
