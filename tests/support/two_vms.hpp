#pragma once
// The topology many unit tests start from, written once: vm1 (02:00:00:00:01:01,
// 10.0.1.11) and vm2 (02:00:00:00:01:02, 10.0.1.12) on access ports 0 and 1 of one network
// (VLAN 10, 10.0.1.0/24). A test names what differs; yaml() gives the config text, to
// which the test appends its own sections (e.g. `TwoVms{}.yaml() + "qos: ..."`).
#include <array>
#include <string>

namespace ivs::test {

struct TwoVms {
  std::string port_type = "discard";
  std::string network = "web";
  std::array<std::string, 2> ports{"p1", "p2"};
  std::string network_more;         // appended inside the network's braces, e.g. ", gateway: 10.0.1.1"
  std::array<std::string, 2> vm_more;  // appended inside each VM's braces
  std::string more_ports;           // YAML lines after the two ports (a trunk...)
  std::string more_vms;             // YAML lines after the two VMs

  std::string yaml() const {
    std::string y = "\nports:\n";
    for (const auto& p : ports) y += "  - {name: " + p + ", type: " + port_type + ", network: " + network + "}\n";
    y += more_ports;
    y += "networks:\n  - {name: " + network + ", vlan: 10, subnet: 10.0.1.0/24" + network_more + "}\nvms:\n";
    for (int i = 0; i < 2; ++i) {
      const std::string n = std::to_string(i + 1);
      y += "  - {name: vm" + n + ", port: " + ports[i] + ", mac: \"02:00:00:00:01:0" + n + "\", ip: 10.0.1.1" + n + vm_more[i] + "}\n";
    }
    return y + more_vms;
  }
};

}  // namespace ivs::test
