#pragma once
// What every datapath thread shares: the ports as the datapath sees them, the compiled
// tables, the learned tables and the learn queue. Owned by pipeline::Datapath; the
// datapath threads only read it (the learned tables are written by the control thread).
#include <rte_spinlock.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "dpdk/port_io.hpp"
#include "flow/flow_table.hpp"
#include "forward/concurrent_table.hpp"
#include "forward/tables.hpp"
#include "policy/wakeup.hpp"
#include "mirror/mirror_set.hpp"
#include "qos/qos_tables.hpp"
#include "qos/scheduler.hpp"

struct rte_mempool;
struct rte_ring;

namespace ivs::pipeline {

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
  qos::Scheduler* sched = nullptr;   // egress scheduled by class (qos.egress); owned by the Datapath
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
  policy::Wakeup* policy_wakeup = nullptr;        // wakes a sleeping policy thread after an upcall
  const qos::QosTables* qos = nullptr;            // nullptr: no `qos` section (the guard costs nothing)
  // Mirrors: the current set (nullptr: none; swapped by the control thread, freed after an
  // RCU grace period) and the pool copies come from (never the switching pool).
  const std::atomic<const mirror::MirrorSet*>* mirrors = nullptr;
  rte_mempool* mirror_pool = nullptr;
};

}  // namespace ivs::pipeline
