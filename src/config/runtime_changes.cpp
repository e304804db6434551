#include "config/runtime_changes.hpp"

#include <fmt/format.h>

#include "config/core_specs.hpp"
#include "config/port_changes.hpp"

namespace ivs::config {

namespace {
const VmConfig* find_vm(const Config& c, const std::string& name) {
  for (const auto& vm : c.vms)
    if (vm.name == name) return &vm;
  return nullptr;
}

// Why the VMs of `b` cannot replace those of `a` at runtime ("": they can). VMs are added,
// removed and changed freely, except where another part compiled at start counts on them
// (here: a host channel's VM; the QoS module says what it needs in its plan_reload).
std::string vm_incompatibility(const Config& a, const Config& b) {
  // A host channel's agent port is its VM's port, compiled into the channel's tables.
  if (a.channel.role == ChannelConfig::Role::kHost)
    for (const auto& bind : a.channel.map) {
      const VmConfig *x = find_vm(a, bind.vm), *y = find_vm(b, bind.vm);
      if (x && (!y || y->port != x->port || !(y->mac == x->mac) || y->network != x->network))
        return fmt::format("vm '{}' differs: channel {} is bound to it (its port, MAC and network are the channel's)", bind.vm, bind.id);
    }
  return "";
}

// The first part of `b` that differs from `a` where a reload may not change it ("": none).
std::string runtime_incompatibility(const Config& a, const Config& b) {
  if (!(a.sw == b.sw)) return "the switch section differs";  // never silently ignored
  if (a.ports.size() != b.ports.size()) return "the ports differ";
  for (size_t i = 0; i < a.ports.size(); ++i) {
    const auto &x = a.ports[i], &y = b.ports[i];
    // Every field a port has (port_difference, shared with the reload's ports plan): a
    // changed vhost mode, pcap file or core would otherwise be ignored, not refused.
    const std::string field = x.name == y.name ? port_difference(x, y) : "name";
    if (field.empty()) continue;
    if (field != "port_security") return fmt::format("port '{}' differs", x.name);
    // Defaulted, it follows the port's VMs (on where one is configured): a reload that
    // adds a port's first VM or removes its last would turn it on or off.
    return fmt::format("port '{}': its port_security would turn {} (it is on by default where a VM is configured); "
                  "set port_security on the port to add or remove its VMs at runtime",
                  x.name, y.port_security.value_or(false) ? "on" : "off");
  }
  if (a.networks.size() != b.networks.size()) return "the networks differ";
  for (size_t i = 0; i < a.networks.size(); ++i) {
    const auto &x = a.networks[i], &y = b.networks[i];
    if (x.name != y.name || x.vlan != y.vlan || x.subnet != y.subnet || x.gateway != y.gateway || !(x.gateway_mac == y.gateway_mac) ||
        x.subnet6 != y.subnet6 || x.gateway6 != y.gateway6)
      return fmt::format("network '{}' differs", x.name);
  }
  // The routes are compiled into the forwarding tables with the networks, which a reload
  // does not rebuild (the next hops' counters and the flows' ECMP choices index them).
  if (a.routes != b.routes) return "the routes differ";
  if (a.qos.enabled != b.qos.enabled) return "the qos section was added or removed";
  if (a.qos.classes != b.qos.classes || a.qos.default_class != b.qos.default_class) return "qos.classes differ";
  if (a.qos.meters != b.qos.meters) return "qos.meters differ";
  if (a.qos.egress != b.qos.egress) return "qos.egress differs";
  return vm_incompatibility(a, b);
}
}  // namespace

std::expected<pipeline::StagedConfig, std::string> stage_runtime_changes(const Config& running, const Config& next) {
  if (auto why = runtime_incompatibility(running, next); !why.empty())
    return std::unexpected(fmt::format("{}: {}", why, kRuntimeChangesHint));
  auto staged = std::make_shared<Config>(running);
  staged->policy = next.policy;
  staged->chains = next.chains;
  staged->qos.assign = next.qos.assign;
  staged->vms = next.vms;  // (validated with next's ports and networks, which are running's)
  staged->mirrors = next.mirrors;
  pipeline::StagedConfig s{nullptr, datapath_spec(*staged)};
  s.cfg = std::move(staged);
  return s;
}

}  // namespace ivs::config
