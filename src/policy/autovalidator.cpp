#include "policy/autovalidator.hpp"
#include "qos/flow_state.hpp"

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_ring_elem.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace ivs::policy {

using flow::FlowState;

Autovalidator::Autovalidator() {
  static std::atomic<unsigned> seq{0};  // ring names are global (tests build several)
  const std::string name = "ivs_autoval" + std::to_string(seq++);
  ring_ = rte_ring_create_elem(name.c_str(), sizeof(CacheHit), kRingSize, static_cast<int>(rte_socket_id()), RING_F_SC_DEQ);
  if (!ring_) throw std::runtime_error("autovalidator: cannot create its ring: " + std::string(rte_strerror(rte_errno)));
}

Autovalidator::~Autovalidator() { rte_ring_free(ring_); }

std::optional<std::string> Autovalidator::judge(const CacheHit& h, const flow::FlowEntry& e, const FlowDecision& fresh,
                                                const Classifier& policy) {
  const auto served = static_cast<FlowState>(h.state);
  if (!(h.key == e.key)) return fmt::format("the cache served flow {}'s entry", flow::to_string(e.key));
  if (h.direction > 1) return "direction out of range";
  const Verdict& v = fresh.verdict;
  auto say = [&](std::string_view why) {
    return fmt::format("cache served {} (rule #{}), decide() says {} by rule #{}: {}", flow::flow_state_name(served), e.rule,
                       config::policy_action_name(v.action), v.rule, why);
  };
  if (e.persisted) {  // kept by on_change: persist: its verdict is its old rule's, never a chain's
    if (flow::on_chain(served)) return say("a persisted flow on a chain");
  } else if (v.action == PolicyAction::kInspect) {
    // The states a flow of this chain can be in: pending on the device, verified, and the
    // chain's failure mode (device down at admission, or the verify timeout).
    if (e.rule != v.rule) return say("another rule");
    if (e.chain.chain != v.chain && served != FlowState::kAllowed && served != FlowState::kDenied) return say("another chain");
    const bool open = policy.chains()[static_cast<size_t>(v.chain)].fail_open;
    const bool ok = served == FlowState::kPending || served == FlowState::kVerified ||
                    (open ? served == FlowState::kViaDevice || served == FlowState::kAllowed : served == FlowState::kDenied);
    if (!ok) return say(open ? "not a state of a fail-open chain's flow" : "not a state of a fail-closed chain's flow");
  } else {
    if (served != state_for(v.action)) return say("another verdict");
    if (e.rule != v.rule) return say("another rule");
  }
  // The DSCP decision for the packet's direction, as revalidation computes it (the
  // sending VM is fixed by the flow's first packet).
  const qos::QosPlan& qp = policy.qos();
  if (qp.enabled()) {
    const FlowTuple t = [&] {
      Upcall u{};
      u.key = e.key;
      u.direction = e.initiator;
      u.network = e.network;
      u.pp.src_port = e.first_sport;
      u.pp.dst_port = e.first_dport;
      return tuple_of(u);
    }();
    const qos::Decision stored = qos::flow_decision(e, h.direction);
    const qos::Decision want = qp.decide(h.direction == e.initiator ? t : qp.reply_of(t), stored.vm);
    if (want.pack() != stored.pack())
      return fmt::format("DSCP decision of direction {}: cache {:#x}, decide() {:#x}", h.direction, stored.pack(), want.pack());
  }
  return std::nullopt;
}

void Autovalidator::mismatch(const CacheHit& h, const std::string& what, uint64_t now_tsc, uint64_t tsc_hz) {
  stats_.mismatch.fetch_add(1, std::memory_order_relaxed);
  if (now_tsc < next_log_tsc_) {
    ++unlogged_;
    return;
  }
  next_log_tsc_ = now_tsc + tsc_hz;  // at most one line a second
  spdlog::error("autovalidator: mismatch on flow {} (packet direction {}, port index {}): {}{}", flow::to_string(h.key), h.direction,
                h.in_port, what, unlogged_ ? fmt::format(" ({} more since the last line)", unlogged_) : "");
  unlogged_ = 0;
}

}  // namespace ivs::policy
