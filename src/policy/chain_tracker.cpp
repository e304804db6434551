#include "policy/chain_tracker.hpp"

#include <rte_cycles.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

namespace ivs::policy {

using flow::FlowEntry;
using flow::FlowState;

ChainTracker::ChainTracker(uint64_t tsc_hz, std::function<bool(uint16_t)> port_up)
    : tsc_hz_(tsc_hz), port_up_(std::move(port_up)) {}

bool ChainTracker::healthy(const Classifier& policy, int16_t chain) const {
  auto it = stats_.find(policy.chains()[static_cast<size_t>(chain)].name);
  return it == stats_.end() || it->second.healthy;
}

ChainAdmission ChainTracker::plan(const Verdict& v, const Classifier& policy, const flow::FlowKey& key, const uint8_t* in_mac,
                                  int16_t in_net, uint8_t initiator_side, uint64_t now_tsc) const {
  using Outcome = ChainAdmission::Outcome;
  const CompiledChain& ch = policy.chains()[static_cast<size_t>(v.chain)];
  ChainAdmission a;
  a.chain = v.chain;
  const bool up = healthy(policy, v.chain);
  if (!up && !ch.fail_open) {
    a.outcome = Outcome::kDenied;
    return a;
  }
  if (!up) {
    // Fail-open with the device down: the switch routes the flow itself, as if verified,
    // when the destination is a configured VM (its network and MAC are known); otherwise
    // it is simply allowed.
    const Classifier::VmEndpoint* dst = nullptr;
    if (key.family == 4) {
      uint32_t ip;
      std::memcpy(&ip, key.addr[1 - initiator_side], 4);
      dst = policy.vm_at(__builtin_bswap32(ip));
    }
    // Without the first packet's source MAC (no packet: in_mac null) there is no way back
    // to the initiator for a shortcut: plainly allowed.
    if (!dst || !in_mac) {
      a.outcome = Outcome::kBypassedAllowed;
      return a;
    }
    a.outcome = Outcome::kBypassedShortcut;
    a.device_port[0] = a.device_port[1] = ch.out_port;
    std::memcpy(a.side_mac[initiator_side], in_mac, 6);
    dst->mac.store(a.side_mac[1 - initiator_side]);
    a.side_net[initiator_side] = in_net;
    a.side_net[1 - initiator_side] = dst->network;
    return a;
  }
  // The initiator's packets reach the device on the chain port in its network (out_port,
  // or return_port for a flow that starts on the return side); the responder's on the other.
  const bool from_return_side = ch.return_net == in_net && ch.out_net != in_net;
  a.outcome = Outcome::kPending;
  a.device_port[initiator_side] = from_return_side ? ch.return_port : ch.out_port;
  a.device_port[1 - initiator_side] = from_return_side ? ch.out_port : ch.return_port;
  a.inspect_packets = static_cast<uint16_t>(ch.inspect_packets);
  if (in_mac) {
    std::memcpy(a.side_mac[initiator_side], in_mac, 6);
    a.side_net[initiator_side] = in_net;
  }  // else the tap sensor records that side from the first packet the device passes back to it
  a.pending_tsc = now_tsc;
  return a;
}

void ChainTracker::count(const Classifier& policy, const ChainAdmission& a) {
  using Outcome = ChainAdmission::Outcome;
  if (a.outcome == Outcome::kNone) return;
  ChainStats& st = stats_of(policy, a.chain);
  if (a.outcome == Outcome::kPending) st.pending.inc();
  else if (a.outcome == Outcome::kDenied) st.denied.inc();
  else st.bypassed.inc();
}

FlowState ChainTracker::admit_without_entry(const Verdict& v, const Classifier& policy) const {
  // No entry, so no state to verify: a pending flow cannot exist; treat as a failure
  // (fail-open: allowed, packet by packet, like any flow when the table is full).
  return policy.chains()[static_cast<size_t>(v.chain)].fail_open ? FlowState::kAllowed : FlowState::kDenied;
}

std::vector<uint64_t> ChainTracker::pending_by_chain(const Classifier& policy) const {
  std::vector<uint64_t> n(policy.chains().size());
  for (const Pending& p : pending_) {
    const FlowEntry& e = *p.entry;
    if (e.gen.load(std::memory_order_relaxed) != p.gen || e.state.load(std::memory_order_relaxed) != FlowState::kPending) continue;
    if (e.chain.chain >= 0 && static_cast<size_t>(e.chain.chain) < n.size()) ++n[static_cast<size_t>(e.chain.chain)];
  }
  return n;
}

void ChainTracker::check_health(const Classifier& policy, std::vector<int16_t>& down_open) {
  for (size_t i = 0; i < policy.chains().size(); ++i) {
    const CompiledChain& ch = policy.chains()[i];
    ChainStats& st = stats_[ch.name];
    const bool up = port_up_(ch.out_port) && port_up_(ch.return_port);
    if (!up && st.healthy && ch.fail_open) down_open.push_back(static_cast<int16_t>(i));
    if (up != st.healthy)
      spdlog::warn("chain {}: device {} (ports {}), new flows are {}", ch.name, up ? "back up" : "down",
                   ch.out_port == ch.return_port ? "out=return" : "out/return", up ? "inspected again" : ch.fail_open ? "allowed without inspection (fail-open)" : "denied (fail-closed)");
    st.healthy = up;
  }
}

bool ChainTracker::tick(const Classifier& policy, uint64_t now_tsc, std::vector<int16_t>& down_open) {
  if (now_tsc >= next_health_tsc_) {
    check_health(policy, down_open);
    next_health_tsc_ = now_tsc + tsc_hz_;
  }
  if (pending_.empty() || now_tsc < next_tick_tsc_) return false;
  next_tick_tsc_ = now_tsc + tsc_hz_ / 100;  // every 10 ms: timeouts are milliseconds apart
  bool changed = false;
  const uint64_t per_ms = tsc_hz_ / 1000;
  auto done = [&](Pending& p) {
    FlowEntry& e = *p.entry;
    if (e.gen.load(std::memory_order_relaxed) != p.gen) return true;  // removed meanwhile
    const int16_t chain = e.chain.chain;
    if (chain < 0 || static_cast<size_t>(chain) >= policy.chains().size()) return true;
    ChainStats& st = stats_of(policy, chain);
    FlowState s = e.state.load(std::memory_order_acquire);
    if (s == FlowState::kVerified) {
      const uint64_t us = e.chain.verify_us.load(std::memory_order_relaxed);
      st.verified.inc();
      st.verify_us_sum.add(us);
      st.verify_us_max = std::max(st.verify_us_max, us);
      return true;
    }
    if (s != FlowState::kPending) return true;
    const CompiledChain& ch = policy.chains()[static_cast<size_t>(chain)];
    if (now_tsc - e.chain.pending_tsc < uint64_t{ch.verify_timeout_ms} * per_ms) return false;
    const FlowState to = ch.fail_open ? FlowState::kViaDevice : FlowState::kDenied;
    if (!e.state.compare_exchange_strong(s, to, std::memory_order_acq_rel)) return false;  // verified just now: next tick
    st.timeouts.inc();
    (ch.fail_open ? st.via_device : st.denied).inc();
    changed = true;
    return true;
  };
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(), done), pending_.end());
  return changed;
}

}  // namespace ivs::policy
