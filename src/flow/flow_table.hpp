#pragma once
// The flow table: one entry per two-way flow, holding its verdict and why (rule, policy
// epoch), its state and its counters. DPDK rte_hash (lock-free readers) maps FlowKey ->
// FlowEntry*; entries come from a preallocated pool, so the table has a hard bound and
// never allocates after start.
//
// Threads: datapath threads look up and update an entry's atomics (last use, TCP flags,
// counters). Exactly one writer, the policy thread, inserts, changes verdicts and
// removes. A removed entry returns to the pool only after every datapath thread has
// passed a quiescent state (rte_rcu_qsbr), so a reader never sees it reused.
#include <atomic>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/counter.hpp"
#include "common/dscp.hpp"
#include "flow/flow_key.hpp"
#include "flow/idle_timeouts.hpp"

struct rte_hash;
struct rte_rcu_qsbr;

namespace ivs::flow {

enum class FlowState : uint8_t {
  kAllowed,    // policy allowed it; both directions forwarded
  kDenied,     // policy dropped it; both directions dropped
  kRejected,   // policy rejected it: TCP answered with RST, others with ICMP unreachable
  // policy: inspect via a chain (docs/chains.md)
  kPending,    // packets go, unmodified, through the chain's device
  kVerified,   // the device passed it back: the switch routes it itself (shortcut)
  kViaDevice,  // fail-open after the verify timeout: every packet keeps going through the device
};
std::string_view flow_state_name(FlowState s);
// A state of inspect-then-shortcut: the entry's ChainPath is in use.
inline bool on_chain(FlowState s) { return s == FlowState::kPending || s == FlowState::kVerified || s == FlowState::kViaDevice; }

// TCP progress as seen by the datapath (flag bits per direction), for timeouts.
inline constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;

// Inspect-then-shortcut state of a flow whose rule said `inspect`. Sides are the key's
// endpoints (0, 1); a packet of direction d comes from side d and goes to side 1-d.
// Written by the policy thread at install (before the entry is published) and by the
// datapath thread that polls the device ports (responder side, `returned`, then the state
// change to kVerified with release order; readers load the state with acquire).
struct ChainPath {
  int16_t chain = -1;                   // index into the policy's chains; -1: not inspected
  uint16_t device_port[2] = {};         // per side: where that side's packets reach the device
  uint16_t inspect_packets = 1;         // packets the device must pass back; 0 = TCP handshake
  std::atomic<uint16_t> returned{0};    // packets seen coming back from the device
  std::atomic<uint8_t> returned_flags[2] = {};  // per direction: TCP flags passed back (handshake mode)
  std::atomic<int16_t> side_net[2] = {-1, -1};  // per side: the VM's network; stored (release) after side_mac
  uint8_t side_mac[2][6] = {};          // per side: the VM's MAC (the shortcut's destination MAC)
  uint64_t pending_tsc = 0;             // when the flow became pending
  std::atomic<uint32_t> verify_us{0};   // first packet -> verified, microseconds
  Counter to_device[2], shortcut[2];    // per direction: packets sent through the device / routed by the switch
};

// A module's per-flow state, carried by the core without knowing what it holds (today the
// QoS guard's: qos/flow_state.hpp is the only code that reads or writes it). Zero when the
// entry is taken. Per direction d of the flow:
//   word[d]    written by the policy thread with the verdict (install, revalidation), read
//              by the datapath with one load: the module's decision for d, packed
//   sample[d]  written by the datapath thread polling d's sender (one relaxed store)
//   count[d]   counted by that thread
struct FlowSlot {
  std::atomic<uint64_t> word[2] = {};
  std::atomic<uint64_t> sample[2] = {};
  Counter count[2];
};
struct alignas(64) FlowEntry {
  FlowKey key;
  std::atomic<uint32_t> gen{0};  // odd while removed, a new even value when reused (flow/emc.hpp)
  std::atomic<FlowState> state{FlowState::kAllowed};
  uint8_t initiator = 0;     // direction of the flow's first packet
  int16_t network = -1;      // ingress network of the first packet
  int32_t rule = -1;         // policy rule that decided; -1 = default action
  uint16_t first_sport = 0, first_dport = 0;  // what rules matched in the first packet (ICMP: type, code)
  uint32_t epoch = 0;        // policy epoch of the decision
  uint32_t created_s = 0;
  std::atomic<uint32_t> last_used_s{0};
  std::atomic<uint8_t> tcp_flags[2] = {};
  // A flow routed by an ECMP route: its next hop's index within the route + 1 (0: none
  // chosen yet), chosen by the flow's first routed packet with a resolved next hop and kept
  // for the flow's life, both directions (pipeline/forwarder_l3.cpp). Datapath threads
  // write it (relaxed; two threads racing pick the same: the flow's hash is symmetric).
  // In the padding before the counters: the entry keeps its size.
  std::atomic<uint8_t> next_hop{0};
  Counter packets[2], bytes[2];  // per direction, written by the datapath
  // The module slot (today the QoS guard's, read only with a `qos` section). Placed so that
  // its words share the cache line of the counters every packet updates (offset 112).
  FlowSlot slot;
  bool persisted = false;    // kept across a policy change by on_change: persist
  ChainPath chain;           // only for flows whose rule said inspect
  // Flow records (docs/flow-export.md). Policy thread only, never the datapath: the port
  // the first packet came in by and the time of the flow's last record (in the bytes the
  // chain path leaves before the entry's end; what the last record counted is in
  // FlowTable::reported(), so that the entry keeps its 4 cache lines).
  uint16_t first_port = 0;
  uint32_t reported_s = 0;
};
static_assert(sizeof(FlowEntry) == 256, "a flow entry is 4 cache lines; cold additions go beside it (FlowTable::Reported)");

// The counters of a flow's last record (the next record carries the difference).
struct Reported {
  uint64_t packets[2] = {}, bytes[2] = {};
};

class FlowTable {
 public:
  static std::expected<std::unique_ptr<FlowTable>, std::string> create(uint32_t capacity, rte_rcu_qsbr* rcu);
  ~FlowTable();

  // Datapath: up to 64 keys; out[i] = entry or nullptr.
  void lookup_bulk(const FlowKey* const* keys, uint32_t n, FlowEntry** out) const noexcept;
  // The same with the keys' hashes already computed (hash()).
  void lookup_bulk(const FlowKey* const* keys, const uint32_t* hashes, uint32_t n, FlowEntry** out) const noexcept;
  static uint32_t hash(const FlowKey& key) noexcept;
  // Datapath: account one packet of `direction`.
  static void touch(FlowEntry& e, uint8_t direction, uint32_t bytes, uint8_t tcp_flags, uint32_t now_s) noexcept {
    e.packets[direction].inc();
    e.bytes[direction].add(bytes);
    if (e.last_used_s.load(std::memory_order_relaxed) != now_s) e.last_used_s.store(now_s, std::memory_order_relaxed);
    const uint8_t seen = e.tcp_flags[direction].load(std::memory_order_relaxed);
    if ((seen | tcp_flags) != seen) e.tcp_flags[direction].fetch_or(tcp_flags, std::memory_order_relaxed);
  }

  // Datapath: account one packet of a flow whose verdict drops it (denied, rejected). It
  // is counted, but neither keeps the flow alive nor records TCP progress: packets a flow
  // drops must never hold its verdict longer (a spoofed "reply" that created a denied
  // flow, refreshed by the real client's retries, would block the real connection for the
  // established-TCP timeout). Such a flow expires its timeout after its first packet.
  static void count_dropped(FlowEntry& e, uint8_t direction, uint32_t bytes) noexcept {
    e.packets[direction].inc();
    e.bytes[direction].add(bytes);
  }

  // Writer (policy thread) only.
  FlowEntry* find(const FlowKey& key) const;
  // Takes a free entry, lets `fill` set it up, then makes it visible to the datapath.
  // nullptr when the table is full.
  template <class F>
  FlowEntry* insert(const FlowKey& key, F&& fill) {
    FlowEntry* e = take(key);
    if (!e) return nullptr;
    fill(*e);
    return publish(e) ? e : nullptr;
  }
  // `reason`: why it ends, handed to the retire hook (flowexport::EndReason; 0 = none given).
  void remove(FlowEntry* e, uint8_t reason = 0);
  void reclaim();                          // return entries whose grace period is over
  // Called (writer thread) for each removed entry once no datapath thread can touch it any
  // more, just before it returns to the pool: its counters are final then.
  void set_retire_hook(std::function<void(FlowEntry&, uint8_t reason)> hook) { retire_ = std::move(hook); }
  // Writer thread, after every datapath thread has stopped: retire every removed entry
  // now (no grace period to wait for) and hand the live ones to `live`.
  template <class F>
  void retire_all(F&& live) {
    for (auto& d : deferred_) d.token = 0;
    reclaim();
    for_each(live);
  }
  template <class F>
  void for_each(F&& fn) const {
    for (const auto& e : pool_)
      if (in_use_[static_cast<size_t>(&e - pool_.data())]) fn(e);
  }
  template <class F>
  void for_each(F&& fn) {
    for (auto& e : pool_)
      if (in_use_[static_cast<size_t>(&e - pool_.data())]) fn(e);
  }
  // In-use entries with pool index in [from, to); returns the pool size.
  template <class F>
  size_t for_range(size_t from, size_t to, F&& fn) {
    for (size_t i = from; i < to && i < pool_.size(); ++i)
      if (in_use_[i]) fn(pool_[i]);
    return pool_.size();
  }
  // Writer thread: the counters of entry e's last flow record (reset when e is reused).
  Reported& reported(const FlowEntry& e) { return reported_[static_cast<size_t>(&e - pool_.data())]; }
  // No free entry: an insert now would be refused (entries removed but still in their
  // RCU grace period do not count; the policy thread reclaims them every round).
  bool full() const { return free_.empty(); }
  uint32_t size() const { return used_; }
  uint32_t capacity() const { return capacity_; }

 private:
  FlowTable() = default;
  FlowEntry* take(const FlowKey& key);
  bool publish(FlowEntry* e);
  rte_hash* hash_ = nullptr;
  rte_rcu_qsbr* rcu_ = nullptr;
  uint32_t capacity_ = 0, used_ = 0;
  std::vector<FlowEntry> pool_;
  std::vector<uint8_t> in_use_;
  std::vector<Reported> reported_;  // parallel to pool_
  std::vector<uint32_t> free_;
  struct Deferred {
    uint32_t index;
    uint64_t token;  // 0: no grace period to wait for
    uint8_t reason;
  };
  std::vector<Deferred> deferred_;
  std::function<void(FlowEntry&, uint8_t)> retire_;
};

// Seconds a flow may stay idle before it expires, by protocol and TCP progress.
uint32_t idle_timeout(const FlowEntry& e, const IdleTimeouts& t);

}  // namespace ivs::flow
