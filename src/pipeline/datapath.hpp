#pragma once
// The datapath as a whole: mbuf pool, ports, compiled and learned tables, learn queue,
// RCU and the datapath threads. Built from a validated Config; started and stopped by
// the daemon. The control thread calls maintain() periodically (learning, aging, link
// state) and the snapshot functions for ivctl and /metrics.
//
// Threads: create/start/stop/maintain on the control thread; snapshots from any control
// thread (they take table_mutex_, which the datapath never touches).
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dpdk/port.hpp"
#include "pipeline/context.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/datapath_spec.hpp"
#include "pipeline/module.hpp"
#include "pipeline/pmd.hpp"
#include "pipeline/port_slots.hpp"
#include "pipeline/shared_tables.hpp"
#include "pipeline/trace_format.hpp"
#include "pipeline/upcall_handler.hpp"

struct rte_rcu_qsbr;

namespace ivs::pipeline {

struct PortSnapshot {
  uint16_t slot = 0;  // its slot in the port table (its index in the forwarding tables)
  std::string name, type, detail, network_mode;
  std::string driver;  // "librte_vhost" (vhost-user) or the ethdev's driver
  bool link_up = false;
  uint64_t link_ups = 0, link_downs = 0;
  unsigned pmd_cpu = 0;
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0, drops_total = 0;
  std::array<uint64_t, kDropReasonCount> drops{};
  dpdk::PortStats dev;
};
struct FdbSnapshotEntry {
  std::string network, mac, port;
  bool is_static;
  uint32_t age_s;
};
struct NeighborSnapshotEntry {
  std::string network, ip, mac;
  bool is_static;
  uint32_t age_s;
};
struct RouteSnapshotEntry {
  std::string prefix, network, gateway, gateway_mac;
  uint16_t vlan;
};
// A static route's next hop (config routes): one row each, its route's prefix repeated.
struct RouteHopSnapshot {
  std::string prefix, via, network;
  std::string mac;  // as ARP resolved it; "" while unresolved
  uint64_t packets = 0;
  std::string state;   // pipeline::next_hop_state: up, down, resolved (not checked), unresolved
  uint64_t downs = 0;  // times it went down
};
struct PmdSnapshot {
  unsigned index, cpu;
  std::vector<std::string> ports;
  uint64_t iterations, busy_cycles, idle_cycles, packets, sleeps, sleep_us;
  int tid = 0;                                  // 0 until the thread runs
  uint64_t minor_faults = 0, major_faults = 0;  // the thread's page faults since it started (/proc)
};
struct StatsSnapshot {
  uint64_t rx_packets = 0, tx_packets = 0, drops_total = 0;
  std::array<uint64_t, kDropReasonCount> drops{};
  std::array<uint64_t, kEventCount> events{};
  uint64_t fdb_learned = 0, fdb_moved = 0, fdb_aged = 0, fdb_full = 0, neighbors_learned = 0, neighbors6_learned = 0;
  uint64_t static_evicted = 0, static_failed = 0;
  uint32_t fdb_entries = 0, fdb_capacity = 0, neighbor_entries = 0, neighbor6_entries = 0;
  uint32_t port_slots = 0, ports_live = 0;  // the port table (switch.max_ports) and its live ports
  uint64_t mbufs_in_use = 0, mbufs_total = 0;
  // Memory (read from /proc and DPDK by the calling thread): resident now by kind, DPDK's
  // heap, what start touched (dpdk/memory.hpp), and the datapath threads' page faults.
  uint64_t rss_kb = 0, rss_anon_kb = 0, rss_file_kb = 0, rss_shmem_kb = 0, hugetlb_kb = 0;
  uint64_t heap_total_bytes = 0, heap_allocated_bytes = 0, heap_free_bytes = 0;
  uint64_t prefault_bytes = 0;
  double prefault_ms = 0;
  uint64_t datapath_minor_faults = 0, datapath_major_faults = 0;
  double uptime_s = 0;
  uint64_t tsc_hz = 0;
};

class Datapath {
 public:
  // `spec`: what the core builds (config::datapath_spec(cfg)); `cfg`: handed on, unread,
  // to the jobs' modules (ModuleEnv) and to the views (config()).
  static std::expected<std::unique_ptr<Datapath>, std::string> create(const DatapathSpec& spec, std::shared_ptr<const config::Config> cfg,
                                                                     unsigned n_pmds, const std::vector<unsigned>& pmd_cpus);
  ~Datapath();

  void start();
  void stop();
  // The process exits once this datapath is destroyed: its destructor leaves the large
  // tables' memory to the exit instead of freeing it block by block (a faster restart).
  void exiting() { exiting_ = true; }
  // A reload to `next`: `stage` (config::stage_runtime_changes, where the config model is
  // known) says what the switch runs once it applies (the running config with what may
  // change at runtime taken from `next`), or why `next` cannot be applied at runtime; then
  // each module plans its part (plan_reload) and the policy module compiles the policy
  // (UpcallHandler::plan_policy), and only when every part is planned is anything applied,
  // under a new epoch. All under one lock, so two reloads never interleave. Returns the
  // new epoch, or the first refusal (nothing applied). Views reach the slow path through
  // policy::slow_path_of(datapath) (policy/module.hpp).
  // The static MAC-table entries and neighbours of the VMs follow the staged topology
  // (forward/static_entries.hpp: added, removed, moved), written with the other parts.
  using ConfigStager = std::expected<StagedConfig, std::string> (*)(const config::Config& running, const config::Config& next);
  std::expected<uint32_t, std::string> reload_policy(const config::Config& next, ConfigStager stage);
  // The config the switch runs (as the last reload left it): a snapshot a view keeps while
  // it reads, whatever a reload does meanwhile.
  std::shared_ptr<const config::Config> config() const {
    std::lock_guard lock(cfg_mutex_);
    return cfg_;
  }
  // The forwarding tables now (a port's index: its slot): a snapshot the caller keeps
  // while it reads, whatever a reload publishes meanwhile (pipeline/shared_tables.hpp).
  std::shared_ptr<const forward::ForwardingTables> tables() const { return tables_.get(); }
  // Tracing (pipeline/datapath_trace.cpp). trace(): `frame` (as received on port
  // `in_port`) through the real forwarding code in simulation mode on the calling thread:
  // the stages record, nothing is learned, installed or sent. Returns the formatted trace
  // and the frames that would leave, per port.
  struct TraceResult {
    FormattedPacket packet;
    uint32_t epoch = 0;  // the policy epoch the names were taken from
    std::vector<std::pair<std::string, std::vector<uint8_t>>> outputs;
  };
  std::expected<TraceResult, std::string> trace(uint16_t in_port, const std::vector<uint8_t>& frame);
  // trace_live(): the next `count` packets received on `port` (matching the pcap-filter
  // `filter`, if any) are traced by the datapath thread that polls it, as they are
  // forwarded; returns when they all are, or after `timeout`. One session at a time.
  struct LiveTraceResult {
    std::vector<FormattedPacket> packets;
    uint64_t tsc_hz = 0;
    uint64_t records_lost = 0;
    bool timed_out = false;
    double seconds = 0;
    uint32_t epoch = 0;
  };
  static constexpr uint32_t kMaxLiveTrace = TraceBuffer::kPackets;
  std::expected<LiveTraceResult, std::string> trace_live(const std::string& port, const std::string& filter, uint32_t count,
                                                         std::chrono::milliseconds timeout);
  // Control-thread housekeeping: apply learn events, age entries, refresh link states.
  void maintain();

  std::vector<PortSnapshot> ports() const;
  std::vector<FdbSnapshotEntry> fdb() const;
  std::vector<NeighborSnapshotEntry> neighbors() const;
  std::vector<RouteSnapshotEntry> routes() const;
  std::vector<RouteHopSnapshot> route_hops() const;
  std::vector<PmdSnapshot> pmds() const;
  // Each datapath thread's heartbeat (Pmd::heartbeat), in thread order.
  std::vector<uint64_t> heartbeats() const;
  StatsSnapshot stats() const;

  // An RCU grace period: returns once every datapath thread (and a trace) has passed a
  // quiescent state, so that none still sees what a module unpublished before the call
  // (the mirror set: freed after it). Control threads.
  void synchronize() const;
  // The jobs' modules (pipeline/module.hpp), in registration order: the control server
  // registers their methods, /metrics appends their lines.
  const std::vector<std::unique_ptr<Module>>& modules() const { return modules_; }
  // The module named `name` (nullptr: none). Views of one job that read another's state
  // (show flows: the flow records' description) find it here.
  Module* module(std::string_view name) const {
    for (const auto& m : modules_)
      if (m->name() == name) return m.get();
    return nullptr;
  }

  // The port table: its slots (switch.max_ports) and how many hold a live port.
  size_t port_capacity() const { return slots_.size(); }
  size_t live_ports() const;

  // Mbufs needed for `n_ports` ports polled by `n_pmds` threads (the pool's size).
  static unsigned mbufs_for(size_t n_ports, unsigned n_pmds);

 private:
  Datapath() = default;
  uint32_t now_s() const;
  void apply(const forward::LearnEvent& ev, uint32_t now);
  // The learn events queued by the datapath threads, applied (under table_mutex_).
  void drain_learn_ring();
  // The names the modules give the slots of trace records of event `e` (the mirrors':
  // a copy's mirror), for the formatter.
  std::vector<std::string> trace_slot_names(TraceEvent e) const;
  // What trace formatting names things by: the tables, the policy snapshot's namer
  // (rules, chains, QoS assignments: UpcallHandler::with_policy), the modules' namers,
  // the mirrors by slot.
  TraceNames trace_names(const forward::ForwardingTables& tables, const TraceNamer& policy, const std::vector<std::string>& mirrors) const;
  void age(uint32_t now);
  // Port `p` opened into free slot `slot`, polled by datapath thread `pmd`: its device
  // (dpdk::Port::open), its PortRuntime, its spec and thread; the slot is live once it
  // returns, not yet in an rx list (publish_rx_lists). An error leaves the slot as it was.
  // Control thread: at create, and (the apply step) under the reload lock.
  std::expected<void, std::string> open_port(uint16_t slot, const DatapathPortSpec& p, unsigned pmd);
  // Slot `slot`'s device closed and its PortRuntime's I/O cleared: the slot is retired.
  // Only once no rx list names it and a grace period has passed (or no thread runs).
  void close_port(uint16_t slot);
  bool live(size_t slot) const { return slot < slots_.size() && slots_[slot] == PortSlot::kLive; }
  // Each datapath thread's rx list built from the live slots and published (one pointer
  // store each); returns the lists replaced, to be freed after synchronize() when the
  // threads run.
  std::vector<std::unique_ptr<const RxList>> publish_rx_lists();

  DatapathSpec spec_;
  mutable std::mutex cfg_mutex_;  // guards the pointer only (a reload swaps it)
  std::shared_ptr<const config::Config> cfg_;
  // The upcall and reinject rings, one pair per datapath thread: the core's (the Pmds
  // use them); the policy module's thread drains the upcall rings until the module is
  // destroyed, so they are declared before the modules and freed after them.
  struct UpcallRings {
    std::vector<rte_ring*> up, re;
    ~UpcallRings();
  } rings_;
  // Declared early, destroyed late: what the modules hold may be used by anything below
  // until it is gone (stop() has stopped their threads before).
  std::vector<std::unique_ptr<Module>> modules_;
  rte_mempool* pool_ = nullptr;
  rte_mempool* jumbo_pool_ = nullptr;     // af_packet ports with a large mtu receive into it
  rte_mempool* indirect_pool_ = nullptr;  // egress fragments' data (attached mbufs)
  rte_ring* learn_ring_ = nullptr;
  rte_rcu_qsbr* rcu_ = nullptr;
  // The forwarding tables: those the control threads read now (the modules get this
  // object: ModuleEnv::tables); the datapath threads forward with their rx list's.
  SharedTables tables_;
  std::unique_ptr<forward::ConcurrentTable> fdb_, neighbors_;
  std::unique_ptr<forward::ConcurrentTable> neighbors6_;  // made when a network has a gateway6
  std::unique_ptr<flow::FlowTable> flows_;
  // The policy module (pipeline/upcall_handler.hpp): trace's decisions and policy, a
  // reload's policy, the wake-up and the autovalidator given to the datapath threads.
  UpcallHandler* upcalls_ = nullptr;
  std::atomic<uint32_t> next_epoch_{2};
  std::mutex reload_mutex_;
  std::mutex trace_mutex_;
  unsigned trace_rcu_id_ = 0;  // RCU reader id of the tracing (control) thread
  PmdCounters trace_counters_;
  std::vector<PortCounters> trace_port_counters_;
  LiveTrace live_;                                     // read by the datapath threads
  std::vector<std::unique_ptr<TraceBuffer>> trace_bufs_;  // per datapath thread
  std::mutex live_mutex_;                              // one live session at a time
  uint8_t live_session_ = 0;
  // By slot, as runtime_: a live slot's device and its spec. Only live slots are read or
  // closed (a free or retired slot's Port was never opened, or is closed).
  std::vector<dpdk::Port> ports_;
  std::vector<DatapathPortSpec> port_specs_;
  unsigned n_pmds_ = 0;
  // The port table (docs/architecture.md, "Ports that come and go"): switch.max_ports
  // slots, each free, live (opened, polled by port_pmd_'s thread) or retired (out of
  // every rx list and closed; reused only once an RCU grace period has passed and
  // nothing refers to it: FDB entries, flows, mirrors, chains). Control thread.
  std::vector<PortSlot> slots_;  // (pipeline/port_slots.hpp)
  std::vector<PortRuntime> runtime_;  // one per slot
  uint16_t slots_in_use_ = 0;  // one past the highest slot ever not free (RxList::slots_in_use)
  std::vector<unsigned> port_pmd_;  // which PMD polls each port
  DatapathContext ctx_;
  std::vector<std::unique_ptr<Pmd>> pmds_;
  std::atomic<bool> running_{false};
  bool started_ = false;
  bool exiting_ = false;
  uint64_t start_tsc_ = 0;
  uint64_t prefault_bytes_ = 0;  // memzones touched by start() (rings, mempools)
  double prefault_ms_ = 0;       // what that and the tables' touch at create cost
  uint32_t last_age_s_ = 0;
  uint64_t next_link_check_tsc_ = 0;

  mutable std::mutex table_mutex_;  // control-thread writers/readers of fdb_/neighbors_
  std::atomic<uint64_t> fdb_learned_{0}, fdb_moved_{0}, fdb_aged_{0}, fdb_full_{0}, neighbors_learned_{0};
  // Reloads writing VMs' static entries into full tables (forward::apply_static_entries).
  std::atomic<uint64_t> static_evicted_{0}, static_failed_{0};
  std::atomic<uint64_t> neighbors6_learned_{0};
  // ECMP next hops' liveness (written by the datapath threads; ctx_.next_hops), and the
  // times each went down (control thread, under table_mutex_).
  std::unique_ptr<NextHopLiveness[]> next_hop_liveness_ = std::make_unique<NextHopLiveness[]>(forward::kMaxNextHops);
  std::array<bool, forward::kMaxNextHops> next_hop_was_down_{};
  std::array<uint64_t, forward::kMaxNextHops> next_hop_downs_{};
  void count_next_hops_down(uint32_t now);
};

}  // namespace ivs::pipeline
