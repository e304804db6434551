#pragma once
// A Forwarder with real tables (rte_hash, rte_lpm, rte_ring, mempool) and no ports:
// packets go in through process(), come out in the per-port TxBatches. Used by the unit
// tests and the pipeline benchmark. Needs the EAL up (tests: EalEnvironment).
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring_elem.h>

#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/core_specs.hpp"
#include "config/loader.hpp"
#include "config/runtime_changes.hpp"
#include "forward/static_entries.hpp"
#include "mirror/tap_stage.hpp"
#include "pipeline/forwarder.hpp"
#include "pipeline/trace_format.hpp"
#include "policy/module.hpp"
#include "qos/guard.hpp"
#include "support/packet_builder.hpp"

namespace ivs::test {

class ForwarderRig {
 public:
  explicit ForwarderRig(const std::string& yaml, uint32_t table_size = 1024, unsigned pool_size = 1023,
                        uint32_t upcall_rate = 1000000) {
    auto cfg = config::load_string(yaml, "rig.yaml");
    if (!cfg) throw std::runtime_error(cfg.error().front());
    const int socket = static_cast<int>(rte_socket_id());
    // DPDK object names are global: several rigs may live at once (paired benchmarks).
    static unsigned seq = 0;
    const std::string id = std::to_string(seq++);
    auto name = [&](const char* base) { return std::string(base) + id; };
    pool_ = rte_pktmbuf_pool_create(name("rig_pool").c_str(), pool_size, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc(nullptr, rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE));
    ring_ = rte_ring_create_elem(name("rig_learn").c_str(), sizeof(forward::LearnEvent), 1024, socket, 0);
    if (!pool_ || !rcu_ || !ring_) throw std::runtime_error("rig: DPDK objects");
    rte_rcu_qsbr_init(rcu_, 1);
    tables_ = std::move(*forward::ForwardingTables::build(config::topology_spec(*cfg)));
    fdb_ = std::move(*forward::ConcurrentTable::create(name("rig_fdb"), sizeof(forward::FdbKey), table_size, rcu_, true));
    nb_ = std::move(*forward::ConcurrentTable::create(name("rig_nb"), 4, table_size, rcu_));
    forward::install_static_entries(config::topology_spec(*cfg), *tables_, *fdb_, *nb_);
    if (tables_->routes_ipv6()) nb6_ = std::move(*forward::ConcurrentTable::create(name("rig_nb6"), 16, table_size, rcu_));
    ports_ = std::vector<pipeline::PortRuntime>(tables_->port_count());
    // Flows and policy: the policy thread's work is run synchronously by run_policy().
    flows_ = std::move(*flow::FlowTable::create(cfg->flows.table_size, rcu_));
    up_ = rte_ring_create_elem(name("rig_up").c_str(), sizeof(policy::Upcall), 1024, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    re_ = rte_ring_create_elem(name("rig_re").c_str(), sizeof(policy::Upcall), 1024, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!up_ || !re_) throw std::runtime_error("rig: policy rings");
    cfg_ = *cfg;
    ctx_ = pipeline::DatapathContext{tables_.get(), fdb_.get(), nb_.get(), ring_, pool_, &ports_, rte_get_tsc_hz(),
                                     flows_.get(), upcall_rate, nullptr};
    ctx_.neighbors6 = nb6_.get();
    // The jobs' modules, made by the daemon's builder loop (no datapath: no services,
    // no views); the forwarders get their stages from them. The policy module makes the
    // classifier, the slow path (its thread's work run by run_policy()) and, in the test
    // mode, the autovalidator (run_policy() checks the cache hits).
    shared_tables_.set(pipeline::unowned(*tables_));
    pipeline::ModuleEnv env{*cfg, shared_tables_};
    env.flows = flows_.get();
    env.upcall_rings = {up_};
    env.reinject_rings = {re_};
    env.port_up = [this](uint16_t p) { return !port_down.count(p); };
    auto modules = pipeline::make_modules(env);
    if (!modules) throw std::runtime_error("rig: modules: " + modules.error());
    modules_ = std::move(*modules);
    for (auto& m : modules_)
      if (m->name() == policy::PolicyModule::kName) policy_ = static_cast<policy::PolicyModule*>(m.get());
    if (!policy_) throw std::runtime_error("rig: no policy module");
    ctx_.autovalidator = policy_->cache_hit_sampler();
    ctx_.modules = &modules_;
    indirect_ = rte_pktmbuf_pool_create(name("rig_indirect").c_str(), 1023, 0, 0, 0, socket);
    if (!indirect_) throw std::runtime_error("rig: indirect pool");
    ctx_.indirect_pool = indirect_;
    pc_ = std::vector<pipeline::PortCounters>(tables_->port_count());
    fwd_ = std::make_unique<pipeline::Forwarder>(ctx_, 0, pmd_, pc_, up_);
  }
  // What the policy thread and the datapath's reinject poll would do: decide upcalled
  // flows, install them, and finish the packets. Returns how many came back.
  unsigned run_policy() {
    slow_path().run_once();
    policy::Upcall ups[64];
    const unsigned n = rte_ring_sc_dequeue_burst_elem(re_, ups, sizeof(policy::Upcall), 64, nullptr);
    fwd_->reinject(ups, static_cast<uint16_t>(n), now_s(), rte_rdtsc());
    return n;
  }
  void reload(const std::string& yaml, uint32_t epoch) {
    auto cfg = config::load_string(yaml, "rig.yaml");
    if (!cfg) throw std::runtime_error(cfg.error().front());
    slow_path().publish(std::move(*policy::Classifier::compile(*cfg, epoch)));
    slow_path().run_once();
  }
  // A reload as Datapath::reload_policy makes it: staged (config::stage_runtime_changes),
  // every part planned (the VMs' static entries, the modules' parts, the policy), then all
  // applied; or the first refusal, nothing applied. The policy thread's revalidation is
  // run here (run_once).
  std::expected<void, std::string> reload_staged(const std::string& yaml, uint32_t epoch) {
    auto next = config::load_string(yaml, "rig.yaml");
    if (!next) return std::unexpected(next.error().front());
    auto staged = config::stage_runtime_changes(cfg_, *next);
    if (!staged) return std::unexpected(staged.error());
    const auto entries = forward::plan_static_entries(forward::static_entries(config::topology_spec(cfg_), *tables_),
                                                      forward::static_entries(staged->spec.topology, *tables_));
    std::vector<std::function<void()>> parts;
    for (auto& m : modules_) {
      auto part = m->plan_reload(*next);
      if (!part) return std::unexpected(part.error());
      if (*part) parts.push_back(std::move(*part));
    }
    auto policy = policy::Classifier::compile(*next, epoch);
    if (!policy) return std::unexpected(policy.error());
    forward::apply_static_entries(entries, *fdb_, *nb_);
    slow_path().publish(std::move(*policy));
    cfg_ = *staged->cfg;
    for (auto& part : parts) part();
    slow_path().run_once();
    return {};
  }
  forward::ConcurrentTable& fdb() { return *fdb_; }
  forward::ConcurrentTable& neighbors() { return *nb_; }
  policy::SlowPath& slow_path() { return policy_->slow_path(); }
  // The jobs' modules (pipeline/module.hpp), as the builder made them.
  std::vector<std::unique_ptr<pipeline::Module>>& modules() { return modules_; }
  policy::Autovalidator* autovalidator() { return policy_->autovalidator(); }
  std::set<uint16_t> port_down;  // ports the chains' health check sees without link
  flow::FlowTable& flows() { return *flows_; }
  ~ForwarderRig() {
    for (uint16_t p = 0; p < ports_.size(); ++p) take(p);
    slow_path().stop();  // frees packets still queued for a verdict
    policy::Upcall ups[64];
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst_elem(re_, ups, sizeof(policy::Upcall), 64, nullptr)) > 0)
      for (unsigned i = 0; i < n; ++i) rte_pktmbuf_free(ups[i].mbuf);
    fwd_.reset();
    modules_.clear();  // the slow path before the flow table and its rings
    flows_.reset();
    rte_ring_free(up_);
    rte_ring_free(re_);
    fdb_.reset();
    nb_.reset();
    nb6_.reset();
    tables_.reset();
    rte_ring_free(ring_);
    rte_free(rcu_);
    rte_mempool_free(indirect_);
    rte_mempool_free(pool_);
    if (mirror_pool_) rte_mempool_free(mirror_pool_);
  }

  void add_mac(int16_t net, MacAddr m, uint16_t port, bool is_static = false) {
    forward::FdbKey k{static_cast<uint16_t>(net), {}};
    m.store(k.mac);
    fdb_->upsert(&k, forward::FdbEntry{port, is_static}.encode(), 0);
  }
  void add_neighbor(uint32_t addr, MacAddr m) { nb_->upsert(&addr, forward::NeighborEntry{m, false}.encode(), 0); }
  void add_neighbor6(const std::array<uint8_t, 16>& addr, MacAddr m) { nb6_->upsert(addr.data(), forward::NeighborEntry{m, false}.encode(), 0); }
  rte_mbuf* mbuf(const Bytes& frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (!m) throw std::runtime_error("rig: pool empty");
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(), frame.size());
    return m;
  }
  // The datapath's clock in seconds: the one the policy thread ages flows by. A fixed
  // value here (it was 1) made every flow the forwarder touched look idle for the whole
  // uptime, and the policy thread's once-a-second aging pass removed it whenever a test
  // crossed a second boundary (a rare "expected exactly one flow" under ASan).
  static uint32_t now_s() { return static_cast<uint32_t>(rte_rdtsc() / rte_get_tsc_hz()); }
  // One frame in, as a datapath thread would take it, including the round trip through
  // the policy thread for a new flow.
  void send(uint16_t port, const Bytes& frame) {
    rte_mbuf* m = mbuf(frame);
    fwd_->process(port, &m, 1, now_s(), rte_rdtsc() + rte_get_tsc_hz());
    run_policy();
  }
  // `n` copies of a frame in one burst of a known flow (no policy round trip), at one
  // instant `tsc` (meters see them arrive together).
  void burst(uint16_t port, const Bytes& frame, uint16_t n, uint64_t tsc) {
    std::vector<rte_mbuf*> ms;
    for (uint16_t i = 0; i < n; ++i) ms.push_back(mbuf(frame));
    fwd_->process(port, ms.data(), n, now_s(), tsc);
  }
  // Frames queued for `port`, removed from its batch and freed.
  std::vector<Bytes> take(uint16_t port) {
    std::vector<Bytes> out;
    auto& b = fwd_->batch(port);
    for (uint16_t i = 0; i < b.size(); ++i) {
      rte_mbuf* m = b.packets()[i];
      Bytes frame(m->pkt_len);  // every segment (egress fragments are chains)
      const void* d = rte_pktmbuf_read(m, 0, m->pkt_len, frame.data());
      if (d != frame.data()) std::memcpy(frame.data(), d, m->pkt_len);
      out.push_back(std::move(frame));
      rte_pktmbuf_free(m);
    }
    b = pipeline::TxBatch{};
    return out;
  }
  const qos::QosCounters& qos_counters() const { return qos_counters_of(*fwd_); }
  // The QoS guard's counters of Forwarder `f`: its QoS module stage's (after the flow
  // lookup); without a `qos` section there is none, and they read all zero.
  static const qos::QosCounters& qos_counters_of(const pipeline::Forwarder& f) {
    if (const auto* g = f.stages().find<qos::GuardStage>()) return g->counters();
    static const qos::QosCounters none(0, 0);
    return none;
  }
  // Mirrors: a published set and the ring copies go to (nullptr, nullptr: none again), and
  // the ring the broker's copies for tool ports come from (Forwarder::poll()).
  // `full`: the broker's word on which mirrors' tools are backed up (mirror/tools_full.hpp).
  void attach_mirrors(const std::atomic<const mirror::MirrorSet*>* set, rte_ring* tap_ring, rte_ring* tool_ring = nullptr,
                      const mirror::ToolsFull* full = nullptr) {
    // Copies from a pool of their own with a per-thread cache, as the datapath's.
    static unsigned seq = 0;
    if (!mirror_pool_)
      mirror_pool_ = rte_pktmbuf_pool_create(("rig_mirror" + std::to_string(seq++)).c_str(), 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                             static_cast<int>(rte_socket_id()));
    mirror_set_ = set;
    fwd_ = std::make_unique<pipeline::Forwarder>(ctx_, 0, pmd_, pc_, up_);
    // The rings the mirror module gives a datapath thread's stage (MirrorModule::rings),
    // the test's own here.
    auto* st = fwd_->stages().find<mirror::TapStage>();
    if (!st) throw std::runtime_error("rig: no mirror stage");
    st->attach({mirror_pool_, tap_ring, tool_ring, full}, set);
  }
  // The pool the taps copy into (after attach_mirrors): its in-use count is the copies made.
  rte_mempool* mirror_pool() const { return mirror_pool_; }
  uint64_t drops(uint16_t port, DropReason r) const { return pc_[port].drops[static_cast<size_t>(r)].get(); }
  uint64_t event(pipeline::Event e) const { return pmd_.events[static_cast<size_t>(e)].get(); }
  // Packets sent to static route next hop `i` (forward::ForwardingTables::next_hops()).
  uint64_t next_hop_packets(size_t i) const { return pmd_.next_hop_packets[i].get(); }
  std::vector<forward::LearnEvent> learned() {
    std::vector<forward::LearnEvent> evs(64);
    unsigned n = rte_ring_dequeue_burst_elem(ring_, evs.data(), sizeof(forward::LearnEvent), 64, nullptr);
    evs.resize(n);
    return evs;
  }
  // What a forwarder's counters say, flattened (the trace-equals-datapath layer compares
  // a trace's counters with how far the datapath's moved for the same packet).
  struct Counts {
    std::vector<uint64_t> events;             // by pipeline::Event
    std::vector<uint64_t> drops;              // [port * kDropReasonCount + reason]
    std::vector<uint64_t> rx;                 // per port
    std::vector<uint64_t> qos;                // per VM: seen[64], mismatched, rewritten, colours, meter drops
    std::vector<uint64_t> mirrors;            // per slot: eligible, filtered out, sampled out, copied, duplicate
  };
  static Counts counts_of(const pipeline::PmdCounters& pmd, const std::vector<pipeline::PortCounters>& pc,
                          const qos::QosCounters& q, const mirror::ThreadMirrorCounters& mc) {
    Counts c;
    for (const auto& m : mc)
      for (const Counter* k : {&m.eligible, &m.filtered_out, &m.sampled_out, &m.copied, &m.duplicate}) c.mirrors.push_back(k->get());
    for (const auto& e : pmd.events) c.events.push_back(e.get());
    for (const auto& p : pc) {
      c.rx.push_back(p.rx_packets.get());
      for (const auto& d : p.drops) c.drops.push_back(d.get());
    }
    for (const auto& v : q.vms) {
      for (const auto& s : v.seen) c.qos.push_back(s.get());
      for (const Counter* k : {&v.mismatched, &v.rewritten, &v.colour[0], &v.colour[1], &v.colour[2], &v.meter_dropped})
        c.qos.push_back(k->get());
    }
    return c;
  }
  Counts counts() const { return counts_of(pmd_, pc_, qos_counters_of(*fwd_), mirror_counters_of(*fwd_)); }
  // A Forwarder's tap counters: its mirror module's stage's (mirror/tap_stage.hpp).
  static const mirror::ThreadMirrorCounters& mirror_counters_of(const pipeline::Forwarder& f) {
    const auto* st = f.stages().find<mirror::TapStage>();
    if (!st) throw std::runtime_error("rig: no mirror stage");
    return st->counters();
  }
  const mirror::ThreadMirrorCounters& mirror_counters() const { return mirror_counters_of(*fwd_); }
  // What `ivctl trace` does (Datapath::trace): the frame through a Forwarder in simulation
  // mode on this rig's tables, asking the policy thread's decide_now() on a miss; nothing
  // is learned, installed or sent, and the rig's counters are not touched. Returns the
  // trace's steps (stage, text: the records formatted by the daemon's formatter, names
  // from the rig's policy) and the frames that would leave, by port.
  struct Traced {
    std::vector<std::pair<std::string, std::string>> steps;
    std::vector<std::pair<uint16_t, Bytes>> outputs;
    pipeline::FormattedPacket packet;  // the same trace, structured (events, fields, verdict, result)
    Counts counts;  // the trace forwarder's own counters (they start at zero)
    // The entry a flow-table miss was traced on (policy::fill_entry of the slow path's
    // decision); its packet counters are zero when trace found the flow, or when the
    // slow path would install nothing (table full).
    std::unique_ptr<flow::FlowEntry> entry;
  };
  Traced trace(uint16_t port, const Bytes& frame) {
    pipeline::PmdCounters pmd;
    std::vector<pipeline::PortCounters> pc(tables_->port_count());
    pipeline::Forwarder f(ctx_, 0, pmd, pc, up_);
    if (auto* st = f.stages().find<mirror::TapStage>()) st->attach({}, mirror_set_);  // judged and counted, not copied
    auto buf = std::make_unique<pipeline::TraceBuffer>();
    rte_mbuf* m = mbuf(frame);
    f.simulate(*buf, *policy_, port, m, now_s(), rte_rdtsc());
    Traced out;
    out.packet = format(*buf).at(0);
    for (const auto& s : out.packet.steps) out.steps.emplace_back(s.stage, s.text);
    out.counts = counts_of(pmd, pc, qos_counters_of(f), mirror_counters_of(f));
    out.entry = f.take_sim_entry();
    for (uint16_t p = 0; p < tables_->port_count(); ++p) {
      auto& b = f.batch(p);
      for (uint16_t i = 0; i < b.size(); ++i) {
        rte_mbuf* o = b.packets()[i];
        Bytes frame(o->pkt_len);  // every segment, as take() reads them
        const void* d = rte_pktmbuf_read(o, 0, o->pkt_len, frame.data());
        if (d != frame.data()) std::memcpy(frame.data(), d, o->pkt_len);
        out.outputs.emplace_back(p, std::move(frame));
        rte_pktmbuf_free(o);
      }
      b = pipeline::TxBatch{};
    }
    return out;
  }
  // Trace records formatted as ivctl shows them, names from the rig's current policy.
  std::vector<pipeline::FormattedPacket> format(const pipeline::TraceBuffer& buf) const {
    std::vector<pipeline::FormattedPacket> out;
    policy_->with_policy([&](const pipeline::TraceNamer& pol, uint32_t) {
      // Named as Datapath::trace_names does: the policy snapshot, then the modules' namers.
      pipeline::TraceNames names{*tables_};
      names.namers.push_back(pol);
      for (const auto& m : modules_)
        if (auto namer = m->trace_namer()) names.namers.push_back(std::move(namer));
      out = pipeline::format_trace(buf, names);
    });
    return out;
  }
  // Live tracing on the rig's forwarder: `live` armed by the test, `buf` its buffer.
  void attach_live(pipeline::LiveTrace* live, pipeline::TraceBuffer* buf) { fwd_->attach_live(live, buf); }
  // ECMP next hops' liveness checked (pipeline/next_hop_liveness.hpp), as the daemon always
  // does; off unless a test asks, so that the others see no probes among their frames.
  pipeline::NextHopLiveness* check_next_hops() {
    hops_ = std::make_unique<pipeline::NextHopLiveness[]>(forward::kMaxNextHops);
    ctx_.next_hops = hops_.get();
    return hops_.get();
  }
  pipeline::Forwarder& forwarder() { return *fwd_; }
  pipeline::PortRuntime& port_runtime(uint16_t port) { return ports_[port]; }
  size_t forwarder_frags_in_use() const { return fwd_->frags().in_use(); }
  const forward::ForwardingTables& tables() const { return *tables_; }
  const config::Config& config() const { return cfg_; }
  rte_ring* learn_ring() { return ring_; }

 private:
  rte_mempool* pool_ = nullptr;
  rte_mempool* indirect_ = nullptr;
  rte_mempool* mirror_pool_ = nullptr;
  const std::atomic<const mirror::MirrorSet*>* mirror_set_ = nullptr;  // attach_mirrors'
  rte_rcu_qsbr* rcu_ = nullptr;
  rte_ring* ring_ = nullptr;
  std::unique_ptr<forward::ForwardingTables> tables_;
  pipeline::SharedTables shared_tables_;  // the modules' view of tables_ (ModuleEnv::tables)
  std::unique_ptr<forward::ConcurrentTable> fdb_, nb_, nb6_;
  std::unique_ptr<flow::FlowTable> flows_;
  rte_ring *up_ = nullptr, *re_ = nullptr;
  std::vector<std::unique_ptr<pipeline::Module>> modules_;
  policy::PolicyModule* policy_ = nullptr;  // one of modules_
  config::Config cfg_;
  std::vector<pipeline::PortRuntime> ports_;
  pipeline::DatapathContext ctx_;
  std::unique_ptr<pipeline::NextHopLiveness[]> hops_;  // (check_next_hops)
  pipeline::PmdCounters pmd_;
  std::vector<pipeline::PortCounters> pc_;
  std::unique_ptr<pipeline::Forwarder> fwd_;
};

}  // namespace ivs::test
