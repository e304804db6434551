#pragma once
// The QoS guard as a module (pipeline/module.hpp; docs/qos.md). What the module gives the
// core: the guard on the way in, its stage after the flow lookup (AttachPoint::kFlow,
// qos/guard.hpp: DSCP seen vs assigned, rewrite under enforce, mismatch samples, meters);
// the way out, its stage at the egress point (AttachPoint::kEgress, qos/egress_stage.hpp:
// class by DSCP, counted, tagged for the port's scheduler) and a scheduler per port of
// qos.egress (qos/scheduler.hpp), which the core sends those ports' batches to and the
// polling thread drains (Module::egress_queue, pipeline/egress_queue.hpp); and the names
// trace shows for meters and classes. It owns its tables (classes, meters: compiled from
// the config once, they change only with a restart), the schedulers and the stages'
// counters, which it sums for `ivctl show qos` (show.qos) and the QoS /metrics families
// (qos/control.cpp). The per-flow state is the flow entry's opaque slot, read through
// qos/flow_state.hpp; the assignments (qos.assign) are compiled into the policy (QosPlan)
// and reload with it, and show.qos reads them from the Datapath's config, which a reload
// updates.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/module.hpp"
#include "qos/qos_counters.hpp"
#include "qos/qos_tables.hpp"
#include "qos/scheduler.hpp"

namespace ivs::qos {

// The way out, summed for show.qos and /metrics: packets out by class over the datapath
// threads' egress stages, and each scheduled port's queues.
struct EgressSums {
  std::vector<uint64_t> class_packets;
  struct Port {
    std::string port;
    uint64_t rate_bps = 0;
    uint32_t backlog = 0;
    std::vector<Scheduler::ClassStats> classes;
  };
  std::vector<Port> ports;  // the scheduled ones, in port order
};

class QosModule final : public pipeline::Module {
 public:
  static constexpr std::string_view kName = "qos";
  // Bound of show.qos's `limit` (the answer is built in memory whole).
  static constexpr uint64_t kMaxMismatchLimit = 1000;
  QosModule(const pipeline::ModuleEnv& env, std::shared_ptr<const QosTables> tables);
  ~QosModule() override;
  static std::expected<std::unique_ptr<pipeline::Module>, std::string> create(const pipeline::ModuleEnv& env);
  std::string_view name() const noexcept override { return kName; }
  // The guard's stage after the flow lookup, with a `qos` section; none otherwise.
  std::unique_ptr<pipeline::Stage> make_stage(pipeline::AttachPoint at) const override;
  // The guard (make_stage) and, with classes, the class stage at the egress point, whose
  // counters are summed when `out` is a datapath thread's.
  void make_stages(pipeline::StageSet& out) const override;
  // A port of qos.egress: its scheduler (made with the module, when there are ports: not
  // in the unit rig).
  pipeline::EgressQueue* egress_queue(uint16_t port) const override;
  // show.qos, when there is a datapath to read (not in the unit rig).
  void add_control_methods(const pipeline::AddControlMethod& add) override;
  std::string metrics() const override;
  // A reload's VMs: those configured at start keep their place (the guard's per-VM counters
  // are by position, sized at start); others may come and go.
  std::expected<std::function<void()>, std::string> plan_reload(const config::Config& next) override;
  // `ivctl trace`'s names of meters and classes (the assignments are the policy's).
  pipeline::TraceNamer trace_namer() const override;

  const QosTables& tables() const { return *tables_; }
  // The guard's counters summed over the stages of the datapath threads (not trace's).
  GuardSums sums() const;
  // The way out: packets by class, the schedulers' queues (control thread).
  EgressSums egress_sums() const;
  // `ivctl show qos`: assignments, per-VM DSCP counters, meters, classes, scheduled ports,
  // and the `mismatch_limit` most recent mismatching flow directions.
  nlohmann::json view(size_t mismatch_limit) const;
  // How many stages' counters it keeps (tests: traces must not pile up).
  size_t counter_sets() const {
    std::lock_guard lock(mu_);
    return counters_.size();
  }

 private:
  const pipeline::Datapath* dp_;
  std::shared_ptr<const QosTables> tables_;
  const pipeline::SharedTables& fwd_tables_;  // the forwarding tables now (the ports' names by slot)
  size_t ports_ = 0, vms_ = 0;  // ports_: the port table's slots (the guard's meters per ingress slot)
  std::vector<std::string> start_vms_;  // the VMs' names at start: their counters' slots
  std::vector<std::unique_ptr<Scheduler>> scheds_;  // one per qos.egress port
  std::vector<Scheduler*> sched_by_port_;           // by slot (empty: none)
  // Each stage's counters, in the order the stages were made. Under mu_: made on the
  // threads building Forwarders, summed on control threads.
  mutable std::mutex mu_;
  mutable std::vector<std::shared_ptr<QosCounters>> counters_;
  // The datapath threads' egress stages' packets by class (a trace's are never summed
  // and not kept here).
  mutable std::vector<std::shared_ptr<std::vector<Counter>>> class_packets_;
};

}  // namespace ivs::qos
