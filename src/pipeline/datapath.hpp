#pragma once
// The datapath as a whole: mbuf pool, ports, compiled and learned tables, learn queue,
// RCU and the datapath threads. Built from a validated Config; started and stopped by
// the daemon. The control thread calls maintain() periodically (learning, aging, link
// state) and the snapshot functions for ivctl and /metrics.
//
// Threads: create/start/stop/maintain on the control thread; snapshots from any control
// thread (they take table_mutex_, which the datapath never touches).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "dpdk/port.hpp"
#include "pipeline/context.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/module.hpp"
#include "pipeline/pmd.hpp"
#include "pipeline/trace_format.hpp"
#include "mirror/broker.hpp"
#include "policy/slow_path.hpp"

struct rte_rcu_qsbr;

namespace ivs::pipeline {

struct PortSnapshot {
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
struct PmdSnapshot {
  unsigned index, cpu;
  std::vector<std::string> ports;
  uint64_t iterations, busy_cycles, idle_cycles, packets, sleeps, sleep_us;
  int tid = 0;                                  // 0 until the thread runs
  uint64_t minor_faults = 0, major_faults = 0;  // the thread's page faults since it started (/proc)
};
struct MirrorSnapshot {
  config::MirrorConfig cfg;
  uint8_t slot = 0;
  std::string filter_engine;  // "" (no filter), "rte_bpf JIT", "rte_bpf", "libpcap"
  // The datapath threads' tap counters: filled by the mirror module, whose stages count them.
  uint64_t eligible = 0, filtered_out = 0, sampled_out = 0, copied = 0, no_buffer = 0, queue_full = 0, duplicate = 0;
  bool capture = false;       // a live capture (ivctl capture), not a configured mirror
  mirror::SlotStats broker;
};
struct StatsSnapshot {
  uint64_t rx_packets = 0, tx_packets = 0, drops_total = 0;
  std::array<uint64_t, kDropReasonCount> drops{};
  std::array<uint64_t, kEventCount> events{};
  uint64_t fdb_learned = 0, fdb_moved = 0, fdb_aged = 0, fdb_full = 0, neighbors_learned = 0;
  uint32_t fdb_entries = 0, fdb_capacity = 0, neighbor_entries = 0;
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
  static std::expected<std::unique_ptr<Datapath>, std::string> create(const config::Config& cfg, unsigned n_pmds,
                                                                     const std::vector<unsigned>& pmd_cpus);
  ~Datapath();

  void start();
  void stop();
  // Apply the policy of `next` (same ports, networks and VMs; labels may differ) under a
  // new epoch. Errors when other sections differ. Returns the new epoch.
  std::expected<uint32_t, std::string> reload_policy(const config::Config& next);
  const policy::SlowPath& slow_path() const { return *slow_path_; }
  const config::Config& config() const { return cfg_; }
  const forward::ForwardingTables& tables() const { return *tables_; }
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
  std::vector<PmdSnapshot> pmds() const;
  // Each datapath thread's heartbeat (Pmd::heartbeat), in thread order.
  std::vector<uint64_t> heartbeats() const;
  StatsSnapshot stats() const;

  // Mirrors (pipeline/datapath_mirror.cpp): add or remove one at runtime; the set is
  // compiled, published to the datapath threads, and the old one freed after a grace
  // period. Errors leave everything as it was.
  std::expected<void, std::string> mirror_add(const config::MirrorConfig& m);
  std::expected<void, std::string> mirror_del(const std::string& name);
  std::vector<MirrorSnapshot> mirrors() const;
  // Live capture (`ivctl capture`): a mirror named "capture-N" tapping `port` (rx, tx or
  // both) whose one tool is a stream the caller reads; capture_stop removes it.
  struct Capture {
    std::string name;
    std::shared_ptr<mirror::CaptureStream> stream;
  };
  static constexpr size_t kMaxCaptures = 4;  // each holds a control connection thread
  std::expected<Capture, std::string> capture_start(const std::string& port, const std::string& direction,
                                                    const std::string& filter, uint32_t snaplen);
  void capture_stop(const std::string& name);
  // The mirror module's broker, told by the module when it makes it (MirrorModule::create):
  // set_mirrors gives it each mirror's tools, mirrors() reads its stats. Until the
  // published set is the module's own (issue 17, mirrors step 2).
  void attach_mirror_broker(mirror::Broker* broker) { broker_ = broker; }
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

  // Mbufs needed for this config (pool size).
  static unsigned mbufs_for(const config::Config& cfg, unsigned n_pmds);

 private:
  Datapath() = default;
  uint32_t now_s() const;
  void apply(const forward::LearnEvent& ev, uint32_t now);
  std::vector<std::string> mirror_names_by_slot() const;  // for trace formatting; takes mirror_mutex_
  // What trace formatting names things by: the tables, the policy snapshot `pol` (rules,
  // chains, QoS assignments), the modules' namers, the mirrors by slot.
  TraceNames trace_names(const policy::Classifier& pol, const std::vector<std::string>& mirrors) const;
  std::expected<void, std::string> set_mirrors(std::vector<config::MirrorConfig> next);  // mirror_mutex_ held
  std::vector<config::MirrorTool> resolved_tools(std::vector<config::MirrorTool> tools) const;
  void age(uint32_t now);

  config::Config cfg_;
  // Declared early, destroyed late: what the modules hold may be used by anything below
  // until it is gone (stop() has stopped their threads before).
  std::vector<std::unique_ptr<Module>> modules_;
  rte_mempool* pool_ = nullptr;
  rte_mempool* jumbo_pool_ = nullptr;     // af_packet ports with a large mtu receive into it
  rte_mempool* indirect_pool_ = nullptr;  // egress fragments' data (attached mbufs)
  rte_ring* learn_ring_ = nullptr;
  rte_rcu_qsbr* rcu_ = nullptr;
  std::unique_ptr<forward::ForwardingTables> tables_;
  std::unique_ptr<forward::ConcurrentTable> fdb_, neighbors_;
  std::unique_ptr<flow::FlowTable> flows_;
  std::vector<rte_ring*> upcall_rings_, reinject_rings_;  // one pair per datapath thread
  std::unique_ptr<policy::Autovalidator> autovalidator_;  // before the slow path: it outlives it
  std::unique_ptr<policy::SlowPath> slow_path_;
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
  // Mirrors: the broker is the mirror module's (it owns the pool, the rings and the
  // broker's thread); the Datapath still sets its tools and reads its stats until the
  // published set moves into the module too (issue 17, mirrors step 2).
  mirror::Broker* broker_ = nullptr;
  std::atomic<const mirror::MirrorSet*> mirror_set_{nullptr};
  std::shared_ptr<const mirror::MirrorSet> mirror_owned_;  // shared with the flow records (mirrors of a flow)
  std::vector<config::MirrorConfig> mirror_cfg_;   // parallel to the published set
  std::vector<uint8_t> mirror_slots_;
  std::vector<uint32_t> mirror_generations_;
  uint32_t next_generation_ = 1;
  std::map<std::string, std::shared_ptr<mirror::CaptureStream>> captures_;  // by mirror name
  unsigned next_capture_ = 1;
  mutable std::mutex mirror_mutex_;
  std::vector<dpdk::Port> ports_;
  std::vector<PortRuntime> runtime_;
  std::vector<unsigned> port_pmd_;  // which PMD polls each port
  DatapathContext ctx_;
  std::vector<std::unique_ptr<Pmd>> pmds_;
  std::atomic<bool> running_{false};
  bool started_ = false;
  uint64_t start_tsc_ = 0;
  uint64_t prefault_bytes_ = 0;  // memzones touched by start() (rings, mempools)
  double prefault_ms_ = 0;       // what that and the tables' touch at create cost
  uint32_t last_age_s_ = 0;
  uint64_t next_link_check_tsc_ = 0;

  mutable std::mutex table_mutex_;  // control-thread writers/readers of fdb_/neighbors_
  std::atomic<uint64_t> fdb_learned_{0}, fdb_moved_{0}, fdb_aged_{0}, fdb_full_{0}, neighbors_learned_{0};
};

}  // namespace ivs::pipeline
