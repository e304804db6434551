#pragma once
// What every datapath thread shares: the ports as the datapath sees them, the compiled
// tables, the learned tables and the learn queue. Owned by pipeline::Datapath; the
// datapath threads only read it (the learned tables are written by the control thread).
#include <rte_spinlock.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "dpdk/port_io.hpp"
#include "flow/flow_table.hpp"
#include "forward/concurrent_table.hpp"
#include "forward/tables.hpp"
#include "pipeline/cache_hit_sampler.hpp"
#include "pipeline/egress_queue.hpp"
#include "pipeline/next_hop_liveness.hpp"
#include "pipeline/wakeup.hpp"

struct rte_mempool;
struct rte_ring;

namespace ivs::pipeline {

class Module;

struct PortRuntime {
  dpdk::PortIo io;               // rx/tx bursts: an ethdev, or a vhost-user port (librte_vhost)
  uint16_t port_id = 0;          // DPDK ethdev id (vhost-user: the pcapng stand-in's)
  uint16_t tx_queues = 1;
  uint16_t rx_queues = 1;        // all polled by the port's one datapath thread
  bool tx_shared = false;        // fewer tx queues than datapath threads: lock per burst
  rte_spinlock_t tx_lock = RTE_SPINLOCK_INITIALIZER;
  std::atomic<bool> link_up{false};  // refreshed by the control thread
  // Link transitions (a VM connecting, leaving, restarting; the first connection after
  // start counts as one "up"): vhost-user ports count every one in the vhost library's
  // callbacks, copied here by the control thread every 5 ms; other ports: those the
  // control thread's 100 ms check saw.
  std::atomic<uint64_t> link_ups{0}, link_downs{0};
  // Output through a job's queue instead of a tx burst (the QoS module's scheduler by
  // class, qos.egress; pipeline/egress_queue.hpp); owned by the module. nullptr: tx burst.
  EgressQueue* egress_queue = nullptr;
  // af_packet: the longest frame its ring slot holds; a longer one arrives cut to exactly
  // this length (counted as rx.truncated when it then does not parse). 0: not af_packet.
  uint32_t rx_snap = 0;
  // af_packet: the largest IP packet its kernel interface takes (the port's mtu); a
  // longer IPv4 packet without DF is fragmented, anything else dropped (tx.mtu_exceeded),
  // where the kernel would drop it without a count. 0: no check.
  uint32_t tx_mtu = 0;
};

struct DatapathContext {
  const forward::ForwardingTables* tables = nullptr;
  forward::ConcurrentTable* fdb = nullptr;        // FdbKey -> FdbEntry
  forward::ConcurrentTable* neighbors = nullptr;  // IPv4 (host order) -> NeighborEntry
  rte_ring* learn_ring = nullptr;                 // LearnEvent, multi-producer / single consumer
  rte_mempool* pool = nullptr;
  std::vector<PortRuntime>* ports = nullptr;
  uint64_t tsc_hz = 0;
  flow::FlowTable* flows = nullptr;               // two-way flows and their verdicts (policy thread writes)
  uint32_t upcall_rate = 20000;                   // new flows per second per port sent to the policy thread
  Wakeup* policy_wakeup = nullptr;                // wakes a sleeping policy thread after an upcall
  // Egress fragmentation (tx_mtu): fragments' headers come from `pool`, their data are
  // indirect mbufs from this one (nullptr: no fragmentation, oversized IPv4 dropped).
  rte_mempool* indirect_pool = nullptr;
  // Test mode (flows.autovalidator): cache hits are sampled here for the policy thread
  // to check against decide() (policy::Autovalidator). nullptr: off.
  CacheHitSampler* autovalidator = nullptr;
  // The jobs' modules (pipeline/module.hpp): each Forwarder asks them for its stages.
  // nullptr: none.
  const std::vector<std::unique_ptr<Module>>* modules = nullptr;
  // IPv6 address (16 bytes) -> NeighborEntry; nullptr when no network has a gateway6.
  forward::ConcurrentTable* neighbors6 = nullptr;
  // The port table's capacity (switch.max_ports): every per-port array of the datapath
  // (the ports above, counters, tx batches, rate buckets) has this many slots from
  // start, so a port added at runtime takes a free slot and nothing is reallocated
  // under the datapath threads (docs/architecture.md, "Ports that come and go").
  // 0 (tests that build a context by hand): the tables' port count.
  uint16_t port_capacity = 0;
  // An ECMP route's next hops' liveness, by next-hop index (forward::kMaxNextHops of
  // them; pipeline/next_hop_liveness.hpp). nullptr (tests): every known next hop is up.
  NextHopLiveness* next_hops = nullptr;
  size_t port_slots() const { return port_capacity ? port_capacity : tables->port_count(); }
};

// What one datapath thread polls: its ports' slots, and those of them with an egress
// queue (drained by the thread). Built by the control thread and published to the
// thread through one pointer (Pmd::publish_rx); the thread loads it once per loop
// iteration, and the old list is freed only after an RCU grace period
// (Datapath::synchronize), so a port leaves the thread's polling before it is closed.
struct RxList {
  std::vector<uint16_t> ports;   // slots, in the order they are polled
  std::vector<uint16_t> queued;  // the slots of `ports` with an egress queue
  // One past the highest slot any port has held since start (never lowered): the bound of
  // the thread's loops over its per-slot arrays between bursts (Forwarder::flush), so a
  // switch of 2 ports scans 2 tx batches, not switch.max_ports of them (a loop over every
  // slot cost ~360 instructions and a mispredict per burst: bench/blackbox/callgrind.sh).
  // Raised before any other thread can send to the new slot (FDB entries to a port are
  // written after the grace period that follows this list's publication).
  uint16_t slots_in_use = 0;
  // The forwarding tables (ports' networks, flood lists, routes) the thread forwards with
  // from this list on: a reload that adds or removes ports publishes the next tables in
  // the next lists, so a thread never sees a port in its list that its tables lack.
  // Freed, like the list, only after a grace period. nullptr: the context's (tests).
  const forward::ForwardingTables* tables = nullptr;
  // Stamped by Pmd::publish_rx (1, 2, ...): how the thread tells a new list from the one it
  // used last (an address could be reused by the next list once the old one is freed).
  uint64_t generation = 0;
};

}  // namespace ivs::pipeline
