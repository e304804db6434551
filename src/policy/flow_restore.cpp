// A restart keeps its flows (SlowPath::save_flows / restore_flows; docs/vms.md "The restart gap").
// Safety first: a restored entry must never let through what this switch's policy denies,
// so every saved flow is decided again by the policy here, from its first packet's
// direction and ports as revalidation does (slow_path.cpp), and comes back only when the
// verdict is the one it held. Its rule and epoch are this policy's; its QoS decision is
// made afresh, the sender VMs looked up in this config (the saved slot words are ignored).
#include <spdlog/spdlog.h>

#include "policy/decision.hpp"
#include "policy/slow_path.hpp"
#include "policy/upcall.hpp"

namespace ivs::policy {

using flow::FlowEntry;
using flow::FlowState;

namespace {
int find_name(const std::vector<std::string>& names, const std::string& name) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<int>(i);
  return -1;
}

// The zone a key of network `net` has in this switch (pipeline/forwarder.hpp zone_of):
// the network's, except IPv6 between two link-local addresses: its own network's (net + 1).
uint16_t zone_in(const flow::FlowKey& k, int net, const FlowNames& names) {
  const auto link_local = [](const uint8_t* a) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; };
  if (k.family == 6 && link_local(k.addr[0]) && link_local(k.addr[1])) return static_cast<uint16_t>(net + 1);
  return names.zones[static_cast<size_t>(net)];
}
}  // namespace

FlowNames flow_names_of(const config::Config& cfg) {
  FlowNames n;
  const size_t nn = cfg.networks.size(), np = cfg.ports.size();
  for (size_t w = 0; w < nn; ++w) {
    n.networks.push_back(cfg.networks[w].name);
    // forward/tables.cpp: networks with a subnet share zone 0, the others have their own.
    n.zones.push_back(cfg.networks[w].subnet ? 0 : static_cast<uint16_t>(w + 1));
  }
  n.carries.assign(np * nn, 0);
  for (size_t p = 0; p < np; ++p) {
    const auto& pc = cfg.ports[p];
    n.ports.push_back(pc.name);
    const auto carry = [&](const std::string& net) {
      if (const int w = find_name(n.networks, net); w >= 0) n.carries[p * nn + static_cast<size_t>(w)] = 1;
    };
    if (!pc.access_network.empty()) carry(pc.access_network);
    for (const auto& tn : pc.trunk_networks) carry(tn);
  }
  return n;
}

flow::FlowSnapshot SlowPath::save_flows(const FlowNames& names) const {
  std::lock_guard lock(mutex_);
  flow::FlowSnapshot s;
  s.epoch = policy_->epoch();
  s.ports = names.ports;
  s.networks = names.networks;
  table_.for_each([&](const FlowEntry& e) {
    const FlowState st = e.state.load(std::memory_order_relaxed);
    // A chain's flows start again on the device path: their state (packets passed back,
    // the device's sides) belongs to the running device, not to the file.
    if (flow::on_chain(st)) return;
    if (e.network < 0 || static_cast<size_t>(e.network) >= names.networks.size() || e.first_port >= names.ports.size()) return;
    flow::SavedFlow f;
    f.key = e.key;
    f.state = static_cast<uint8_t>(st);
    f.initiator = e.initiator;
    f.network = static_cast<uint16_t>(e.network);
    f.first_port = e.first_port;
    f.first_sport = e.first_sport;
    f.first_dport = e.first_dport;
    f.rule = e.rule;
    f.epoch = e.epoch;
    for (int d = 0; d < 2; ++d) {
      f.tcp_flags[d] = e.tcp_flags[d].load(std::memory_order_relaxed);
      f.slot_word[d] = e.slot.word[d].load(std::memory_order_relaxed);
    }
    s.flows.push_back(f);
  });
  return s;
}

uint32_t SlowPath::restore_flows(const flow::FlowSnapshot& saved, const FlowNames& names) {
  std::lock_guard lock(mutex_);
  const uint32_t now = now_s();
  uint32_t restored = 0;
  for (const flow::SavedFlow& f : saved.flows) {
    const int port = f.first_port < saved.ports.size() ? find_name(names.ports, saved.ports[f.first_port]) : -1;
    const int network = f.network < saved.networks.size() ? find_name(names.networks, saved.networks[f.network]) : -1;
    const auto held = static_cast<FlowState>(f.state);
    // The port must still carry the network, and the key is put in the zone that network
    // has now: a zone is a network's position in the config, so a flow of network X keyed
    // in its old zone could answer the packets of the network now in that position.
    if (port < 0 || network < 0 || static_cast<size_t>(network) >= names.zones.size() ||
        !names.port_carries(static_cast<size_t>(port), static_cast<size_t>(network)) ||
        f.state > static_cast<uint8_t>(FlowState::kViaDevice) || flow::on_chain(held)) {
      stats_.restore_refused.inc();
      continue;
    }
    flow::FlowKey key = f.key;
    key.zone = zone_in(key, network, names);
    if (table_.find(key)) {
      stats_.restore_refused.inc();
      continue;
    }
    Upcall u{};
    u.key = key;
    u.direction = f.initiator;
    u.network = static_cast<int16_t>(network);
    u.in_port = static_cast<uint16_t>(port);
    u.pp.src_port = f.first_sport;
    u.pp.dst_port = f.first_dport;
    const FlowTuple t = tuple_of(u);
    const Verdict v = policy_->classify(t);
    // Only the verdict it held: an inspected flow starts on its chain again, a flow the
    // policy now decides otherwise is decided afresh by its next packet.
    if (v.action == PolicyAction::kInspect || state_for(v.action) != held) {
      stats_.restore_refused.inc();
      continue;
    }
    FlowEntry* e = table_.insert(key, [&](FlowEntry& n) {
      n.state.store(held, std::memory_order_relaxed);
      n.initiator = f.initiator;
      n.first_port = u.in_port;
      n.network = u.network;
      n.first_sport = f.first_sport;
      n.first_dport = f.first_dport;
      n.rule = v.rule;
      n.epoch = policy_->epoch();
      n.created_s = now;
      n.last_used_s.store(now, std::memory_order_relaxed);
      for (uint8_t d = 0; d < 2; ++d) n.tcp_flags[d].store(f.tcp_flags[d], std::memory_order_relaxed);
      // The file's slot words (the QoS decisions, with their VM index) are not trusted.
      restore_qos(n, t);
    });
    if (!e) {  // the table is full
      stats_.restore_refused.inc();
      continue;
    }
    stats_.restored.inc();
    // The first few by name (the restart suite looks for its TCP stream's flow here).
    if (++restored <= 8) spdlog::info("flow restored: {} ({})", flow::to_string(key), flow::flow_state_name(held));
  }
  return restored;
}

}  // namespace ivs::policy
