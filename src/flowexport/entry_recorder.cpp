#include "flowexport/entry_recorder.hpp"

#include <chrono>
#include <cstring>

#include "qos/flow_state.hpp"

namespace ivs::flowexport {

namespace {
std::array<uint8_t, 17> address_key(uint8_t family, const uint8_t* addr) {
  std::array<uint8_t, 17> k{};
  k[0] = family;
  std::memcpy(k.data() + 1, addr, family == 6 ? 16 : 4);
  return k;
}

// The deciding rule's action; by the flow's state when the rule is from an older epoch
// (a flow kept by persist keeps an older policy's rule index under the new epoch).
uint8_t action_of(const flow::FlowEntry& e, const policy::Classifier& pol) {
  if (e.rule < 0) return static_cast<uint8_t>(pol.default_action());
  if (!e.persisted && e.epoch == pol.epoch() && static_cast<size_t>(e.rule) < pol.rules().size())
    return static_cast<uint8_t>(pol.rules()[static_cast<size_t>(e.rule)].action);
  using S = flow::FlowState;
  using A = config::PolicyAction;
  switch (e.state.load(std::memory_order_relaxed)) {
    case S::kAllowed: return static_cast<uint8_t>(A::kAllow);
    case S::kDenied: return static_cast<uint8_t>(A::kDrop);
    case S::kRejected: return static_cast<uint8_t>(A::kReject);
    default: return static_cast<uint8_t>(A::kInspect);
  }
}

uint64_t unix_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}
}  // namespace

EntryRecorder::EntryRecorder(const config::Config& cfg, Exporter& exporter) : n_ports_(cfg.ports.size()), exporter_(exporter) {
  for (const auto& n : cfg.networks) network_vlan_.push_back(n.vlan);
  // The responder side's port: the flow entry keeps only the port of the first packet, the
  // other side is the configured VM with that address (ports without VMs: unknown, 0).
  for (const auto& vm : cfg.vms) {
    const config::PortConfig* p = cfg.find_port(vm.port);
    const config::NetworkConfig* n = cfg.find_network(vm.network);
    if (!p) continue;
    const Side s{static_cast<uint32_t>(p - cfg.ports.data()) + 1, n ? n->vlan : uint16_t{0}};
    if (vm.ip) {
      const uint32_t be = vm.ip->to_be();
      by_address_.emplace(address_key(4, reinterpret_cast<const uint8_t*>(&be)), s);
    }
    for (const auto& a : vm.allowed_addresses)
      if (a.len == (a.family == 6 ? 128 : 32)) by_address_.emplace(address_key(a.family, a.bytes.data()), s);
  }
}

void EntryRecorder::set_mirrors(std::shared_ptr<const mirror::MirrorSet> set) {
  std::lock_guard lock(mirrors_mutex_);
  mirrors_ = std::move(set);
}

EntryRecorder::Side EntryRecorder::side(const flow::FlowEntry& e, int s) const {
  Side out;
  const auto it = by_address_.find(address_key(e.key.family, e.key.addr[s]));
  if (it != by_address_.end()) out = it->second;
  if (s == e.initiator) {  // the port it really came in by
    out.port = static_cast<uint32_t>(e.first_port) + 1;
    if (e.network >= 0 && static_cast<size_t>(e.network) < network_vlan_.size())
      out.vlan = network_vlan_[static_cast<size_t>(e.network)];
  }
  return out;
}

// Mirrors that tap this direction: port taps on its ingress (rx) or egress (tx) port and
// flow taps whose match selects the flow (matched as its first packet, like the datapath).
std::string EntryRecorder::mirrors_of(const flow::FlowEntry& e, uint32_t in_if, uint32_t out_if) const {
  std::shared_ptr<const mirror::MirrorSet> set;
  {
    std::lock_guard lock(mirrors_mutex_);
    set = mirrors_;
  }
  if (!set) return {};
  uint64_t bits = 0;
  if (in_if > 0 && in_if <= n_ports_)
    for (uint8_t i : set->taps(static_cast<uint16_t>(in_if - 1), mirror::kRx)) bits |= uint64_t{1} << i;
  if (out_if > 0 && out_if <= n_ports_)
    for (uint8_t i : set->taps(static_cast<uint16_t>(out_if - 1), mirror::kTx)) bits |= uint64_t{1} << i;
  if (e.key.family == 4 && !set->flow_taps().empty()) {
    policy::FlowTuple t;
    t.proto = e.key.proto;
    uint32_t a, b;
    std::memcpy(&a, e.key.addr[e.initiator], 4);
    std::memcpy(&b, e.key.addr[1 - e.initiator], 4);
    t.src_ip = __builtin_bswap32(a);
    t.dst_ip = __builtin_bswap32(b);
    t.src_port = e.first_sport;
    t.dst_port = e.first_dport;
    t.network = e.network;
    for (const auto& ft : set->flow_taps())
      if (ft.match.matches(t)) bits |= uint64_t{1} << ft.mirror;
  }
  std::string names;
  for (size_t i = 0; i < set->size(); ++i)
    if (bits >> i & 1) names += (names.empty() ? "" : ",") + set->mirror(static_cast<uint8_t>(i)).name;
  return names;
}

FlowRecord EntryRecorder::describe(const flow::FlowEntry& e, uint8_t d, const policy::Classifier& pol) const {
  FlowRecord r;
  const int other = 1 - d;
  r.family = e.key.family;
  const size_t alen = e.key.family == 6 ? 16 : 4;
  std::memcpy(r.src, e.key.addr[d], alen);
  std::memcpy(r.dst, e.key.addr[other], alen);
  r.src_port = e.key.port[d];
  r.dst_port = e.key.port[other];
  r.proto = e.key.proto;
  if (r.proto == 1 || r.proto == 58) {  // as NetFlow collectors read ICMP: type << 8 | code in the destination port
    uint16_t type = e.first_sport, code = e.first_dport;
    if (d != e.initiator) {  // the replies of an echo or a timestamp request
      if (type == 8 || type == 13) type = type == 8 ? 0 : 14;
      else if (type == 128) type = 129;
    }
    r.src_port = 0;
    r.dst_port = static_cast<uint16_t>((type & 0xff) << 8 | (code & 0xff));
  }
  const Side in = side(e, d), out = side(e, other);
  r.in_if = in.port;
  r.out_if = out.port;
  r.vlan = in.vlan;
  r.state = static_cast<uint8_t>(e.state.load(std::memory_order_relaxed));
  r.action = action_of(e, pol);
  if (e.rule >= 0) {
    r.rule_id = static_cast<uint32_t>(e.rule);
    r.rule_name = !e.persisted && e.epoch == pol.epoch() && static_cast<size_t>(e.rule) < pol.rules().size()
                      ? pol.rules()[static_cast<size_t>(e.rule)].name
                      : "#" + std::to_string(e.rule);
  } else {
    r.rule_name = "(default)";
  }
  r.epoch = e.epoch;
  r.to_device = e.chain.to_device[d].get();
  r.shortcut = e.chain.shortcut[d].get();
  const qos::Decision q = qos::flow_decision(e, d);
  r.dscp_assigned = q.dscp;
  r.dscp_observed = qos::flow_mismatch(e, d).observed;
  // The DSCP the sender marked: the last one that did not match its assignment, else the
  // assigned one (the guard saw it match); unknown (0) without a QoS decision.
  // A flow the policy drops never meets the guard: only a mismatch it recorded counts then.
  const flow::FlowState st = e.state.load(std::memory_order_relaxed);
  const bool guarded = st != flow::FlowState::kDenied && st != flow::FlowState::kRejected;
  const uint8_t sent = r.dscp_observed != config::kNoDscp ? r.dscp_observed : guarded && q.dscp != config::kNoDscp ? q.dscp : 0;
  r.tos = static_cast<uint8_t>(sent << 2);
  r.mirrors = mirrors_of(e, r.in_if, r.out_if);
  r.initiator = d == e.initiator ? 1 : 0;
  return r;
}

void EntryRecorder::record(flow::FlowEntry& e, flow::Reported& rep, uint8_t reason, bool final, const policy::Classifier& pol,
                           uint32_t now_s) {
  // Entry times are coarse TSC seconds: Unix time is now minus their age.
  const uint64_t wall_now = unix_ms();
  const auto wall = [&](uint32_t t) { return wall_now - static_cast<uint64_t>(now_s - std::min(t, now_s)) * 1000; };
  const uint32_t start_s = e.reported_s ? e.reported_s : e.created_s;
  const uint32_t end_s = std::max(e.last_used_s.load(std::memory_order_relaxed), start_s);
  for (uint8_t d : {e.initiator, static_cast<uint8_t>(1 - e.initiator)}) {
    const uint64_t packets = e.packets[d].get(), bytes = e.bytes[d].get();
    // Nothing new this way. (Both compared: the datapath adds a packet, then its bytes, so
    // an active-timeout record may have read the one without the other.)
    if (packets == rep.packets[d] && bytes == rep.bytes[d]) continue;
    FlowRecord r = describe(e, d, pol);
    r.packets = packets - rep.packets[d];
    r.octets = bytes - rep.bytes[d];
    r.start_ms = wall(start_s);
    r.end_ms = wall(end_s);
    r.end_reason = static_cast<EndReason>(reason);
    exporter_.push(std::move(r));
    rep.packets[d] = packets;
    rep.bytes[d] = bytes;
  }
  if (!final) e.reported_s = now_s;
}

}  // namespace ivs::flowexport
