#include "config/runtime_changes.hpp"

#include <fmt/format.h>

namespace ivs::config {

namespace {
// The first part of `b` that differs from `a` where a reload may not change it ("": none).
std::string runtime_incompatibility(const Config& a, const Config& b) {
  if (!(a.sw == b.sw)) return "the switch section differs";  // never silently ignored
  if (a.ports.size() != b.ports.size()) return "the ports differ";
  for (size_t i = 0; i < a.ports.size(); ++i) {
    const auto &x = a.ports[i], &y = b.ports[i];
    if (x.name != y.name || x.type != y.type || x.path != y.path || x.interface != y.interface ||
        x.access_network != y.access_network || x.trunk_networks != y.trunk_networks || x.native_network != y.native_network ||
        x.mtu != y.mtu || x.port_security != y.port_security)
      return fmt::format("port '{}' differs", x.name);
  }
  if (a.networks.size() != b.networks.size()) return "the networks differ";
  for (size_t i = 0; i < a.networks.size(); ++i) {
    const auto &x = a.networks[i], &y = b.networks[i];
    if (x.name != y.name || x.vlan != y.vlan || x.subnet != y.subnet || x.gateway != y.gateway || !(x.gateway_mac == y.gateway_mac))
      return fmt::format("network '{}' differs", x.name);
  }
  if (a.qos.enabled != b.qos.enabled) return "the qos section was added or removed";
  if (a.qos.classes != b.qos.classes || a.qos.default_class != b.qos.default_class) return "qos.classes differ";
  if (a.qos.meters != b.qos.meters) return "qos.meters differ";
  if (a.qos.egress != b.qos.egress) return "qos.egress differs";
  if (a.vms.size() != b.vms.size()) return "the vms differ";
  for (size_t i = 0; i < a.vms.size(); ++i) {
    const auto &x = a.vms[i], &y = b.vms[i];
    // Port security is compiled by its module at start: its fields too.
    if (x.name != y.name || x.port != y.port || !(x.mac == y.mac) || x.ip != y.ip || x.network != y.network ||
        x.allowed_addresses != y.allowed_addresses || x.router != y.router || x.dhcp_server != y.dhcp_server)
      return fmt::format("vm '{}' differs (only its labels may change)", x.name);
  }
  return "";
}
}  // namespace

std::expected<std::shared_ptr<const Config>, std::string> stage_runtime_changes(const Config& running, const Config& next) {
  if (auto why = runtime_incompatibility(running, next); !why.empty())
    return std::unexpected(fmt::format("{}: only policy, chains, qos.assign, mirrors and VM labels change at runtime; restart ivswitchd for the rest", why));
  auto staged = std::make_shared<Config>(running);
  staged->policy = next.policy;
  staged->chains = next.chains;
  staged->qos.assign = next.qos.assign;
  for (size_t i = 0; i < staged->vms.size(); ++i) staged->vms[i].labels = next.vms[i].labels;
  staged->mirrors = next.mirrors;
  return staged;
}

}  // namespace ivs::config
