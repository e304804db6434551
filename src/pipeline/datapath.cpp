#include "pipeline/datapath.hpp"

#include <fmt/format.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring_elem.h>
#include <spdlog/spdlog.h>

namespace ivs::pipeline {

using forward::FdbEntry;
using forward::FdbKey;
using forward::LearnEvent;
using forward::NeighborEntry;

namespace {
constexpr unsigned kLearnRingSize = 4096;
constexpr unsigned kPoolCache = 256;

int pmd_main(void* arg) {
  auto* p = static_cast<std::pair<Pmd*, const std::atomic<bool>*>*>(arg);
  p->first->run(*p->second);
  delete p;
  return 0;
}

}  // namespace

unsigned Datapath::mbufs_for(const config::Config& cfg, unsigned n_pmds) {
  // Every rx and tx ring full, every thread's cache full, plus room for flood copies.
  const unsigned n = static_cast<unsigned>(cfg.ports.size()) * (1024 + 1024 * n_pmds) + (n_pmds + 1) * kPoolCache + 4096;
  return std::max(8191u, n);
}

std::expected<std::unique_ptr<Datapath>, std::string> Datapath::create(const config::Config& cfg, unsigned n_pmds,
                                                                      const std::vector<unsigned>& pmd_cpus) {
  std::unique_ptr<Datapath> dp(new Datapath());
  dp->cfg_ = cfg;
  const int socket = static_cast<int>(rte_socket_id());
  const unsigned nmbufs = mbufs_for(cfg, n_pmds);
  dp->pool_ = rte_pktmbuf_pool_create("ivs_mbufs", nmbufs, kPoolCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (!dp->pool_) return std::unexpected(fmt::format("cannot create the mbuf pool ({} mbufs): {}", nmbufs, rte_strerror(rte_errno)));
  dp->learn_ring_ = rte_ring_create_elem("ivs_learn", sizeof(LearnEvent), kLearnRingSize, socket, RING_F_SC_DEQ);
  if (!dp->learn_ring_) return std::unexpected(fmt::format("cannot create the learn ring: {}", rte_strerror(rte_errno)));
  const size_t rcu_size = rte_rcu_qsbr_get_memsize(n_pmds);
  dp->rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("ivs_rcu", rcu_size, RTE_CACHE_LINE_SIZE));
  if (!dp->rcu_ || rte_rcu_qsbr_init(dp->rcu_, n_pmds) != 0) return std::unexpected("cannot create the RCU state");

  auto tables = forward::ForwardingTables::build(cfg);
  if (!tables) return std::unexpected(tables.error());
  dp->tables_ = std::move(*tables);
  auto fdb = forward::ConcurrentTable::create("ivs_fdb", sizeof(FdbKey), cfg.sw.fdb_size, dp->rcu_, true);
  if (!fdb) return std::unexpected(fdb.error());
  dp->fdb_ = std::move(*fdb);
  auto nb = forward::ConcurrentTable::create("ivs_neigh", sizeof(uint32_t), cfg.sw.neighbor_size, dp->rcu_);
  if (!nb) return std::unexpected(nb.error());
  dp->neighbors_ = std::move(*nb);

  // Configured VMs: static FDB entries and neighbours (never aged, never moved).
  for (const auto& vm : cfg.vms) {
    const int16_t net = static_cast<int16_t>(cfg.find_network(vm.network) - cfg.networks.data());
    const int port = dp->tables_->port_index(vm.port);
    FdbKey k{static_cast<uint16_t>(net), {}};
    vm.mac.store(k.mac);
    dp->fdb_->upsert(&k, FdbEntry{static_cast<uint16_t>(port), true}.encode(), 0);
    if (vm.ip) dp->neighbors_->upsert(&vm.ip->value, NeighborEntry{vm.mac, true}.encode(), 0);
  }

  // Ports, each polled by one PMD: the configured core, else round robin.
  dp->runtime_ = std::vector<PortRuntime>(cfg.ports.size());
  for (size_t i = 0; i < cfg.ports.size(); ++i) {
    auto port = dpdk::Port::open(cfg.ports[i], static_cast<uint16_t>(i), static_cast<uint16_t>(n_pmds), dp->pool_);
    if (!port) {
      for (auto& p : dp->ports_) p.close();
      dp->ports_.clear();
      return std::unexpected(port.error());
    }
    auto& rt = dp->runtime_[i];
    rt.port_id = port->id();
    rt.tx_queues = port->tx_queue_count();
    rt.tx_shared = rt.tx_queues < n_pmds;
    rt.link_up = port->link_up();
    dp->ports_.push_back(std::move(*port));
    unsigned owner = static_cast<unsigned>(i % n_pmds);
    if (cfg.ports[i].core)
      for (unsigned k = 0; k < n_pmds; ++k)
        if (pmd_cpus[k] == *cfg.ports[i].core) owner = k;
    dp->port_pmd_.push_back(owner);
  }
  dp->ctx_ = DatapathContext{dp->tables_.get(), dp->fdb_.get(), dp->neighbors_.get(), dp->learn_ring_, dp->pool_,
                             &dp->runtime_, rte_get_tsc_hz()};
  unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  for (unsigned k = 0; k < n_pmds; ++k) {
    if (lcore >= RTE_MAX_LCORE) return std::unexpected("fewer EAL lcores than datapath threads");
    dp->pmds_.push_back(std::make_unique<Pmd>(k, pmd_cpus[k], lcore, dp->ctx_, dp->rcu_, cfg.sw.idle_sleep_max_us));
    lcore = rte_get_next_lcore(lcore, 1, 0);
  }
  for (size_t i = 0; i < dp->port_pmd_.size(); ++i) dp->pmds_[dp->port_pmd_[i]]->assign_port(static_cast<uint16_t>(i));
  dp->start_tsc_ = rte_rdtsc();
  return dp;
}

Datapath::~Datapath() {
  stop();
  for (auto& p : ports_) p.close();
  pmds_.clear();
  fdb_.reset();
  neighbors_.reset();
  tables_.reset();
  if (learn_ring_) rte_ring_free(learn_ring_);
  if (rcu_) rte_free(rcu_);
  if (pool_) rte_mempool_free(pool_);
}

void Datapath::start() {
  for (size_t i = 0; i < ports_.size(); ++i) runtime_[i].link_up = ports_[i].link_up();
  running_ = true;
  for (auto& p : pmds_) {
    auto* arg = new std::pair<Pmd*, const std::atomic<bool>*>(p.get(), &running_);
    if (rte_eal_remote_launch(pmd_main, arg, p->lcore()) != 0) {
      delete arg;
      spdlog::error("cannot launch datapath thread on lcore {}", p->lcore());
    }
  }
  started_ = true;
  spdlog::info("datapath started: {} thread(s), {} port(s)", pmds_.size(), ports_.size());
}

void Datapath::stop() {
  if (!started_) return;
  running_ = false;
  rte_eal_mp_wait_lcore();
  started_ = false;
}

uint32_t Datapath::now_s() const { return static_cast<uint32_t>(rte_rdtsc() / rte_get_tsc_hz()); }

void Datapath::apply(const LearnEvent& ev, uint32_t now) {
  MacAddr mac = MacAddr::from(ev.mac);
  if (ev.kind == LearnEvent::kMac) {
    FdbKey k{ev.network, {}};
    mac.store(k.mac);
    uint64_t raw = 0;
    const bool known = fdb_->lookup(&k, raw) >= 0;
    if (known && FdbEntry::decode(raw).is_static) return;
    if (known && FdbEntry::decode(raw).port == ev.port) return;  // duplicate event
    if (!fdb_->upsert(&k, FdbEntry{ev.port, false}.encode(), now)) {
      if (fdb_full_++ % 1000 == 0)
        spdlog::warn("FDB full ({} entries): cannot learn {} on port {}; raise switch.fdb_size", fdb_->capacity(),
                     mac.to_string(), tables_->port_name(ev.port));
      return;
    }
    (known ? fdb_moved_ : fdb_learned_)++;
  } else if (ev.kind == LearnEvent::kNeighbor) {
    uint64_t raw = 0;
    if (neighbors_->lookup(&ev.ip, raw) >= 0 && NeighborEntry::decode(raw).is_static) return;
    if (neighbors_->upsert(&ev.ip, NeighborEntry{mac, false}.encode(), now)) neighbors_learned_++;
  }
}

void Datapath::age(uint32_t now) {
  const uint32_t limit = cfg_.sw.fdb_aging_seconds;
  std::vector<FdbKey> old_macs;
  fdb_->for_each([&](const void* key, uint64_t v, int32_t pos) {
    if (!FdbEntry::decode(v).is_static && now - fdb_->last_seen(pos) > limit) old_macs.push_back(*static_cast<const FdbKey*>(key));
  });
  for (const auto& k : old_macs)
    if (fdb_->erase(&k)) fdb_aged_++;
  std::vector<uint32_t> old_ips;
  neighbors_->for_each([&](const void* key, uint64_t v, int32_t pos) {
    if (!NeighborEntry::decode(v).is_static && now - neighbors_->last_seen(pos) > limit)
      old_ips.push_back(*static_cast<const uint32_t*>(key));
  });
  for (uint32_t ip : old_ips) neighbors_->erase(&ip);
}

void Datapath::maintain() {
  std::lock_guard lock(table_mutex_);
  const uint32_t now = now_s();
  LearnEvent evs[64];
  unsigned n;
  while ((n = rte_ring_sc_dequeue_burst_elem(learn_ring_, evs, sizeof(LearnEvent), 64, nullptr)) > 0)
    for (unsigned i = 0; i < n; ++i) apply(evs[i], now);
  if (now != last_age_s_) {
    last_age_s_ = now;
    age(now);
  }
  // Link state gates transmission (tx.link_down): poll it often enough that a VM that
  // just connected gets traffic at once, rarely enough to cost nothing (10 per second).
  const uint64_t tsc = rte_rdtsc();
  if (tsc >= next_link_check_tsc_) {
    next_link_check_tsc_ = tsc + rte_get_tsc_hz() / 10;
    for (size_t i = 0; i < ports_.size(); ++i) runtime_[i].link_up = ports_[i].link_up();
  }
}

}  // namespace ivs::pipeline
