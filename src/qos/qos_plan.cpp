#include "qos/qos_plan.hpp"

namespace ivs::qos {

QosPlan QosPlan::compile(const config::Config& cfg) {
  QosPlan p;
  p.enabled_ = cfg.qos.enabled;
  for (const auto& a : cfg.qos.assign) {
    CompiledAssignment ca;
    static_cast<policy::CompiledMatch&>(ca) = policy::CompiledMatch::compile(cfg, a);
    ca.name = a.name;
    ca.dscp = a.dscp;
    ca.mode = a.mode;
    ca.meter = static_cast<int16_t>(a.meter.empty() ? -1 : cfg.qos.find_meter(a.meter));
    p.assign_.push_back(std::move(ca));
  }
  for (size_t i = 0; i < cfg.vms.size(); ++i) {
    const auto& vm = cfg.vms[i];
    if (vm.ip) p.vm_ip_[vm.ip->value] = static_cast<int16_t>(i);
    p.vm_mac_[vm.mac.as_u64()] = static_cast<int16_t>(i);
  }
  for (size_t i = 0; i < cfg.networks.size(); ++i) {
    if (cfg.networks[i].subnet) p.subnets_.push_back({*cfg.networks[i].subnet, static_cast<int16_t>(i)});
    if (cfg.networks[i].subnet6) p.subnets6_.push_back({*cfg.networks[i].subnet6, static_cast<int16_t>(i)});
  }
  return p;
}

int16_t QosPlan::vm_by_ip(uint32_t ip) const {
  auto it = vm_ip_.find(ip);
  return it == vm_ip_.end() ? -1 : it->second;
}

int16_t QosPlan::vm_by_mac(const uint8_t* mac) const {
  auto it = vm_mac_.find(MacAddr::from(mac).as_u64());
  return it == vm_mac_.end() ? -1 : it->second;
}

Decision QosPlan::decide(const policy::FlowTuple& t, int16_t vm) const {
  Decision d;
  d.vm = vm;
  for (size_t i = 0; i < assign_.size(); ++i) {
    const auto& a = assign_[i];
    if (!a.matches(t)) continue;
    d.assignment = static_cast<int16_t>(i);
    d.dscp = a.mode == config::QosMode::kTrust ? config::kNoDscp : a.dscp;
    d.mode = a.mode;
    d.meter = a.meter;
    break;
  }
  return d;
}

policy::FlowTuple QosPlan::reply_of(const policy::FlowTuple& first) const {
  // Addresses and ports swapped; it enters from the network that holds the responder (by
  // subnet, or subnet6 for IPv6), or the same network when the flow is switched.
  policy::FlowTuple reply = first;
  std::swap(reply.src_ip, reply.dst_ip);
  std::swap(reply.src6, reply.dst6);
  if (first.proto == 6 || first.proto == 17) std::swap(reply.src_port, reply.dst_port);
  if (!first.ipv6) {
    for (const auto& s : subnets_)
      if (s.prefix.contains(Ipv4Addr{reply.src_ip})) {
        reply.network = s.network;
        break;
      }
  } else {
    for (const auto& s : subnets6_)
      if (s.prefix.contains(reply.src6.data())) {
        reply.network = s.network;
        break;
      }
  }
  return reply;
}

void QosPlan::decide_flow(const policy::FlowTuple& first, uint8_t first_dir, const uint8_t* eth, Decision out[2]) const {
  const policy::FlowTuple reply = reply_of(first);
  int16_t vm_first = first.ipv6 ? -1 : vm_by_ip(first.src_ip);
  if (vm_first < 0 && eth) vm_first = vm_by_mac(eth + 6);
  int16_t vm_reply = first.ipv6 ? -1 : vm_by_ip(first.dst_ip);
  if (vm_reply < 0 && eth) vm_reply = vm_by_mac(eth);  // switched: the destination MAC is the responder's
  out[first_dir] = decide(first, vm_first);
  out[1 - first_dir] = decide(reply, vm_reply);
}

}  // namespace ivs::qos
