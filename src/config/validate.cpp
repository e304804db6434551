#include "config/validate.hpp"

#include <fmt/format.h>

#include "config/channel_reader.hpp"
#include "config/paths.hpp"
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

namespace ivs::config {
namespace {


template <class T>
void check_unique_names(const std::vector<T>& items, const std::vector<YAML::Node>& nodes, const char* section,
                        Diagnostics& d) {
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].name.empty()) continue;
    auto [it, fresh] = seen.emplace(items[i].name, i);
    if (!fresh)
      d.error(value_line(nodes[i], "name"), fmt::format("{}[{}]: duplicate name '{}' (first defined on line {})", section, i,
                                                     items[i].name, value_line(nodes[it->second], "name") + 1));
  }
}

// The CPUs the process may use, as they were at its first config check: the daemon's
// first load runs before DPDK narrows the main thread's affinity to one CPU, so that a
// reload is checked against the same set as the start (not against the narrowed one).
const cpu_set_t& allowed_cpus() {
  static const cpu_set_t allowed = [] {
    cpu_set_t s;
    CPU_ZERO(&s);
    sched_getaffinity(0, sizeof(s), &s);
    return s;
  }();
  return allowed;
}

void check_switch(const Config& cfg, const YAML::Node& node, Diagnostics& d) {
  const int cores_line = value_line(node, "cores");
  const int metrics_line = value_line(node, "metrics_address");
  const cpu_set_t& allowed = allowed_cpus();
  std::set<unsigned> seen;
  for (unsigned c : cfg.sw.cores) {
    if (!seen.insert(c).second) d.error(cores_line, fmt::format("switch.cores: CPU {} is listed twice", c));
    else if (!CPU_ISSET(c, &allowed)) d.error(cores_line, fmt::format("switch.cores: CPU {} is not available to this process", c));
  }
  if (!cfg.sw.metrics_address.empty()) {
    // host:port with a port the daemon can parse (a bad one passed --check and aborted at start).
    const auto colon = cfg.sw.metrics_address.rfind(':');
    const std::string port = colon == std::string::npos ? "" : cfg.sw.metrics_address.substr(colon + 1);
    unsigned n = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (colon == std::string::npos || colon == 0)
      d.error(metrics_line, fmt::format("switch.metrics_address: '{}' is not host:port", cfg.sw.metrics_address));
    else if (ec != std::errc{} || end != port.data() + port.size() || port.empty() || n < 1 || n > 65535)
      d.error(metrics_line, fmt::format("switch.metrics_address: '{}': the port must be a number in 1..65535", cfg.sw.metrics_address));
  }
  if (!cfg.sw.control_socket.empty())
    if (auto why = socket_path_problem(cfg.sw.control_socket)) d.error(value_line(node, "control_socket"), "switch.control_socket: " + *why);
  // The channels' internal port counts: it is a port of the table like the others, added
  // to cfg.ports after this check (expand_channels), so counted here from the section.
  const bool channel_port = cfg.channel.enabled() && cfg.channel.role == ChannelConfig::Role::kHost;
  if (cfg.ports.size() + (channel_port ? 1 : 0) > cfg.sw.max_ports)
    d.error(value_line(node, "max_ports"), fmt::format("switch.max_ports: {} ports are configured{}, more than the port table's {} slots",
                                                       cfg.ports.size() + (channel_port ? 1 : 0),
                                                       channel_port ? " (the channels' own port among them)" : "", cfg.sw.max_ports));
}

// A network's IPv6 routing (subnet6, gateway6): a global unicast prefix, not overlapping
// another network's (they share one address space: the switch routes between them), and
// the switch's address inside it, not the prefix's Subnet-Router anycast address.
void check_ipv6_network(const Config& cfg, size_t i, const YAML::Node& node, Diagnostics& d) {
  const auto& n = cfg.networks[i];
  bool subnet_ok = false;
  if (n.subnet6 && !n.subnet)
    // A routed network's flows cross networks, so they share one flow zone (forward/tables.cpp);
    // without an IPv4 subnet (whose addresses are checked against the others') its IPv4
    // hosts could reuse a routed network's addresses and share their flows' entries.
    d.error(value_line(node, "subnet6"), fmt::format("networks[{}]: subnet6 needs subnet (an IPv4 subnet) too: a network routed "
                                                  "for IPv6 shares the routed networks' flow keys, and its IPv4 addresses must "
                                                  "not overlap theirs", i));
  if (n.subnet6) {
    const uint8_t* a = n.subnet6->bytes.data();
    if (ipv6_is_multicast(a) || ipv6_is_link_local(a) || ipv6_is_unspecified(a))
      d.error(value_line(node, "subnet6"), fmt::format("networks[{}]: subnet6 {} must be a unicast prefix (not multicast, link-local "
                                                    "or ::)", i, n.subnet6->to_string()));
    else if (n.subnet6->len < 16 || n.subnet6->len > 127)
      d.error(value_line(node, "subnet6"), fmt::format("networks[{}]: subnet6 {}: the prefix length must be 16..127", i,
                                                    n.subnet6->to_string()));
    else
      subnet_ok = true;
    if (subnet_ok)
      for (size_t j = 0; j < i; ++j) {
        const auto& o = cfg.networks[j].subnet6;
        if (o && (o->contains(a) || n.subnet6->contains(o->bytes.data())))
          d.error(value_line(node, "subnet6"), fmt::format("networks[{}]: subnet6 {} overlaps {} of network '{}'", i,
                                                        n.subnet6->to_string(), o->to_string(), cfg.networks[j].name));
      }
  }
  if (!n.gateway6) return;
  const uint8_t* g = n.gateway6->bytes.data();
  if (ipv6_is_multicast(g) || ipv6_is_link_local(g) || ipv6_is_unspecified(g)) {
    d.error(value_line(node, "gateway6"), fmt::format("networks[{}]: gateway6 {} must be a global unicast address (not multicast, "
                                                   "link-local or ::; the link-local one comes from gateway_mac)", i,
                                                   n.gateway6->to_string()));
  } else if (!n.subnet6) {
    d.error(value_line(node, "gateway6"), fmt::format("networks[{}]: gateway6 needs subnet6 (the on-link prefix it routes)", i));
  } else if (subnet_ok && !n.subnet6->contains(g)) {
    d.error(value_line(node, "gateway6"), fmt::format("networks[{}]: gateway6 {} is outside subnet6 {}", i, n.gateway6->to_string(),
                                                   n.subnet6->to_string()));
  } else if (subnet_ok && n.subnet6->len < 127 && IpPrefix{6, 128, n.subnet6->bytes} == *n.gateway6) {
    d.error(value_line(node, "gateway6"), fmt::format("networks[{}]: gateway6 {} is the Subnet-Router anycast address of {} "
                                                   "(RFC 4291 2.6.1)", i, n.gateway6->to_string(), n.subnet6->to_string()));
  }
}

void check_networks(const Config& cfg, const SourceNodes& src, Diagnostics& d) {
  std::map<uint16_t, size_t> vlans;
  for (size_t i = 0; i < cfg.networks.size(); ++i) {
    const auto& n = cfg.networks[i];
    const auto& node = src.networks[i];
    if (n.name.starts_with(kChannelNetworkPrefix))
      d.error(value_line(node, "name"), fmt::format("networks[{}]: names starting with '{}' are reserved for the channels' networks", i,
                                                  kChannelNetworkPrefix));
    if (n.vlan != 0) {
      auto [it, fresh] = vlans.emplace(n.vlan, i);
      if (!fresh)
        d.error(value_line(node, "vlan"), fmt::format("networks[{}]: VLAN {} is already used by network '{}'", i, n.vlan,
                                                   cfg.networks[it->second].name));
    }
    if (n.subnet)
      for (size_t j = 0; j < i; ++j)
        if (cfg.networks[j].subnet && n.subnet->overlaps(*cfg.networks[j].subnet))
          d.error(value_line(node, "subnet"), fmt::format("networks[{}]: subnet {} overlaps {} of network '{}'", i,
                                                       n.subnet->to_string(), cfg.networks[j].subnet->to_string(),
                                                       cfg.networks[j].name));
    if (n.gateway) {
      if (!n.subnet) {
        d.error(value_line(node, "gateway"), fmt::format("networks[{}]: a gateway needs a subnet", i));
      } else if (!n.subnet->contains(*n.gateway)) {
        d.error(value_line(node, "gateway"), fmt::format("networks[{}]: gateway {} is outside subnet {}", i,
                                                      n.gateway->to_string(), n.subnet->to_string()));
      } else if (n.subnet->len < 31 && (n.gateway->value == n.subnet->addr.value ||
                                        n.gateway->value == (n.subnet->addr.value | ~n.subnet->mask()))) {
        d.error(value_line(node, "gateway"), fmt::format("networks[{}]: gateway {} is the network or broadcast address of {}",
                                                      i, n.gateway->to_string(), n.subnet->to_string()));
      }
    }
    if (n.gateway_mac.is_multicast() || n.gateway_mac.is_zero())
      d.error(value_line(node, "gateway_mac"), fmt::format("networks[{}]: gateway_mac {} must be a unicast address", i,
                                                        n.gateway_mac.to_string()));
    check_ipv6_network(cfg, i, node, d);
  }
}

void check_ports(const Config& cfg, const SourceNodes& src, Diagnostics& d) {
  std::map<std::string, std::string> endpoints;  // vhost path / interface -> port name
  auto claim = [&](const std::string& what, const std::string& port, const YAML::Node& node, const char* key, size_t i) {
    auto [it, fresh] = endpoints.emplace(what, port);
    if (!fresh)
      d.error(value_line(node, key), fmt::format("ports[{}]: {} '{}' is already used by port '{}'", i, key, what, it->second));
  };
  for (size_t i = 0; i < cfg.ports.size(); ++i) {
    const auto& p = cfg.ports[i];
    const auto& node = src.ports[i];
    if (cfg.channel.role == ChannelConfig::Role::kHost && p.name == kChannelPortName)
      d.error(value_line(node, "name"), fmt::format("ports[{}]: the name '{}' is reserved for the host end of the channels (section 'channels')", i,
                                                  kChannelPortName));
    if (p.access_network.empty() && p.trunk_networks.empty() && !is_channel_only_port(cfg.channel, p.name))
      d.error(node.Mark().line, fmt::format("ports[{}]: a port needs either 'network' (access port) or 'trunk' (list of networks)", i));
    if (!p.access_network.empty() && !cfg.find_network(p.access_network))
      d.error(value_line(node, "network"), fmt::format("ports[{}]: network '{}' is not defined in 'networks'", i, p.access_network));
    std::set<std::string> trunk;
    for (const auto& t : p.trunk_networks) {
      if (!cfg.find_network(t))
        d.error(value_line(node, "trunk"), fmt::format("ports[{}]: trunk network '{}' is not defined in 'networks'", i, t));
      if (!trunk.insert(t).second)
        d.error(value_line(node, "trunk"), fmt::format("ports[{}]: trunk lists network '{}' twice", i, t));
    }
    if (!p.native_network.empty() && !trunk.count(p.native_network))
      d.error(value_line(node, "native"), fmt::format("ports[{}]: native network '{}' is not in the trunk list", i, p.native_network));
    // A ring port is two DPDK rings that only an in-process test rig feeds and drains; in
    // the daemon nothing would, and a looped ring would reflect every flood back.
    if (src.for_daemon && p.type == PortType::kRing)
      d.error(value_line(node, "type"), fmt::format("ports[{}]: type 'ring' is for the unit tests' rigs and does not run in ivswitchd; "
                                                  "use 'pcap' (replay/record frames) or 'discard' (a sink)", i));
    // A pcap port's files, as the daemon will open them (they passed --check and failed at
    // start; tx_file is written as root: the same rules as a mirror's pcapng).
    if (src.for_daemon && p.type == PortType::kPcap) {
      struct stat st{};
      if (!p.rx_file.empty() && (::stat(p.rx_file.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::access(p.rx_file.c_str(), R_OK) != 0))
        d.error(value_line(node, "rx_file"), fmt::format("ports[{}]: rx_file {} is not a readable file", i, p.rx_file));
      if (!p.tx_file.empty())
        if (auto why = output_file_problem(p.tx_file)) d.error(value_line(node, "tx_file"), fmt::format("ports[{}]: tx_file: {}", i, *why));
    }
    if (p.type == PortType::kVhostUser && !p.path.empty()) claim(p.path, p.name, node, "path", i);
    if (!p.interface.empty()) claim(p.interface, p.name, node, "interface", i);
    if (p.core && !cfg.sw.cores.empty() &&
        std::find(cfg.sw.cores.begin(), cfg.sw.cores.end(), *p.core) == cfg.sw.cores.end())
      d.error(value_line(node, "core"), fmt::format("ports[{}]: core {} is not in switch.cores", i, *p.core));
  }
}

void check_vms(Config& cfg, const SourceNodes& src, Diagnostics& d) {
  std::map<std::pair<std::string, uint64_t>, std::string> macs;  // (network, mac) -> vm
  std::map<uint32_t, std::string> ips;
  for (size_t i = 0; i < cfg.vms.size(); ++i) {
    auto& vm = cfg.vms[i];
    const auto& node = src.vms[i];
    const PortConfig* port = vm.port.empty() ? nullptr : cfg.find_port(vm.port);
    if (!vm.port.empty() && !port)
      d.error(value_line(node, "port"), fmt::format("vms[{}]: port '{}' is not defined in 'ports'", i, vm.port));
    if (port) {
      if (!port->access_network.empty()) {
        if (vm.network.empty()) vm.network = port->access_network;
        else if (vm.network != port->access_network)
          d.error(value_line(node, "network"), fmt::format("vms[{}]: network '{}' differs from the network '{}' of port '{}'",
                                                        i, vm.network, port->access_network, port->name));
      } else if (vm.network.empty()) {
        d.error(node.Mark().line, fmt::format("vms[{}]: port '{}' is a trunk: say which network the VM is on", i, port->name));
      } else if (std::find(port->trunk_networks.begin(), port->trunk_networks.end(), vm.network) == port->trunk_networks.end()) {
        d.error(value_line(node, "network"), fmt::format("vms[{}]: network '{}' is not carried by trunk port '{}'", i, vm.network, port->name));
      }
    }
    // (an unparsable MAC was reported by the reader; do not report it twice). A VM that is
    // not a mapping was reported by the reader too; yaml-cpp throws on ["mac"] of a scalar
    // and on IsScalar() of what ["mac"] gives for a null (`vms: [~]` aborted the loader).
    const bool mac_parsed = node.IsMap() && node["mac"].IsScalar() && MacAddr::parse(node["mac"].Scalar());
    if (mac_parsed && (vm.mac.is_multicast() || vm.mac.is_zero()))
      d.error(value_line(node, "mac"), fmt::format("vms[{}]: mac {} must be a unicast address", i, vm.mac.to_string()));
    const NetworkConfig* net = vm.network.empty() ? nullptr : cfg.find_network(vm.network);
    // (an access port's undefined network is reported once, at the port)
    if (!vm.network.empty() && !net && !(port && vm.network == port->access_network))
      d.error(value_line(node, "network"), fmt::format("vms[{}]: network '{}' is not defined in 'networks'", i, vm.network));
    if (net && mac_parsed) {
      auto [it, fresh] = macs.emplace(std::make_pair(net->name, vm.mac.as_u64()), vm.name);
      if (!fresh)
        d.error(value_line(node, "mac"), fmt::format("vms[{}]: mac {} is already used by VM '{}' on network '{}'", i,
                                                  vm.mac.to_string(), it->second, net->name));
      if (vm.mac == net->gateway_mac)
        d.error(value_line(node, "mac"), fmt::format("vms[{}]: mac {} is the gateway MAC of network '{}'", i, vm.mac.to_string(), net->name));
    }
    if (vm.ip) {
      if (net && !net->subnet) {
        d.error(value_line(node, "ip"), fmt::format("vms[{}]: ip given but network '{}' has no subnet", i, net->name));
      } else if (net && !net->subnet->contains(*vm.ip)) {
        d.error(value_line(node, "ip"), fmt::format("vms[{}]: ip {} is outside subnet {} of network '{}'", i,
                                                 vm.ip->to_string(), net->subnet->to_string(), net->name));
      } else if (net && net->gateway && *net->gateway == *vm.ip) {
        d.error(value_line(node, "ip"), fmt::format("vms[{}]: ip {} is the gateway of network '{}'", i, vm.ip->to_string(), net->name));
      }
      auto [it, fresh] = ips.emplace(vm.ip->value, vm.name);
      if (!fresh) d.error(value_line(node, "ip"), fmt::format("vms[{}]: ip {} is already used by VM '{}'", i, vm.ip->to_string(), it->second));
    }
  }
}

// Networks with a subnet share one flow-key zone (the switch routes between them, so a
// flow's two directions may be seen in two networks; flow/flow_key.hpp): their addresses
// must not overlap, or two tenants' flows would share an entry and a verdict. IPv4
// subnets are checked in check_networks, subnet6 prefixes in check_ipv6_network; a
// network need not have a subnet6 (and a VM's IPv6 addresses need not lie in it), so the
// VMs' IPv6 addresses (allowed_addresses) are checked here too, across networks.
// (Link-local IPv6 flows are keyed per network anyway: nothing routes them.)
void check_ipv6_overlap(const Config& cfg, const SourceNodes& src, Diagnostics& d) {
  const auto subnet_net = [&](const VmConfig& vm) -> const NetworkConfig* {
    const NetworkConfig* n = vm.network.empty() ? nullptr : cfg.find_network(vm.network);
    return n && (n->subnet || n->subnet6) ? n : nullptr;
  };
  // A VM may not claim a gateway6 as its own address: the switch answers for it.
  for (size_t i = 0; i < cfg.vms.size(); ++i)
    for (const IpPrefix& a : cfg.vms[i].allowed_addresses)
      for (const auto& n : cfg.networks)
        if (a.family == 6 && a.len == 128 && n.gateway6 && a == *n.gateway6)
          d.error(value_line(src.vms[i], "allowed_addresses"), fmt::format("vms[{}]: {} is the gateway6 of network '{}'", i,
                                                                        a.to_string(), n.name));
  const auto overlap = [](const IpPrefix& a, const IpPrefix& b) { return a.contains(b.bytes.data()) || b.contains(a.bytes.data()); };
  for (size_t i = 0; i < cfg.vms.size(); ++i) {
    const NetworkConfig* ni = subnet_net(cfg.vms[i]);
    if (!ni) continue;
    for (const IpPrefix& a : cfg.vms[i].allowed_addresses) {
      if (a.family != 6) continue;
      bool reported = false;
      for (size_t j = 0; j < i && !reported; ++j) {
        const NetworkConfig* nj = subnet_net(cfg.vms[j]);
        if (!nj || nj == ni) continue;
        for (const IpPrefix& b : cfg.vms[j].allowed_addresses) {
          if (b.family != 6 || !overlap(a, b)) continue;
          d.error(value_line(src.vms[i], "allowed_addresses"),
                  fmt::format("vms[{}]: IPv6 {} overlaps {} of VM '{}' on network '{}': networks with a subnet share one "
                              "address space (docs/security.md)", i, a.to_string(), b.to_string(), cfg.vms[j].name, nj->name));
          reported = true;
          break;
        }
      }
    }
  }
}

// Port security is on by default where the port has a configured VM (what may send there
// is known), off where it has none (learned hosts, inline devices, tools: nothing to hold
// them to). Asked for on a port without a VM, it drops every frame until a VM is added
// there: how a port awaiting its VM is declared, and what a port whose VM a reload
// removed must do (the VMs change at runtime, the port's port security does not:
// config/runtime_changes.cpp).
void resolve_port_security(Config& cfg, const SourceNodes& /*src*/, Diagnostics& /*d*/) {
  for (auto& p : cfg.ports) {
    const bool has_vm = std::any_of(cfg.vms.begin(), cfg.vms.end(), [&](const VmConfig& v) { return v.port == p.name; });
    if (!p.port_security) p.port_security = has_vm;
  }
}

}  // namespace

void validate(Config& cfg, const SourceNodes& nodes, Diagnostics& d) {
  check_unique_names(cfg.ports, nodes.ports, "ports", d);
  check_unique_names(cfg.networks, nodes.networks, "networks", d);
  check_unique_names(cfg.vms, nodes.vms, "vms", d);
  check_switch(cfg, nodes.sw, d);
  check_networks(cfg, nodes, d);
  check_ports(cfg, nodes, d);
  check_vms(cfg, nodes, d);
  check_ipv6_overlap(cfg, nodes, d);
  check_routes(cfg, nodes, d);
  resolve_port_security(cfg, nodes, d);
}

}  // namespace ivs::config
