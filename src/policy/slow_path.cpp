#include "policy/slow_path.hpp"

#include "pipeline/trace_record.hpp"

#include <rte_cycles.h>
#include <rte_ring_elem.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "config/core_specs.hpp"
#include "qos/flow_state.hpp"

namespace ivs::policy {

using flow::FlowEntry;
using flow::FlowState;
using flow::on_chain;

namespace {
constexpr unsigned kBurst = 32;
constexpr size_t kAgeSlice = 65536;  // entries looked at per aging step
// flowEndReason values (RFC 5102; flowexport::EndReason), given with a removal.
constexpr uint8_t kIdleTimeout = 1, kActiveTimeout = 2, kEndOfFlow = 3, kForcedEnd = 4;

}  // namespace

SlowPath::SlowPath(flow::FlowTable& table, const config::FlowConfig& cfg, std::unique_ptr<Classifier> initial,
                   std::vector<rte_ring*> upcall_rings, std::vector<rte_ring*> reinject_rings, uint64_t tsc_hz,
                   std::function<bool(uint16_t)> port_up)
    : table_(table),
      cfg_(cfg),
      policy_(std::move(initial)),
      rule_hits_(policy_->rules().size() + 1),
      upcall_rings_(std::move(upcall_rings)),
      reinject_rings_(std::move(reinject_rings)),
      tsc_hz_(tsc_hz),
      chains_(tsc_hz, std::move(port_up)) {
  epoch_ = policy_->epoch();
}

SlowPath::~SlowPath() { stop(); }

void SlowPath::set_recorder(FlowRecorder* r) {
  recorder_ = r;
  table_.set_retire_hook([this](FlowEntry& e, uint8_t reason) {
    if (recorder_ && recorder_->wanted()) recorder_->record(e, table_.reported(e), reason ? reason : kForcedEnd, true, *policy_, now_s());
  });
}

void SlowPath::finish_records() {
  std::lock_guard lock(mutex_);
  const bool records = recorder_ && recorder_->wanted();
  const uint32_t now = now_s();
  table_.retire_all([&](FlowEntry& e) {
    if (records) recorder_->record(e, table_.reported(e), kForcedEnd, true, *policy_, now);
  });
}

void SlowPath::start() {
  running_ = true;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "ivs-policy");
    while (running_.load(std::memory_order_relaxed)) {
      if (run_once()) continue;
      // Nothing to do: sleep until a datapath thread queues an upcall (or a policy
      // arrives), waking on a timer for aging, chain timeouts and device health. No naps
      // first: each wake-up costs a context switch, and with naps of 20 us .. 1 ms the
      // thread took ~25 of them per new flow at 2000 flows/s (8% of a core; now 4%).
      wakeup_.set_asleep(true);
      if (!has_work()) {
        pollfd pfd{wakeup_.fd(), POLLIN, 0};
        poll(&pfd, 1, chains_.pending_now() || validator_ ? 10 : 100);
        wakeup_.drain();
      }
      wakeup_.set_asleep(false);
    }
  });
}

void SlowPath::stop() {
  running_ = false;
  wakeup_.notify();  // out of its sleep now, not at the next timer
  if (thread_.joinable()) thread_.join();
  // Packets still waiting in the rings go back to the pool.
  Upcall u[kBurst];
  for (auto* r : upcall_rings_) {
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst_elem(r, u, sizeof(Upcall), kBurst, nullptr)) > 0)
      for (unsigned i = 0; i < n; ++i) rte_pktmbuf_free(u[i].mbuf);
  }
}

std::optional<SlowPath::Converged> SlowPath::wait_converged(uint32_t epoch, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(converged_mutex_);
  if (!converged_cv_.wait_for(lock, timeout, [&] { return converged_.epoch >= epoch; })) return std::nullopt;
  return converged_;
}

void SlowPath::publish(std::unique_ptr<Classifier> next) {
  {
    std::lock_guard lock(pending_mutex_);
    pending_ = std::move(next);
  }
  wakeup_.notify();
}

bool SlowPath::has_work() {
  for (auto* r : upcall_rings_)
    if (rte_ring_count(r)) return true;
  std::lock_guard lock(pending_mutex_);
  return pending_ != nullptr;
}

uint32_t SlowPath::now_s() const { return static_cast<uint32_t>(rte_rdtsc() / tsc_hz_); }

FlowDecision SlowPath::decide(const Upcall& u, uint64_t now_tsc) const {
  FlowDecision d;
  const FlowTuple t = tuple_of(u);
  d.verdict = policy_->classify(t);
  d.epoch = policy_->epoch();
  d.state = state_for(d.verdict.action);
  if (d.verdict.action == PolicyAction::kInspect) {
    if (chains_.from_device(*policy_, d.verdict, u.in_port)) {
      d.as_device_sent = true;
      d.state = FlowState::kAllowed;
      return d;
    }
    // (no packet, as in the autovalidator's question about a known flow: plan() leaves the
    // initiator's MAC to the tap sensor)
    d.chain = chains_.plan(d.verdict, *policy_, u.key, u.mbuf ? rte_pktmbuf_mtod_offset(u.mbuf, const uint8_t*, 6) : nullptr,
                           u.network, u.direction, now_tsc);
    using Outcome = ChainAdmission::Outcome;
    switch (d.chain.outcome) {
      case Outcome::kPending: d.state = FlowState::kPending; break;
      case Outcome::kDenied: d.state = FlowState::kDenied; break;
      case Outcome::kBypassedShortcut: d.state = FlowState::kVerified; break;
      case Outcome::kBypassedAllowed:
      case Outcome::kNone: d.state = FlowState::kAllowed; break;
    }
  }
  if (policy_->qos().enabled() && u.mbuf) {
    d.has_qos = true;
    policy_->qos().decide_flow(t, u.direction, rte_pktmbuf_mtod(u.mbuf, const uint8_t*), d.qos);
  }
  return d;
}

FlowDecision SlowPath::decide_now(const Upcall& u) const {
  std::lock_guard lock(mutex_);
  FlowDecision d = decide(u, rte_rdtsc());
  if (!d.as_device_sent && table_.full()) {  // what install() will do: no entry, decided per packet
    d.table_full = true;
    d.state = state_without_entry(d);
  }
  return d;
}

static_assert(static_cast<uint8_t>(ChainAdmission::Outcome::kNone) == 0, "MissDecision::chain_outcome 0: no admission");
static_assert(static_cast<uint32_t>(ChainAdmission::Outcome::kPending) == pipeline::kChainAdmissionPending &&
                  static_cast<uint32_t>(ChainAdmission::Outcome::kDenied) == pipeline::kChainAdmissionDenied,
              "trace's kChainAdmission records the outcome as the formatter reads it (pipeline/trace_record.hpp)");

pipeline::MissDecision SlowPath::decide_miss(const Upcall& u, flow::FlowEntry& entry, uint32_t now_s) const {
  const FlowDecision d = decide_now(u);
  pipeline::MissDecision m;
  m.rule = d.verdict.rule;
  m.epoch = d.epoch;
  m.action = static_cast<uint8_t>(d.verdict.action);
  m.state = static_cast<uint8_t>(d.state);
  m.as_device_sent = d.as_device_sent;
  m.verdict_chain = d.verdict.chain;
  m.chain_outcome = static_cast<uint8_t>(d.chain.outcome);
  m.chain = d.chain.chain;
  m.table_full = d.table_full;
  if (d.table_full && d.has_qos) m.qos = d.qos[u.direction].pack();
  if (!d.as_device_sent && !d.table_full) fill_entry(entry, u, d, now_s);  // as install() fills it
  return m;
}

FlowState SlowPath::install(Upcall& u, const FlowDecision& d, uint32_t now) {
  FlowEntry* e = table_.insert(u.key, [&](FlowEntry& n) { fill_entry(n, u, d, now); });
  if (e) {
    stats_.installed.inc();
    chains_.count(*policy_, d.chain);
    if (d.state == FlowState::kPending) chains_.track(e);
    return d.state;
  }
  if (stats_.table_full.get() % 10000 == 0)
    spdlog::warn("flow table full ({} flows): new flows are decided per packet; raise flows.table_size", table_.capacity());
  stats_.table_full.inc();
  if (d.has_qos) u.qos = d.qos[u.direction].pack();  // no entry to hold it: the packet carries it back
  // No entry, so no chain state to follow: an inspected flow is treated as a failure.
  return state_without_entry(d);
}

void SlowPath::handle(Upcall& u, uint32_t now, uint64_t now_tsc) {
  stats_.upcalls.inc();
  FlowState state;
  if (FlowEntry* e = table_.find(u.key)) {  // installed meanwhile (an earlier packet of the same flow)
    stats_.already_known.inc();
    state = e->state.load(std::memory_order_acquire);
  } else {
    const FlowDecision d = decide(u, now_tsc);
    if (d.as_device_sent) {
      // A flow's first packet from the device itself (e.g. in flight across a reload): it
      // is delivered as the device sent it, and the flow starts when a VM sends.
      u.verdict = static_cast<uint8_t>(FlowState::kAllowed);
      return;
    }
    rule_hits_[static_cast<size_t>(d.verdict.rule + 1)].inc();
    state = install(u, d, now);
  }
  // On a chain the datapath needs the entry (device ports, sides): it looks it up again.
  u.verdict = static_cast<uint8_t>(state);
}

bool SlowPath::run_once() {
  bool worked = false;
  const uint32_t now = now_s();
  std::unique_ptr<Classifier> next;
  {
    std::lock_guard lock(pending_mutex_);
    next = std::move(pending_);
  }
  if (next) {
    const uint64_t t0 = rte_rdtsc();
    const uint64_t revalidated0 = stats_.revalidated.get(), changed0 = stats_.changed.get(),
                   persisted0 = stats_.persisted.get(), removed0 = stats_.removed_on_change.get();
    std::unique_ptr<Classifier> old;
    {
      std::lock_guard lock(mutex_);
      old = std::move(policy_);
      policy_ = std::move(next);
      rule_hits_ = std::vector<Counter>(policy_->rules().size() + 1);
      epoch_ = policy_->epoch();
      revalidate(*old);
      chains_.check_health_soon();
    }
    last_convergence_s_ = static_cast<double>(rte_rdtsc() - t0) / static_cast<double>(tsc_hz_);
    {  // only now may a reload say "applied, flows revalidated in X ms"
      std::lock_guard lock(converged_mutex_);
      converged_ = Converged{epoch_.load(), last_convergence_s_.load()};
    }
    converged_cv_.notify_all();
    spdlog::info("policy epoch {}: {} rules, {} flows revalidated ({} changed, {} kept by persist, {} removed) in {:.3f} ms",
                 policy_->epoch(), policy_->rules().size(), stats_.revalidated.get() - revalidated0,
                 stats_.changed.get() - changed0, stats_.persisted.get() - persisted0,
                 stats_.removed_on_change.get() - removed0, last_convergence_s_.load() * 1e3);
    worked = true;
  }
  {  // devices' health before new flows are admitted; pending flows' timeouts
    std::lock_guard lock(mutex_);
    std::vector<int16_t> down_open;
    worked |= chains_.tick(*policy_, rte_rdtsc(), down_open);
    if (!down_open.empty()) worked |= forget_device_flows(down_open);
  }
  for (size_t r = 0; r < upcall_rings_.size(); ++r) {
    Upcall u[kBurst];
    const unsigned n = rte_ring_sc_dequeue_burst_elem(upcall_rings_[r], u, sizeof(Upcall), kBurst, nullptr);
    if (n == 0) continue;
    worked = true;
    const uint64_t t0 = rte_rdtsc();
    {
      std::lock_guard lock(mutex_);
      const uint64_t now_tsc = rte_rdtsc();
      for (unsigned i = 0; i < n; ++i) handle(u[i], now, now_tsc);
    }
    const unsigned sent = rte_ring_sp_enqueue_burst_elem(reinject_rings_[r], u, sizeof(Upcall), n, nullptr);
    stats_.reinjected.add(sent);
    for (unsigned i = sent; i < n; ++i) {
      stats_.reinject_full.inc();
      rte_pktmbuf_free(u[i].mbuf);
    }
    stats_.busy_cycles.add(rte_rdtsc() - t0);
  }
  if (validator_) {
    std::lock_guard lock(mutex_);
    worked |= validate_cache_hits(rte_rdtsc());
  }
  if (now != last_age_s_) {
    std::lock_guard lock(mutex_);
    worked |= age_slice(now);
  }

  {
    std::lock_guard lock(mutex_);
    table_.reclaim();
  }
  return worked;
}

// A fail-open chain's device went down: its flows still waiting for it or kept on it
// would go nowhere; forget them so that their next packet is decided afresh (bypassed).
bool SlowPath::forget_device_flows(const std::vector<int16_t>& chains) {
  std::vector<FlowEntry*> remove;
  table_.for_each([&](FlowEntry& e) {
    const FlowState s = e.state.load(std::memory_order_relaxed);
    if ((s == FlowState::kPending || s == FlowState::kViaDevice) &&
        std::find(chains.begin(), chains.end(), e.chain.chain) != chains.end())
      remove.push_back(&e);
  });
  for (FlowEntry* e : remove) table_.remove(e, kForcedEnd);
  if (!remove.empty()) spdlog::info("{} flow(s) of a fail-open chain whose device is down forgotten: their next packets bypass it", remove.size());
  return !remove.empty();
}

bool SlowPath::age_slice(uint32_t now) {
  std::vector<FlowEntry*> expired;
  // Flow records: a flow still running past its active timeout reports what it did since
  // its last record (the same thread removes flows, so a record and an expiry never race).
  const bool records = recorder_ && recorder_->wanted();
  const uint32_t active_s = records ? recorder_->active_timeout_s() : 0;
  const flow::IdleTimeouts timeouts = config::idle_timeouts(cfg_);
  const size_t total = table_.for_range(age_cursor_, age_cursor_ + kAgeSlice, [&](FlowEntry& e) {
    const uint32_t idle = now - e.last_used_s.load(std::memory_order_relaxed);
    if (idle > flow::idle_timeout(e, timeouts)) expired.push_back(&e);
    else if (records && now - (e.reported_s ? e.reported_s : e.created_s) >= active_s)
      recorder_->record(e, table_.reported(e), kActiveTimeout, false, *policy_, now);
  });
  for (FlowEntry* e : expired) {
    const uint8_t f = e->tcp_flags[0].load(std::memory_order_relaxed) | e->tcp_flags[1].load(std::memory_order_relaxed);
    table_.remove(e, e->key.proto == 6 && (f & (flow::kTcpFin | flow::kTcpRst)) ? kEndOfFlow : kIdleTimeout);
  }
  stats_.expired.add(expired.size());
  age_cursor_ += kAgeSlice;
  if (age_cursor_ >= total) {  // a full pass done: next pass in the next second
    age_cursor_ = 0;
    last_age_s_ = now;
  }
  return !expired.empty() || age_cursor_ != 0;  // a pass in progress goes on without sleeping
}

void SlowPath::restore_qos(FlowEntry& e, const FlowTuple& t) const {
  // As a fresh decision (QosPlan::decide_flow): each direction's sender VM found again in
  // this config by its IPv4 address (no frame here: a VM known by its MAC only is no VM,
  // -1); nothing the file held is used (a VM index from it could be out of this config).
  const qos::QosPlan& qp = policy_->qos();
  qos::Decision out[2];
  if (qp.enabled()) qp.decide_flow(t, e.initiator, nullptr, out);
  for (uint8_t d = 0; d < 2; ++d) qos::set_flow_decision(e, d, out[d]);
}

void SlowPath::revalidate(const Classifier& old_policy) {
  // Every flow is decided again under the new policy, from its first packet's direction.
  // A flow whose old rule says on_change: persist keeps its verdict.
  std::vector<FlowEntry*> remove;
  const uint32_t epoch = policy_->epoch();
  table_.for_each([&](FlowEntry& e) {
    stats_.revalidated.inc();
    Upcall u{};
    u.key = e.key;
    u.direction = e.initiator;
    u.network = e.network;
    u.pp.src_port = e.first_sport;
    u.pp.dst_port = e.first_dport;
    const FlowTuple t = tuple_of(u);
    const Verdict v = policy_->classify(t);
    const FlowState now_state = e.state.load(std::memory_order_relaxed);
    // DSCP decisions follow the new epoch whatever happens to the verdict. The sender VM's
    // index is kept: with qos on, a reload keeps the VMs configured at start in their
    // places (qos/module.cpp refuses otherwise), and the index only picks per-VM counters,
    // in which VMs added later count as "(not a VM)" whatever their index.
    const qos::QosPlan& qp = policy_->qos();
    const FlowTuple reply = qp.reply_of(t);
    for (uint8_t d = 0; d < 2; ++d) {
      const qos::Decision old_d = qos::flow_decision(e, d);
      const qos::Decision next = qp.enabled() ? qp.decide(d == e.initiator ? t : reply, old_d.vm) : qos::Decision{};
      qos::set_flow_decision(e, d, next);
    }
    // A flow kept by persist at an earlier reload still has that older policy's rule index,
    // which means nothing in old_policy (it was looked up there, and a flow whose index
    // landed on a rule without persist was cut at the second reload): its rule said
    // persist, so it is kept again.
    const bool persist = e.persisted || (e.rule >= 0 && static_cast<size_t>(e.rule) < old_policy.rules().size() &&
                                         old_policy.rules()[static_cast<size_t>(e.rule)].persist);
    // Unchanged: the same verdict; for inspected flows, the same chain, defined the same.
    const bool same = v.action == PolicyAction::kInspect
                          ? on_chain(now_state) && e.chain.chain >= 0 &&
                                static_cast<size_t>(e.chain.chain) < old_policy.chains().size() &&
                                old_policy.chains()[static_cast<size_t>(e.chain.chain)] == policy_->chains()[static_cast<size_t>(v.chain)]
                          : state_for(v.action) == now_state;
    if (same) {
      e.rule = v.rule;
      e.epoch = epoch;
      // The new policy gives the same verdict: an ordinary flow of its new rule again, so
      // `persisted` keeps meaning "its rule index is an older policy's" (the views rely on it).
      e.persisted = false;
      if (v.action == PolicyAction::kInspect) e.chain.chain = v.chain;
      return;
    }
    if (persist && !on_chain(now_state)) {  // chain flows follow their chain (below)
      stats_.persisted.inc();
      e.persisted = true;
      e.epoch = epoch;
      return;
    }
    stats_.changed.inc();
    if (v.action == PolicyAction::kAllow || v.action == PolicyAction::kInspect || on_chain(now_state)) {
      // Now allowed or inspected, or leaving a chain: forget the entry; the next packet is
      // decided afresh (an inspected flow starts pending again; a shortcut flow is no
      // longer shortcut).
      remove.push_back(&e);
    } else {
      e.state.store(state_for(v.action), std::memory_order_relaxed);
      e.rule = v.rule;
      e.epoch = epoch;
    }
  });
  for (FlowEntry* e : remove) table_.remove(e, kForcedEnd);
  stats_.removed_on_change.add(remove.size());
}

}  // namespace ivs::policy
