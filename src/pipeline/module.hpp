#pragma once
// A job as a module (issue 17): the core runs the datapath threads, the flow cache and
// forwarding; a job (the host-VM channel, flow export, ...) lives in its own folder and
// plugs itself in here, so that the core never names it. A module provides:
//
//   create      from the config, given by the builder (make_modules), which passes it on
//               unread: the core only forward-declares config::Config
//   start/stop  its threads: started before the datapath threads, stopped after them
//               (the policy thread is the policy module's, registered last: started
//               last, stopped first)
//   stages      per datapath thread, at a named attach point of the burst pipeline
//               (AttachPoint); a stage is called once per burst with the packets that
//               reached its point, never once per packet (no virtual call per packet);
//               at kPoll once per loop iteration of a datapath thread, for its work
//               between bursts
//   egress      a port's output queue (egress_queue: the QoS schedulers by class), sent
//               to and drained by the core once per burst (pipeline/egress_queue.hpp)
//   reload      plan_reload(): check a new config and say how it would apply, change nothing
//   upcalls     upcall_handler(): the job that answers the datapath's upcalls (the policy
//               module only; pipeline/upcall_handler.hpp), found once by the Datapath
//   follow      another module's state: found in create among those made before it
//               (find_module), subscribed to there (the flow records: the mirror set)
//   control     its ivctl methods (JSON in, Result<JSON> out) and its /metrics lines,
//               generated from its declared counters (common/counter_schema.hpp)
//   reasons     its drop reasons and trace events, declared in its folder and named in
//               its ModuleInfo (common/drop_reason.hpp, pipeline/trace_event.hpp):
//               numbered after the core's when the tables are built, whether or not the
//               config makes the module (ivctl and /metrics list every reason); and the
//               names of what its trace records number (trace_namer: the QoS meters and
//               classes), so that the trace formatter names no job's types
//
// Modules are listed once, in order, in src/modules/registry.cpp (outside the core):
// creation, start and the /metrics text follow that order; stop runs in reverse.
//
// Threads: create, start, stop, plan_reload, control methods and metrics on control
// threads; make_stage and make_stages on the thread building a Forwarder; a Stage only on the datapath
// thread (or trace forwarder) that owns it.
#include <array>
#include <cstdint>
#include <expected>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/drop_reason.hpp"
#include "pipeline/shared_tables.hpp"
#include "pipeline/trace_event.hpp"

struct rte_mbuf;
struct rte_ring;

namespace ivs::config {
struct Config;  // opaque here: the core hands it on, jobs read it
}
namespace ivs::forward {
class ForwardingTables;
}
namespace ivs::flow {
class FlowTable;
}
namespace ivs::pipeline {

class Datapath;
class EgressQueue;
class Forwarder;
class Module;
class UpcallHandler;
struct Burst;
struct TxMeta;

// Where a stage runs in Forwarder::process (forwarder.hpp shows the whole pipeline).
enum class AttachPoint : uint8_t {
  // Each frame as received, before anything else looks at it (after the rx count):
  // malformed frames, frames of a VLAN the port does not carry, all of them. Only
  // b.pkts[j].m and .in_port are set (no parse, no network). A stage here observes: it may
  // read a frame, never change, drop or consume it (the Forwarder does not close gaps
  // after it). Run for `ivctl trace`'s simulated packets too (Forwarder::simulating():
  // the mirrors judge them there; a stage counting what the switch received skips them).
  kReceive,
  // After parse, the frame's network and the VLAN pop; before learning and
  // the flow lookup. The packets' network and parse are set; a stage may consume packets
  // (drop them with a reason, or answer them with Forwarder::emit) and keeps the others.
  kIngress,
  // At the flow lookup, before the verdict and before a miss goes up to the policy
  // thread: every packet that looked its flow up (b.policy[t], t < b.n_policy), with its
  // entry b.flow[j].entry (nullptr: a miss, the flow's first packet, sent up next; or a
  // trace's miss) and its direction b.keys[j].direction; b.flow[j]'s other fields are not
  // set yet. Through Stage::run_lookup. An observer: it may read a packet, never change,
  // drop or consume it. For what must see a flow's first packet as it goes up, which
  // kFlow does not (the mirrors' flow taps: a policy match selects the flow, its first
  // packet copied too). ICMP errors that follow the flow they quote (b.related[j]) are
  // not for it.
  kLookup,
  // After the flow lookup, before the verdict: the packets that found their flow (a cache
  // or flow-table hit), that the policy thread re-injects with their new flow's verdict,
  // and `ivctl trace`'s simulated packet decided on a miss: the same stages for all three
  // (one decision path). Packet j of the burst is b.flowed[t] (t < b.n_flowed), with its
  // flow b.flow[j] (entry or none, state, from the chain's device, the slot word of an
  // entry-less flow) and its direction b.keys[j].direction. A stage may read and update
  // the entry's module slot (flow::FlowSlot), change the packet, or drop it with a reason
  // (Forwarder::drop, then b.pkts[j].m = nullptr: it then gets no verdict). ICMP errors
  // that follow the flow they quote and packets sent up to the policy thread are not here.
  kFlow,
  // Each output port's packets about to be transmitted, with what travels with them
  // (TxMeta: who made the packet, the network it leaves in): after emit() queued them
  // (VLAN pushed), before tx. Run once per port per burst over the packets emit() queued
  // in that burst (and before a full batch is sent early), through Stage::run_egress;
  // also for `ivctl trace`'s simulated packets, whose outputs are never sent. A stage here
  // may read a packet and set what the port's egress queue reads of it (the QoS class
  // stage: its rte_sched queue in the mbuf's sched field, qos/egress_stage.hpp), never
  // change its data or drop it.
  kEgress,
  // Between bursts: once per loop iteration of a datapath thread (Pmd::run, after the rx
  // and reinject polls, before the tx flush), through Stage::poll, for a module's own
  // per-thread work (the mirrors: copies the broker queued for tool ports this thread
  // transmits). Only the datapath thread's loop calls it (Forwarder::poll); never for
  // ivctl trace (unit tests call Forwarder::poll themselves).
  kPoll,
};
inline constexpr size_t kAttachPoints = 6;  // kReceive..kPoll: the enum's values are 0..5
static_assert(static_cast<size_t>(AttachPoint::kPoll) + 1 == kAttachPoints, "kPoll is the last point");

// What an egress stage sees of one output port's batch: n packets and their TxMeta.
struct TxView {
  uint16_t port;
  rte_mbuf* const* pkts;
  const TxMeta* meta;
  uint16_t n;
};

// A module's per-thread part at one attach point. Owned by the Forwarder that asked for
// it; run by its thread only. run() gets the whole burst at the point: packet j of `b` is
// b.pkts[j] (mbuf, ingress port, network) with its parse b.pp[j]; it consumes a packet by
// dropping or emitting it through `f` and setting b.pkts[j].m = nullptr. No allocation,
// lock or log: the datapath's rules hold here.
// A stage at kEgress overrides run_egress instead: called with each port's view; one at
// kPoll overrides poll.
class Stage {
 public:
  virtual ~Stage() = default;
  virtual void run(Forwarder& /*f*/, Burst& /*b*/) noexcept {}
  virtual void run_egress(Forwarder& /*f*/, const TxView& /*out*/) noexcept {}
  // kLookup: the burst's packets at the flow lookup (AttachPoint::kLookup says which).
  virtual void run_lookup(Forwarder& /*f*/, const Burst& /*b*/) noexcept {}
  // At the start of every burst of its Forwarder (received, re-injected, simulated),
  // before any point runs, for a stage added with `begins_bursts` (StageSet::add): what
  // every point of the burst must see alike (the mirrors: the published mirror set, loaded
  // once, so that every tap of the burst judges against one set).
  virtual void begin_burst(const Forwarder& /*f*/) noexcept {}
  // kPoll: this thread's work between bursts; returns the packets it moved (0: nothing
  // done, the thread may nap; they count as the thread's packets, as received ones do).
  // Packets it sends go through the Forwarder (Forwarder::send_unstaged), flushed by the
  // thread after the poll.
  virtual unsigned poll(Forwarder& /*f*/) noexcept { return 0; }
  // At kReceive and kEgress, asked once per burst before the stage would run: false skips
  // it for this burst (and, when no stage there is active, the point costs nothing more:
  // no burst view is filled, no call made per port). For a stage that exists for what the
  // control plane may add at runtime and has nothing to do now (the mirrors with no mirror
  // set published). Must be cheap: one load.
  virtual bool active(const Forwarder& /*f*/) const noexcept { return true; }
  // Whether it runs on the bursts of `port` (asked once per port when the Forwarder is
  // built): a port none of whose stages runs keeps the fast path (no second pass).
  virtual bool runs_on(uint16_t /*port*/) const noexcept { return true; }
};

// A Forwarder's stages: each owned once, each run at the points it was added at, in
// registration order of the modules. One object at several points shares its per-thread
// state between them (the mirrors: the rx taps at kReceive and the tx taps at kEgress
// count into one set of counters, with one 1-in-N sampling state). `thread`: the
// datapath thread the Forwarder belongs to, or kNoThread (ivctl trace's, a test's): a
// module sums the counters of datapath threads' stages only.
class StageSet {
 public:
  static constexpr unsigned kNoThread = ~0u;
  explicit StageSet(unsigned thread = kNoThread) : thread_(thread) {}
  unsigned thread() const noexcept { return thread_; }
  // `begins_bursts`: its begin_burst() is called at the start of each burst.
  void add(std::unique_ptr<Stage> st, std::initializer_list<AttachPoint> at, bool begins_bursts = false) {
    for (AttachPoint p : at) by_point_[static_cast<size_t>(p)].push_back(st.get());
    if (begins_bursts) begin_burst_.push_back(st.get());
    owned_.push_back(std::move(st));
  }
  const std::vector<Stage*>& at(AttachPoint p) const noexcept { return by_point_[static_cast<size_t>(p)]; }
  // The stages to tell of a new burst (usually none: one empty loop per burst).
  const std::vector<Stage*>& begin_burst_stages() const noexcept { return begin_burst_; }
  // The first stage of type T (tests).
  template <class T>
  T* find() const noexcept {
    for (const auto& st : owned_)
      if (auto* t = dynamic_cast<T*>(st.get())) return t;
    return nullptr;
  }

 private:
  unsigned thread_;
  std::vector<std::unique_ptr<Stage>> owned_;
  std::array<std::vector<Stage*>, kAttachPoints> by_point_;
  std::vector<Stage*> begin_burst_;
};

// What a module is created from. `cfg` is the validated config; `tables` the compiled
// forwarding tables as they are now (port and network names and indices; a port's index
// is its slot in the port table): the start's, then those of each reload that adds or
// removes ports, so a module takes a snapshot where it reads them (SharedTables::get) and
// keeps no reference to one; `port_capacity` the port table's slots (switch.max_ports):
// a module sizes its per-port state to them at start (port_slots()), so that a port
// added into a free slot later needs no reallocation; `datapath` the running datapath
// the module's views read (ports, counters, its config) and whose RCU grace period a
// module waits for before freeing what it unpublished (Datapath::synchronize: the mirror
// set): nullptr in the unit rig, which has no ports. `earlier`: the modules made before
// this one (set by make_modules; find_module), for a module that follows another's state
// (the flow records: the mirror module's published set; the policy: the flow recorder).
// `threads`, `socket` and `ports`: the datapath threads a module's own threads talk to
// (the mirror broker: a ring to and from each), the NUMA socket to allocate on, and each
// port's name, ethdev id and polling thread (0, -1, empty: the unit rig).
// The core's side of the policy (the policy module, policy/module.hpp): `flows` the flow
// table, `upcall_rings` and `reinject_rings` (one pair per datapath thread; the unit
// rig's one pair), `port_up` a port's link state (by port index; empty: always up).
struct ModulePort {
  std::string name;
  uint16_t ethdev_id = 0;
  unsigned thread = 0;  // the datapath thread that polls and transmits on it
};
struct ModuleEnv {
  const config::Config& cfg;
  const SharedTables& tables;
  Datapath* datapath = nullptr;
  unsigned threads = 0;
  int socket = -1;
  std::vector<ModulePort> ports{};
  flow::FlowTable* flows = nullptr;
  std::vector<rte_ring*> upcall_rings{}, reinject_rings{};
  std::function<bool(uint16_t)> port_up{};
  const std::vector<std::unique_ptr<Module>>* earlier = nullptr;
  uint16_t port_capacity = 0;  // 0 (the unit rig, tests): the start tables' port count
  size_t port_slots() const;
};

// A control method: params (a JSON object) -> its result or an ivs::Error by value
// (common/error.hpp; the control server answers it as {"error", "code", "path"}). No
// exception crosses the control API; the server's guard only catches a library's.
using ControlMethod = std::function<Result<nlohmann::json>(const nlohmann::json&)>;
using AddControlMethod = std::function<void(const std::string& name, ControlMethod method)>;

class Module {
 public:
  virtual ~Module() = default;
  virtual std::string_view name() const noexcept = 0;
  // Before the datapath threads start (in registration order: the policy module's
  // thread last). An error is logged, the datapath runs without the module's thread (as
  // the channel service always did).
  virtual std::expected<void, std::string> start() { return {}; }
  // After the datapath threads have stopped, in reverse registration order: the policy
  // module first (its thread stops and ends every flow's records), the others after it.
  virtual void stop() {}
  // This thread's stage at `at`, or nullptr (nothing to do there with this config).
  virtual std::unique_ptr<Stage> make_stage(AttachPoint /*at*/) const { return nullptr; }
  // This thread's stages, added to `out`: by default make_stage() at each point, one
  // object per point. A module whose stages share per-thread state overrides it and adds
  // one object at several points (StageSet::add).
  virtual void make_stages(StageSet& out) const;
  // A frame of a VLAN its port does not carry is dropped as l2.ingress.vlan_not_allowed,
  // or, for a VLAN a module claims here, with the module's reason (the channel: a
  // channel's VLAN on a port its mapping does not bind). Asked once per Forwarder, on
  // the thread building it; the Forwarder keeps a table by VLAN (no call per packet).
  using ClaimVlan = std::function<void(uint16_t vlan, DropReason why)>;
  virtual void claim_vlans(const ClaimVlan& /*claim*/) const {}
  // A policy reload to `next`: an error refuses the whole reload (nothing applied); else
  // the function that applies the module's part (empty: nothing to do), called only when
  // every part of the reload was planned.
  virtual std::expected<std::function<void()>, std::string> plan_reload(const config::Config& /*next*/) {
    return std::function<void()>{};
  }
  // The job that answers the upcalls (pipeline/upcall_handler.hpp: the policy module), or
  // nullptr. Asked once, when the Datapath is built.
  virtual UpcallHandler* upcall_handler() noexcept { return nullptr; }
  // Whether its part of the config changes at runtime as a whole (the mirrors): then a
  // plan_reload error is a conflict with the running state, answered as it is; else it
  // names a part that needs a restart, and the reload's answer says which parts do not.
  virtual bool changes_at_runtime() const noexcept { return false; }
  // The names of the slots its trace records of event `e` carry (index: the record's slot;
  // empty: none of its records): the formatter names a mirror's copy with them.
  virtual std::vector<std::string> trace_slot_names(TraceEvent /*e*/) const { return {}; }
  // Its ivctl methods; its lines of /metrics (Prometheus text, whole families).
  virtual void add_control_methods(const AddControlMethod& /*add*/) {}
  virtual std::string metrics() const { return ""; }
  // The queue `port`'s output goes through instead of a tx burst (the QoS module's
  // scheduler on a port of qos.egress), or nullptr. Asked once per port by the builder
  // (Datapath::create), after create; it lives as long as the module. At most one
  // module gives a port one.
  virtual EgressQueue* egress_queue(uint16_t /*port*/) const { return nullptr; }
  // Names of what its trace records number, for `ivctl trace` (TraceNamer,
  // pipeline/trace_event.hpp); empty: it numbers nothing. Asked on a control thread each
  // time a trace is formatted; the namer may keep what it names alive while it is used.
  virtual TraceNamer trace_namer() const { return {}; }
};

// One registered job: its name, how to make it (nullptr module: the job has nothing to do
// with this config; an error refuses the start), and its drop reasons and trace events
// (nullptr: none), numbered when the tables are built (drop_reasons(),
// module_trace_events()), before the first module is made.
struct ModuleInfo {
  std::string_view name;
  std::expected<std::unique_ptr<Module>, std::string> (*create)(const ModuleEnv& env);
  DropReasonBlock* drop_reasons = nullptr;
  TraceEventBlock* trace_events = nullptr;
};
// Every job, in order (src/modules/registry.cpp: the one list a new job adds a line to).
const std::vector<ModuleInfo>& registered_modules();

// The builder's loop, shared by the daemon's Datapath::create and the unit rig: every
// registered module made from `env`, in order.
std::expected<std::vector<std::unique_ptr<Module>>, std::string> make_modules(const ModuleEnv& env);
// The module named `name` among those made before the one `env` is given to (nullptr: none).
Module* find_module(const ModuleEnv& env, std::string_view name);

}  // namespace ivs::pipeline
