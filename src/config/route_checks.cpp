// The `routes` section's cross-checks (docs/config.md, "routes"): each route's prefix lies
// outside every network's subnet (the connected networks come first, so a route never
// takes a network's own addresses), and each next hop inside a routed network (one with
// subnet and gateway: the switch resolves it by ARP from that gateway).
#include <fmt/format.h>

#include <map>
#include <set>

#include "config/validate.hpp"
#include "forward/topology.hpp"

namespace ivs::config {

namespace {
// The routed network whose subnet holds `a`, or nullptr.
const NetworkConfig* routed_network_of(const Config& cfg, Ipv4Addr a) {
  for (const auto& n : cfg.networks)
    if (n.subnet && n.gateway && n.subnet->contains(a)) return &n;
  return nullptr;
}
}  // namespace

void check_routes(const Config& cfg, const SourceNodes& src, Diagnostics& d) {
  std::map<Ipv4Prefix, size_t, decltype([](const Ipv4Prefix& a, const Ipv4Prefix& b) {
             return std::pair{a.addr.value, a.len} < std::pair{b.addr.value, b.len};
           })> prefixes;
  size_t hops = 0;
  if (cfg.routes.size() > forward::kMaxStaticRoutes)
    d.error(value_line(src.routes[forward::kMaxStaticRoutes], "prefix"),
            fmt::format("routes: at most {} routes", forward::kMaxStaticRoutes));
  for (size_t i = 0; i < cfg.routes.size(); ++i) {
    const auto& r = cfg.routes[i];
    const auto& node = src.routes[i];
    if (!node.IsMap()) continue;  // (reported by the reader)
    const int prefix_line = value_line(node, "prefix"), via_line = value_line(node, "via");
    // A prefix the reader refused (reported there) is not checked again.
    const bool prefix_ok = node["prefix"].IsScalar() && Ipv4Prefix::parse(node["prefix"].Scalar());
    auto [it, fresh] = prefix_ok ? prefixes.emplace(r.prefix, i) : std::pair{prefixes.end(), true};
    if (!fresh)
      d.error(prefix_line, fmt::format("routes[{}]: prefix {} is already routed by routes[{}] (line {}); list all its next "
                                       "hops in one 'via' (ECMP)", i, r.prefix.to_string(), it->second,
                                       value_line(src.routes[it->second], "prefix") + 1));
    for (const auto& n : cfg.networks)
      if (prefix_ok && n.subnet && n.subnet->overlaps(r.prefix) && r.prefix.len >= n.subnet->len)
        d.error(prefix_line, fmt::format("routes[{}]: prefix {} lies inside subnet {} of network '{}' (its addresses are "
                                         "connected: the network's own hosts)", i, r.prefix.to_string(), n.subnet->to_string(),
                                         n.name));
    if (r.via.size() > forward::kMaxEcmpHops)
      d.error(via_line, fmt::format("routes[{}]: {} next hops; at most {} (ECMP)", i, r.via.size(), forward::kMaxEcmpHops));
    hops += r.via.size();
    std::set<uint32_t> seen;
    for (const Ipv4Addr& v : r.via) {
      if (!seen.insert(v.value).second) {
        d.error(via_line, fmt::format("routes[{}]: next hop {} is listed twice", i, v.to_string()));
        continue;
      }
      const NetworkConfig* n = routed_network_of(cfg, v);
      if (!n) {
        d.error(via_line, fmt::format("routes[{}]: next hop {} is in no routed network (a network with subnet and gateway)", i,
                                      v.to_string()));
        continue;
      }
      const uint32_t bcast = n->subnet->addr.value | ~n->subnet->mask();
      if (*n->gateway == v)
        d.error(via_line, fmt::format("routes[{}]: next hop {} is the switch's own gateway in network '{}'", i, v.to_string(), n->name));
      else if (n->subnet->len < 31 && (v.value == n->subnet->addr.value || v.value == bcast))
        d.error(via_line, fmt::format("routes[{}]: next hop {} is the network or broadcast address of {}", i, v.to_string(),
                                      n->subnet->to_string()));
    }
  }
  if (hops > forward::kMaxNextHops)
    d.error(value_line(src.routes.back(), "via"),
            fmt::format("routes: {} next hops in all; at most {} (each has its packet counter per datapath thread)", hops,
                        forward::kMaxNextHops));
}

}  // namespace ivs::config
