#include "flow/flow_table.hpp"

#include "dpdk/memory.hpp"

#include <cstring>

#include <fmt/format.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include <atomic>

namespace ivs::flow {

std::string_view flow_state_name(FlowState s) {
  switch (s) {
    case FlowState::kAllowed: return "allowed";
    case FlowState::kDenied: return "denied";
    case FlowState::kRejected: return "rejected";
    case FlowState::kPending: return "pending";
    case FlowState::kVerified: return "verified";
    case FlowState::kViaDevice: return "via-device";
  }
  return "?";
}

std::expected<std::unique_ptr<FlowTable>, std::string> FlowTable::create(uint32_t capacity, rte_rcu_qsbr* rcu) {
  static std::atomic<unsigned> seq{0};
  const std::string name = fmt::format("ivs_flows{}", seq++);
  rte_hash_parameters p{};
  p.name = name.c_str();
  p.entries = capacity;
  p.key_len = sizeof(FlowKey);
  p.hash_func = rte_hash_crc;  // SSE4.2 CRC32 on x86: cheaper than jhash for 40 bytes
  p.socket_id = static_cast<int>(rte_socket_id());
  p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  std::unique_ptr<FlowTable> t(new FlowTable());
  t->hash_ = rte_hash_create(&p);
  if (!t->hash_) return std::unexpected(fmt::format("cannot create the flow table ({} flows): {}", capacity, rte_strerror(rte_errno)));
  dpdk::prefault_hash(t->hash_);  // every key slot now, not on the datapath's first use (dpdk/memory.hpp)
  if (rcu) {
    rte_hash_rcu_config rc{};
    rc.v = rcu;
    rc.mode = RTE_HASH_QSBR_MODE_DQ;
    if (rte_hash_rcu_qsbr_add(t->hash_, &rc) != 0) return std::unexpected("cannot attach RCU to the flow table");
  }
  t->rcu_ = rcu;
  t->capacity_ = capacity;
  t->pool_ = std::vector<FlowEntry>(capacity);
  t->in_use_.assign(capacity, 0);
  t->reported_.assign(capacity, Reported{});
  t->free_.reserve(capacity);
  for (uint32_t i = capacity; i > 0; --i) t->free_.push_back(i - 1);
  return t;
}

FlowTable::~FlowTable() {
  if (hash_) rte_hash_free(hash_);
}

void FlowTable::lookup_bulk(const FlowKey* const* keys, uint32_t n, FlowEntry** out) const noexcept {
  void* data[RTE_HASH_LOOKUP_BULK_MAX];
  uint64_t hits = 0;
  if (n == 0) return;
  if (rte_hash_lookup_bulk_data(hash_, reinterpret_cast<const void**>(const_cast<const FlowKey**>(keys)), n, &hits, data) < 0)
    hits = 0;
  for (uint32_t i = 0; i < n; ++i) out[i] = (hits >> i & 1) ? static_cast<FlowEntry*>(data[i]) : nullptr;
}

uint32_t FlowTable::hash(const FlowKey& key) noexcept { return rte_hash_crc(&key, sizeof(key), 0); }

void FlowTable::lookup_bulk(const FlowKey* const* keys, const uint32_t* hashes, uint32_t n, FlowEntry** out) const noexcept {
  void* data[RTE_HASH_LOOKUP_BULK_MAX];
  uint64_t hits = 0;
  if (n == 0) return;
  if (rte_hash_lookup_with_hash_bulk_data(hash_, reinterpret_cast<const void**>(const_cast<const FlowKey**>(keys)),
                                          const_cast<uint32_t*>(hashes), n, &hits, data) < 0)
    hits = 0;
  for (uint32_t i = 0; i < n; ++i) out[i] = (hits >> i & 1) ? static_cast<FlowEntry*>(data[i]) : nullptr;
}

FlowEntry* FlowTable::find(const FlowKey& key) const {
  void* data = nullptr;
  return rte_hash_lookup_data(hash_, &key, &data) >= 0 ? static_cast<FlowEntry*>(data) : nullptr;
}

FlowEntry* FlowTable::take(const FlowKey& key) {
  reclaim();
  if (free_.empty()) return nullptr;
  const uint32_t idx = free_.back();
  FlowEntry& e = pool_[idx];
  // Reset in place (atomics are not assignable); readers cannot see it: it is not in the hash.
  e.key = key;
  e.state.store(FlowState::kAllowed, std::memory_order_relaxed);
  e.initiator = 0;
  e.network = -1;
  e.rule = -1;
  e.epoch = 0;
  e.created_s = 0;
  e.last_used_s.store(0, std::memory_order_relaxed);
  for (int d = 0; d < 2; ++d) {
    e.tcp_flags[d].store(0, std::memory_order_relaxed);
    e.packets[d].reset();
    e.bytes[d].reset();
  }
  e.persisted = false;
  e.next_hop.store(0, std::memory_order_relaxed);
  for (int d = 0; d < 2; ++d) {
    e.slot.word[d].store(0, std::memory_order_relaxed);
    e.slot.sample[d].store(0, std::memory_order_relaxed);
    e.slot.count[d].reset();
  }
  ChainPath& c = e.chain;
  c.chain = -1;
  c.device_port[0] = c.device_port[1] = 0;
  c.inspect_packets = 1;
  c.returned.store(0, std::memory_order_relaxed);
  for (int d = 0; d < 2; ++d) {
    c.returned_flags[d].store(0, std::memory_order_relaxed);
    c.side_net[d].store(-1, std::memory_order_relaxed);
    std::memset(c.side_mac[d], 0, 6);
    c.to_device[d].reset();
    c.shortcut[d].reset();
  }
  c.pending_tsc = 0;
  c.verify_us.store(0, std::memory_order_relaxed);
  e.first_port = 0;
  e.reported_s = 0;
  reported_[idx] = Reported{};
  free_.pop_back();
  return &e;
}

bool FlowTable::publish(FlowEntry* e) {
  const uint32_t idx = static_cast<uint32_t>(e - pool_.data());
  if (e->gen.load(std::memory_order_relaxed) & 1) e->gen.fetch_add(1, std::memory_order_release);  // live again: even
  if (rte_hash_add_key_data(hash_, &e->key, e) != 0) {
    e->key.family = 0;
    free_.push_back(idx);
    return false;
  }
  in_use_[idx] = 1;
  ++used_;
  return true;
}

void FlowTable::remove(FlowEntry* e, uint8_t reason) {
  e->gen.fetch_add(1, std::memory_order_release);  // odd: exact-match caches miss it from now on
  if (rte_hash_del_key(hash_, &e->key) < 0) return;
  const uint32_t idx = static_cast<uint32_t>(e - pool_.data());
  in_use_[idx] = 0;
  --used_;
  // The entry may still be read by a datapath thread that found it before the delete:
  // return it to the pool once they have all been quiescent since now.
  deferred_.push_back({idx, rcu_ ? rte_rcu_qsbr_start(rcu_) : 0, reason});
}

void FlowTable::reclaim() {
  size_t done = 0;
  while (done < deferred_.size() && (!rcu_ || deferred_[done].token == 0 || rte_rcu_qsbr_check(rcu_, deferred_[done].token, false) == 1)) {
    // Past the grace period: no datapath thread holds the entry, its counters are final.
    if (retire_) retire_(pool_[deferred_[done].index], deferred_[done].reason);
    pool_[deferred_[done].index].key.family = 0;
    free_.push_back(deferred_[done].index);
    ++done;
  }
  deferred_.erase(deferred_.begin(), deferred_.begin() + static_cast<long>(done));
}

uint32_t idle_timeout(const FlowEntry& e, const IdleTimeouts& t) {
  switch (e.key.proto) {
    case 6: {
      const uint8_t f = e.tcp_flags[0].load(std::memory_order_relaxed) | e.tcp_flags[1].load(std::memory_order_relaxed);
      if (f & (kTcpFin | kTcpRst)) return t.tcp_closing_s;
      const bool both_syn = (e.tcp_flags[0].load(std::memory_order_relaxed) & kTcpSyn) &&
                            (e.tcp_flags[1].load(std::memory_order_relaxed) & kTcpSyn);
      return both_syn && (f & kTcpAck) ? t.tcp_established_s : t.tcp_handshake_s;
    }
    case 17: return t.udp_s;
    case 1:
    case 58: return t.icmp_s;
    default: return t.other_s;
  }
}

}  // namespace ivs::flow
