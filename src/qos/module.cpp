// The QoS module (qos/module.hpp): its tables, its stages and the sums of their counters.
#include "qos/module.hpp"

#include <atomic>

#include "config/model.hpp"
#include "forward/tables.hpp"
#include "qos/egress_stage.hpp"
#include "qos/guard.hpp"

namespace ivs::qos {

QosModule::QosModule(const pipeline::ModuleEnv& env, std::shared_ptr<const QosTables> tables)
    : dp_(env.datapath), tables_(std::move(tables)), fwd_tables_(env.tables), ports_(env.port_slots()), vms_(env.cfg.vms.size()) {
  for (const auto& vm : env.cfg.vms) start_vms_.push_back(vm.name);
}

std::expected<std::function<void()>, std::string> QosModule::plan_reload(const config::Config& next) {
  // The guard counts per VM by its index in `vms`, in counters sized at start: those VMs
  // keep their place (they may change otherwise); VMs a reload adds after them are counted
  // with the senders that are not configured VMs, until a restart.
  if (!tables_->enabled()) return std::function<void()>{};
  bool kept = next.vms.size() >= start_vms_.size();
  for (size_t i = 0; kept && i < start_vms_.size(); ++i) kept = next.vms[i].name == start_vms_[i];
  if (!kept)
    return std::unexpected("vms: with qos on, the VMs configured at start keep their names and order (the QoS counters are "
                           "per VM, by position, sized at start); VMs may be added after them and removed again");
  return std::function<void()>{};
}

QosModule::~QosModule() = default;

std::expected<std::unique_ptr<pipeline::Module>, std::string> QosModule::create(const pipeline::ModuleEnv& env) {
  // Made even without a `qos` section: show.qos then says the guard is off.
  auto tables = QosTables::create(env.cfg);
  if (!tables) return std::unexpected(tables.error());
  auto mod = std::make_unique<QosModule>(env, std::shared_ptr<const QosTables>(std::move(*tables)));
  // A scheduler on each port of qos.egress, where there are ports to send on (the unit
  // rig has none: its outputs stay in the batches).
  if (!env.ports.empty())
    for (const auto& e : env.cfg.qos.egress) {
      const int p = env.tables.get()->port_index(e.port);
      if (p < 0) return std::unexpected("qos.egress: no port '" + e.port + "'");
      auto sched = Scheduler::create(e.port, e, *mod->tables_, env.socket);
      if (!sched) return std::unexpected(sched.error());
      mod->sched_by_port_.resize(mod->ports_, nullptr);
      mod->sched_by_port_[static_cast<size_t>(p)] = sched->get();
      mod->scheds_.push_back(std::move(*sched));
    }
  return std::unique_ptr<pipeline::Module>(std::move(mod));
}

pipeline::EgressQueue* QosModule::egress_queue(uint16_t port) const {
  return port < sched_by_port_.size() ? sched_by_port_[port] : nullptr;
}

namespace {
// Every packet the guard sees is counted in `seen` first (meters only count seen packets).
bool never_counted(const QosCounters& c) {
  for (const auto& vm : c.vms)
    for (const auto& n : vm.seen)
      if (n.get() != 0) return false;
  return true;
}
}  // namespace

std::unique_ptr<pipeline::Stage> QosModule::make_stage(pipeline::AttachPoint at) const {
  if (at != pipeline::AttachPoint::kFlow || !tables_->enabled()) return nullptr;
  // Made here, on the thread building the Forwarder (before its datapath thread starts):
  // the datapath never allocates for the guard.
  auto counters = std::make_shared<QosCounters>(vms_, tables_->meters().size());
  {
    std::lock_guard lock(mu_);
    // Counters whose Forwarder is gone and that add nothing to the sums: a trace's, and
    // any stage's that never saw a packet (a trace of an ARP or a dropped frame never
    // reaches the guard, so never marks itself traced: without this, every such trace
    // would leave its counters here for good). The datapath threads' stages live until
    // the datapath stops.
    std::erase_if(counters_, [](const auto& c) {
      return c.use_count() == 1 && (c->traced.load(std::memory_order_relaxed) || never_counted(*c));
    });
    counters_.push_back(counters);
  }
  return std::make_unique<GuardStage>(tables_, std::move(counters), ports_);
}

pipeline::TraceNamer QosModule::trace_namer() const {
  return [tables = tables_](std::string_view kind, int64_t index, uint32_t) -> std::optional<std::string> {
    const auto i = static_cast<size_t>(index);
    if (kind == "meter" && i < tables->meters().size()) return tables->meters()[i].cfg.name;
    if (kind == "class" && i < tables->classes().size()) return tables->classes()[i].name;
    return std::nullopt;
  };
}

void QosModule::make_stages(pipeline::StageSet& out) const {
  if (auto guard = make_stage(pipeline::AttachPoint::kFlow)) out.add(std::move(guard), {pipeline::AttachPoint::kFlow});
  if (!tables_->enabled() || !tables_->has_classes()) return;
  // Made here, on the thread building the Forwarder: the datapath never allocates.
  auto packets = std::make_shared<std::vector<Counter>>(tables_->classes().size());
  if (out.thread() != pipeline::StageSet::kNoThread) {
    std::lock_guard lock(mu_);
    class_packets_.push_back(packets);
  }
  out.add(std::make_unique<EgressClassStage>(tables_, sched_by_port_, std::move(packets)), {pipeline::AttachPoint::kEgress});
}

EgressSums QosModule::egress_sums() const {
  EgressSums s;
  s.class_packets.resize(tables_->classes().size());
  {
    std::lock_guard lock(mu_);
    for (const auto& c : class_packets_)
      for (size_t k = 0; k < s.class_packets.size() && k < c->size(); ++k) s.class_packets[k] += (*c)[k].get();
  }
  const auto ports = fwd_tables_.get();  // (a qos.egress port lives as long as the qos section: the same slot)
  for (size_t p = 0; p < sched_by_port_.size(); ++p)
    if (Scheduler* sc = sched_by_port_[p])
      s.ports.push_back({p < ports->port_count() ? ports->port_name(static_cast<uint16_t>(p)) : "", sc->rate_bps(), sc->backlog(), sc->stats()});
  return s;
}

GuardSums QosModule::sums() const {
  GuardSums s;
  s.vms.resize(vms_ + 1);
  s.meters.resize(tables_->meters().size());
  std::lock_guard lock(mu_);
  for (const auto& c : counters_) {
    GuardSums one;  // this stage's, added only when it is not a trace's
    one.vms.resize(s.vms.size());
    one.meters.resize(s.meters.size());
    for (size_t v = 0; v < one.vms.size() && v < c->vms.size(); ++v) {
      for (size_t d = 0; d < 64; ++d) one.vms[v].seen[d] = c->vms[v].seen[d].get();
      one.vms[v].mismatched = c->vms[v].mismatched.get();
      one.vms[v].rewritten = c->vms[v].rewritten.get();
      one.vms[v].meter_dropped = c->vms[v].meter_dropped.get();
      for (size_t k = 0; k < 3; ++k) one.vms[v].colour[k] = c->vms[v].colour[k].get();
    }
    for (size_t m = 0; m < one.meters.size(); ++m) {
      for (size_t k = 0; k < 3; ++k) one.meters[m].colour[k] = c->meters[m].colour[k].get();
      one.meters[m].dropped = c->meters[m].dropped.get();
      one.meters[m].remarked = c->meters[m].remarked.get();
    }
    // Pairs with the fence a trace's stage makes after setting `traced` and before it
    // counts: a count read above that a trace made means `traced` reads true here.
    std::atomic_thread_fence(std::memory_order_acquire);
    if (c->traced.load(std::memory_order_relaxed)) continue;
    for (size_t v = 0; v < s.vms.size(); ++v) {
      for (size_t d = 0; d < 64; ++d) s.vms[v].seen[d] += one.vms[v].seen[d];
      s.vms[v].mismatched += one.vms[v].mismatched;
      s.vms[v].rewritten += one.vms[v].rewritten;
      s.vms[v].meter_dropped += one.vms[v].meter_dropped;
      for (size_t k = 0; k < 3; ++k) s.vms[v].colour[k] += one.vms[v].colour[k];
    }
    for (size_t m = 0; m < s.meters.size(); ++m) {
      for (size_t k = 0; k < 3; ++k) s.meters[m].colour[k] += one.meters[m].colour[k];
      s.meters[m].dropped += one.meters[m].dropped;
      s.meters[m].remarked += one.meters[m].remarked;
    }
  }
  return s;
}

}  // namespace ivs::qos
