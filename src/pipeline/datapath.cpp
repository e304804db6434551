#include "pipeline/datapath.hpp"

#include "dpdk/memory.hpp"
#include "forward/static_entries.hpp"
#include "forward/static_neighbors6.hpp"

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
#include <rte_errno.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <cstring>

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

unsigned Datapath::mbufs_for(size_t n_ports, unsigned n_pmds) {
  // Every rx and tx ring full, every thread's cache full, plus room for flood copies.
  const unsigned n = static_cast<unsigned>(n_ports) * (1024 + 1024 * n_pmds) + (n_pmds + 1) * kPoolCache + 4096;
  return std::max(8191u, n);
}

std::expected<std::unique_ptr<Datapath>, std::string> Datapath::create(const DatapathSpec& spec, std::shared_ptr<const config::Config> cfg,
                                                                      unsigned n_pmds, const std::vector<unsigned>& pmd_cpus) {
  std::unique_ptr<Datapath> dp(new Datapath());
  // Start phases, each logged with its time (docs/vms.md: where a restart's gap goes).
  uint64_t phase_tsc = rte_get_tsc_cycles();
  auto phase_done = [&phase_tsc](const char* what) {
    const uint64_t now = rte_get_tsc_cycles();
    spdlog::info("start phase: {} in {:.0f} ms", what, static_cast<double>(now - phase_tsc) * 1e3 / static_cast<double>(rte_get_tsc_hz()));
    phase_tsc = now;
  };
  dp->spec_ = spec;
  dp->cfg_ = cfg;
  const int socket = static_cast<int>(rte_socket_id());
  const unsigned nmbufs = mbufs_for(spec.ports.size(), n_pmds);
  dp->pool_ = rte_pktmbuf_pool_create("ivs_mbufs", nmbufs, kPoolCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (!dp->pool_) return std::unexpected(fmt::format("cannot create the mbuf pool ({} mbufs): {}", nmbufs, rte_strerror(rte_errno)));
  dp->learn_ring_ = rte_ring_create_elem("ivs_learn", sizeof(LearnEvent), kLearnRingSize, socket, RING_F_SC_DEQ);
  if (!dp->learn_ring_) return std::unexpected(fmt::format("cannot create the learn ring: {}", rte_strerror(rte_errno)));
  // RCU readers: the datapath threads, plus one id for ivctl trace on the control thread.
  const size_t rcu_size = rte_rcu_qsbr_get_memsize(n_pmds + 1);
  dp->rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("ivs_rcu", rcu_size, RTE_CACHE_LINE_SIZE));
  if (!dp->rcu_ || rte_rcu_qsbr_init(dp->rcu_, n_pmds + 1) != 0) return std::unexpected("cannot create the RCU state");
  dp->trace_rcu_id_ = n_pmds;
  rte_rcu_qsbr_thread_register(dp->rcu_, dp->trace_rcu_id_);

  phase_done("mbuf pool and rings made");
  auto tables = forward::ForwardingTables::build(spec.topology);
  if (!tables) return std::unexpected(tables.error());
  dp->tables_.set(std::shared_ptr<const forward::ForwardingTables>(std::move(*tables)));
  const auto start_tables = dp->tables_.get();
  const uint64_t tables_t0 = rte_get_tsc_cycles();  // the hash tables are touched as they are made
  auto fdb = forward::ConcurrentTable::create("ivs_fdb", sizeof(FdbKey), spec.fdb_size, dp->rcu_, true);
  if (!fdb) return std::unexpected(fdb.error());
  dp->fdb_ = std::move(*fdb);
  auto nb = forward::ConcurrentTable::create("ivs_neigh", sizeof(uint32_t), spec.neighbor_size, dp->rcu_);
  if (!nb) return std::unexpected(nb.error());
  dp->neighbors_ = std::move(*nb);
  if (start_tables->routes_ipv6()) {
    auto nb6 = forward::ConcurrentTable::create("ivs_neigh6", 16, spec.neighbor_size, dp->rcu_);
    if (!nb6) return std::unexpected(nb6.error());
    dp->neighbors6_ = std::move(*nb6);
  }

  // Flows: the flow table, and per datapath thread a ring of upcalls to the policy
  // thread and a ring of packets coming back (the policy itself is the policy module's).
  auto flows = flow::FlowTable::create(spec.flow_table_size, dp->rcu_);
  if (!flows) return std::unexpected(flows.error());
  dp->flows_ = std::move(*flows);
  dp->prefault_ms_ = static_cast<double>(rte_get_tsc_cycles() - tables_t0) * 1e3 / static_cast<double>(rte_get_tsc_hz());
  for (unsigned k = 0; k < n_pmds; ++k) {
    for (auto* rings : {&dp->rings_.up, &dp->rings_.re}) {
      const std::string name = fmt::format("ivs_{}{}", rings == &dp->rings_.up ? "up" : "re", k);
      rte_ring* r = rte_ring_create_elem(name.c_str(), sizeof(Upcall), 1024, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (!r) return std::unexpected(fmt::format("cannot create ring {}: {}", name, rte_strerror(rte_errno)));
      rings->push_back(r);
    }
  }

  forward::install_static_entries(spec.topology, *start_tables, *dp->fdb_, *dp->neighbors_);
  if (dp->neighbors6_)
    forward::apply_static_neighbors6({}, forward::static_neighbors6(spec.topology, *start_tables), *dp->neighbors6_);
  phase_done("tables (FDB, neighbours, flows) made and touched");

  // Ports, each polled by one PMD: the configured core, else round robin. The port
  // table has switch.max_ports slots from here on (the start's ports in the first ones):
  // every per-port array is sized to it now, so a port added at runtime takes a free slot
  // and nothing is reallocated under the datapath threads.
  const size_t capacity = std::max<size_t>(spec.max_ports, spec.ports.size());
  dp->runtime_ = std::vector<PortRuntime>(capacity);
  dp->slots_.assign(capacity, PortSlot::kFree);
  dp->ports_.resize(capacity);
  dp->port_specs_.resize(capacity);
  dp->port_pmd_.assign(capacity, 0);  // (by slot, as every per-port array: a free slot's is unused)
  dp->n_pmds_ = n_pmds;
  // af_packet ports whose mtu needs bigger mbufs than the switching pool's receive into
  // their own pool; fragments made for af_packet ports (PortRuntime::tx_mtu) take their
  // data as indirect mbufs.
  std::vector<dpdk::PortSpec> port_specs;
  for (const auto& p : spec.ports) port_specs.push_back(p.dev);
  const dpdk::JumboPool jumbo = dpdk::jumbo_pool_for(port_specs);
  if (jumbo.count) {
    dp->jumbo_pool_ = rte_pktmbuf_pool_create("ivs_jumbo", jumbo.count, kPoolCache, 0,
                                              static_cast<uint16_t>(jumbo.data_room + RTE_PKTMBUF_HEADROOM), socket);
    if (!dp->jumbo_pool_) return std::unexpected(fmt::format("cannot create the jumbo mbuf pool ({} mbufs of {} bytes): {}", jumbo.count, jumbo.data_room, rte_strerror(rte_errno)));
  }
  dp->indirect_pool_ = rte_pktmbuf_pool_create("ivs_indirect", 4095, kPoolCache, 0, 0, socket);
  if (!dp->indirect_pool_) return std::unexpected(fmt::format("cannot create the indirect mbuf pool: {}", rte_strerror(rte_errno)));
  for (size_t i = 0; i < spec.ports.size(); ++i) {  // (the start's ports: slots 0..n-1, in file order)
    unsigned owner = static_cast<unsigned>(i % n_pmds);
    if (const auto core = spec.ports[i].core)
      for (unsigned k = 0; k < n_pmds; ++k)
        if (pmd_cpus[k] == *core) owner = k;
    if (auto ok = dp->open_port(static_cast<uint16_t>(i), spec.ports[i], owner); !ok) {
      for (size_t s = 0; s < i; ++s) dp->close_port(static_cast<uint16_t>(s));
      return std::unexpected(ok.error());
    }
  }
  phase_done("ports opened");
  // The jobs' modules (pipeline/module.hpp), before the context the Forwarders ask for
  // their stages.
  ModuleEnv env{*cfg, dp->tables_, dp.get(), n_pmds, socket};
  env.port_capacity = static_cast<uint16_t>(capacity);
  for (size_t i = 0; i < spec.ports.size(); ++i) env.ports.push_back({spec.ports[i].dev.name, dp->runtime_[i].port_id, dp->port_pmd_[i]});
  env.flows = dp->flows_.get();
  env.upcall_rings = dp->rings_.up;
  env.reinject_rings = dp->rings_.re;
  // A chain's device is healthy while its ports have link (checked by the policy thread).
  env.port_up = [d = dp.get()](uint16_t port) { return d->live(port) && d->ports_[port].link_up(); };
  auto modules = make_modules(env);
  if (!modules) return std::unexpected(modules.error());
  dp->modules_ = std::move(*modules);
  for (const auto& m : dp->modules_)
    if (auto* h = m->upcall_handler()) dp->upcalls_ = h;
  if (!dp->upcalls_) return std::unexpected("no policy (the policy module was not made)");
  // A port's output through a module's queue (the QoS schedulers of qos.egress).
  for (size_t i = 0; i < dp->runtime_.size(); ++i)
    for (const auto& m : dp->modules_)
      if (EgressQueue* q = m->egress_queue(static_cast<uint16_t>(i))) dp->runtime_[i].egress_queue = q;
  dp->ctx_ = DatapathContext{start_tables.get(), dp->fdb_.get(),     dp->neighbors_.get(),  dp->learn_ring_,
                             dp->pool_,         &dp->runtime_, rte_get_tsc_hz(),      dp->flows_.get(),
                             spec.upcall_rate,   &dp->upcalls_->wakeup(),
                             dp->indirect_pool_, dp->upcalls_->cache_hit_sampler(),
                             &dp->modules_,      dp->neighbors6_.get(),
                             static_cast<uint16_t>(capacity), dp->next_hop_liveness_.get()};
  unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  for (unsigned k = 0; k < n_pmds; ++k) {
    if (lcore >= RTE_MAX_LCORE) return std::unexpected("fewer EAL lcores than datapath threads");
    dp->pmds_.push_back(std::make_unique<Pmd>(k, pmd_cpus[k], lcore, dp->ctx_, dp->rcu_, spec.idle_sleep_max_us,
                                              dp->rings_.up[k], dp->rings_.re[k]));
    lcore = rte_get_next_lcore(lcore, 1, 0);
  }
  dp->publish_rx_lists();  // (no thread runs yet: the old, empty lists go at once)
  // Live tracing (ivctl trace --live): a buffer per datapath thread, allocated now so that
  // tracing never allocates (pipeline/trace_record.hpp).
  for (unsigned k = 0; k < n_pmds; ++k) {
    dp->trace_bufs_.push_back(std::make_unique<TraceBuffer>(static_cast<uint8_t>(k)));
    dp->pmds_[k]->attach_live(&dp->live_, dp->trace_bufs_.back().get());
  }
  phase_done("modules and datapath threads made");
  dp->start_tsc_ = rte_rdtsc();
  return dp;
}

std::expected<void, std::string> Datapath::open_port(uint16_t slot, const DatapathPortSpec& p, unsigned pmd) {
  if (slot >= slots_.size() || slots_[slot] == PortSlot::kLive)
    return std::unexpected(fmt::format("port '{}': slot {} of the port table is not free", p.dev.name, slot));
  const dpdk::PortSpec& dev = p.dev;
  const bool af_packet = dev.kind == dpdk::PortKind::kAfPacket;
  const dpdk::AfPacketRing ring = dpdk::af_packet_ring(dev.mtu);
  const bool jumbo = af_packet && ring.mbuf_data_room() > RTE_MBUF_DEFAULT_DATAROOM;
  if (jumbo && !jumbo_pool_)  // (made at start for the start's ports only)
    return std::unexpected(fmt::format("port '{}': mtu {} needs the jumbo mbuf pool, which the switch made at start only for "
                                       "ports that needed it: restart ivswitchd with the port",
                                       dev.name, dev.mtu));
  auto port = dpdk::Port::open(dev, slot, static_cast<uint16_t>(n_pmds_), jumbo ? jumbo_pool_ : pool_, rcu_);
  if (!port) return std::unexpected(port.error());
  auto& rt = runtime_[slot];
  rt.io = port->io();
  rt.port_id = port->id();
  rt.tx_queues = port->tx_queue_count();
  rt.rx_queues = port->rx_queue_count();
  rt.tx_shared = rt.tx_queues < n_pmds_;
  rt.link_up = port->link_up();
  rt.link_ups = rt.link_up ? 1 : 0;
  rt.link_downs = 0;
  rt.rx_snap = rt.tx_mtu = 0;
  if (af_packet) {
    // Received: frames up to the ring slot (the port's mtu; IPv4 reassembled by the
    // kernel may be longer than the interface's MTU). Sent: no longer than the
    // interface takes.
    rt.rx_snap = ring.snap();
    const unsigned kmtu = port->kernel_mtu();
    rt.tx_mtu = kmtu ? std::min<uint32_t>(dev.mtu, kmtu) : dev.mtu;
  }
  ports_[slot] = std::move(*port);
  port_specs_[slot] = p;
  port_pmd_[slot] = pmd;
  slots_[slot] = PortSlot::kLive;
  return {};
}

void Datapath::close_port(uint16_t slot) {
  if (!live(slot)) return;
  ports_[slot].close();
  ports_[slot] = dpdk::Port{};
  auto& rt = runtime_[slot];
  rt.io = dpdk::PortIo{};
  rt.link_up = false;
  slots_[slot] = PortSlot::kRetired;
}

Datapath::~Datapath() {
  stop();
  for (auto& rt : runtime_) rt.egress_queue = nullptr;
  for (size_t s = 0; s < ports_.size(); ++s)
    if (live(s)) ports_[s].close();
  pmds_.clear();  // (their Forwarders' stages may point into the modules)
  // The modules before what they may hold packets of or point into: a QoS scheduler frees
  // what its shaper still holds back (rte_sched_port_free) into the mbuf pools, and the
  // policy's slow path refers to the flow table. (The upcall rings outlive them: UpcallRings.)
  modules_.clear();
  flows_.reset();
  if (exiting_) {
    // The process ends next: the tables' DPDK memory (the route table's 64 MB, the FDB's
    // and neighbours' hashes) goes with it. Freed one by one, DPDK clears each block as it
    // frees it: 0.44-0.7 s of a restart's gap on this machine (docs/vms.md). Kept
    // reachable, so that a leak checker does not report what was left on purpose.
    static struct LeftToExit {
      std::shared_ptr<const forward::ForwardingTables> tables;
      std::unique_ptr<forward::ConcurrentTable> fdb, neighbors, neighbors6;
    }* left = nullptr;
    left = new LeftToExit{tables_.get(), std::move(fdb_), std::move(neighbors_), std::move(neighbors6_)};
  }
  fdb_.reset();
  neighbors_.reset();
  neighbors6_.reset();
  tables_.set(nullptr);
  if (learn_ring_) rte_ring_free(learn_ring_);
  if (rcu_) rte_free(rcu_);
  if (indirect_pool_) rte_mempool_free(indirect_pool_);
  if (jumbo_pool_) rte_mempool_free(jumbo_pool_);
  if (pool_) rte_mempool_free(pool_);
}

Datapath::UpcallRings::~UpcallRings() {
  for (auto* r : up) rte_ring_free(r);
  for (auto* r : re) rte_ring_free(r);
}

void Datapath::start() {
  // Every ring and mempool resident before any thread uses it (the hash tables were
  // cleared, hence touched, when created): no page fault on the datapath, and RSS flat
  // from here on (dpdk/memory.hpp).
  {
    const uint64_t t0 = rte_get_tsc_cycles();
    const auto before = dpdk::read_process_memory();
    prefault_bytes_ = dpdk::prefault_memzones();
    prefault_ms_ += static_cast<double>(rte_get_tsc_cycles() - t0) * 1e3 / static_cast<double>(rte_get_tsc_hz());
    const auto after = dpdk::read_process_memory();
    spdlog::info("memory: {} MB of rings and mempools touched before start, tables at creation, {:.0f} ms in all; "
                 "RSS {} MB (+{} MB), of which shared (DPDK without hugepages) {} MB; hugepages {} MB",
                 prefault_bytes_ >> 20, prefault_ms_, after.rss_kb >> 10,
                 after.rss_kb > before.rss_kb ? (after.rss_kb - before.rss_kb) >> 10 : 0, after.rss_shmem_kb >> 10,
                 after.hugetlb_kb >> 10);
  }
  // In registration order: the flow records' exporter before the policy module's thread
  // that feeds it (registered last).
  const uint64_t modules_t0 = rte_get_tsc_cycles();
  for (auto& m : modules_)
    if (auto ok = m->start(); !ok) spdlog::error("{}: {}", m->name(), ok.error());
  spdlog::info("start phase: modules started in {:.0f} ms",
               static_cast<double>(rte_get_tsc_cycles() - modules_t0) * 1e3 / static_cast<double>(rte_get_tsc_hz()));
  running_ = true;
  for (auto& p : pmds_) {
    auto* arg = new std::pair<Pmd*, const std::atomic<bool>*>(p.get(), &running_);
    if (rte_eal_remote_launch(pmd_main, arg, p->lcore()) != 0) {
      delete arg;
      spdlog::error("cannot launch datapath thread on lcore {}", p->lcore());
    }
  }
  started_ = true;
  spdlog::info("datapath started: {} thread(s), {} port(s)", pmds_.size(), live_ports());
}

std::vector<uint64_t> Datapath::heartbeats() const {
  std::vector<uint64_t> h;
  h.reserve(pmds_.size());
  for (const auto& p : pmds_) h.push_back(p->heartbeat());
  return h;
}

void Datapath::stop() {
  if (!started_) return;
  running_ = false;
  rte_eal_mp_wait_lcore();
  // In reverse registration order: the policy module first (its thread stops, frees the
  // packets still waiting for a verdict and ends every flow's records: no datapath thread
  // runs now), then the exporter sends what is queued, the mirror broker delivers what
  // is queued and closes the files.
  for (auto it = modules_.rbegin(); it != modules_.rend(); ++it) (*it)->stop();
  for (auto* r : rings_.re) {  // and those that got one but were not picked up
    Upcall u[32];
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst_elem(r, u, sizeof(Upcall), 32, nullptr)) > 0)
      for (unsigned i = 0; i < n; ++i) rte_pktmbuf_free(u[i].mbuf);
  }
  started_ = false;
}

std::expected<uint32_t, std::string> Datapath::reload_policy(const config::Config& next, ConfigStager stage) {
  std::lock_guard lock(reload_mutex_);
  auto staged = stage(*config(), next);  // (refuses what may not change at runtime)
  if (!staged) return std::unexpected(staged.error());
  // The VMs' static entries: from those of the running topology to the next's (a VM added,
  // removed, changed or moved), planned here, written below with the other parts.
  const auto tables = tables_.get();
  const auto next_static = forward::static_entries(staged->spec.topology, *tables);
  if (next_static.fdb.size() > fdb_->capacity() || next_static.neighbors.size() > neighbors_->capacity())
    return std::unexpected(fmt::format("vms: {} static MAC and {} neighbour entries do not fit in switch.fdb_size {} / "
                                       "switch.neighbor_size {} (restart with larger tables)",
                                       next_static.fdb.size(), next_static.neighbors.size(), fdb_->capacity(),
                                       neighbors_->capacity()));
  const auto static_changes = forward::plan_static_entries(forward::static_entries(spec_.topology, *tables), next_static);
  // The VMs' IPv6 addresses as static IPv6 neighbours (forward/static_neighbors6.hpp).
  forward::StaticNeighbors6 running6, next6;
  if (neighbors6_) {
    running6 = forward::static_neighbors6(spec_.topology, *tables);
    next6 = forward::static_neighbors6(staged->spec.topology, *tables);
    if (next6.size() > neighbors6_->capacity())
      return std::unexpected(fmt::format("vms: {} static IPv6 neighbour entries do not fit in the IPv6 neighbour table's {} "
                                         "(switch.neighbor_size; restart with a larger table)",
                                         next6.size(), neighbors6_->capacity()));
  }
  const auto removed6 = forward::removed_neighbors6(running6, next6);
  // The modules' parts (the mirrors' among them), planned before anything is applied (a
  // refusal changes nothing).
  std::vector<std::function<void()>> module_parts;
  for (auto& m : modules_) {
    auto part = m->plan_reload(next);
    if (!part && m->changes_at_runtime()) return std::unexpected(part.error());
    if (!part) return std::unexpected(fmt::format("{}: restart ivswitchd for this change", part.error()));
    if (*part) module_parts.push_back(std::move(*part));
  }
  const uint32_t epoch = next_epoch_;
  auto policy_part = upcalls_->plan_policy(next, epoch);  // the policy module compiles it
  if (!policy_part) return std::unexpected(policy_part.error());
  // Everything is planned: apply. The static entries first, so that the new epoch's
  // revalidation and the flows' next packets see the next VMs (a cached flow looks its
  // output up in the MAC table and the neighbours on every packet: it follows at once).
  ++next_epoch_;
  if (!static_changes.empty() || !running6.empty() || !next6.empty()) {
    std::lock_guard tables_lock(table_mutex_);  // (the tables' one writer)
    auto r = forward::apply_static_entries(static_changes, *fdb_, *neighbors_, [this] { synchronize(); });
    spdlog::info("reload: static entries: {} MAC(s) removed, {} written; {} neighbour(s) removed, {} written",
                 static_changes.fdb_erase.size(), static_changes.fdb_set.size(), static_changes.neighbor_erase.size(),
                 static_changes.neighbor_set.size());
    if (neighbors6_) {
      const auto r6 = forward::apply_static_neighbors6(running6, next6, *neighbors6_, [this] { synchronize(); });
      r.evicted += r6.evicted;
      r.failed += r6.failed;
    }
    static_evicted_ += r.evicted;
    static_failed_ += r.failed;
    if (r.evicted > 0)
      spdlog::warn("reload: {} learned MAC/neighbour entries evicted (least recently seen first) to make room for VMs' "
                   "static entries: the tables are full; raise switch.fdb_size / switch.neighbor_size",
                   r.evicted);
    if (r.failed > 0)
      spdlog::error("reload: {} VM static entries could not be written (their table's buckets are full); those VMs are "
                    "learned from their traffic until a restart with larger tables (ivswitch_static_entries_failed_total)",
                    r.failed);
  }
  spec_.topology = std::move(staged->spec.topology);
  (*policy_part)();
  {
    std::lock_guard cfg_lock(cfg_mutex_);  // (views keep the snapshot they took)
    cfg_ = std::move(staged->cfg);
  }
  for (auto& part : module_parts) part();
  if (!static_changes.fdb_erase.empty() || !static_changes.neighbor_erase.empty() || !removed6.empty()) {
    // Until port security's next checks were published (a module part, just above), the
    // old ones still admitted a removed VM's frames, and their MAC and ARP learn events
    // may have re-installed what was erased, as learned entries on its old port. Once no
    // datapath thread sees the old checks, apply what was queued and erase those keys
    // again (a learned entry under a key that stays static was overwritten already).
    synchronize();
    std::lock_guard tables_lock(table_mutex_);
    drain_learn_ring();
    for (const auto& k : static_changes.fdb_erase)
      if (!static_changes.sets_fdb(k)) fdb_->erase(&k);
    for (const uint32_t ip : static_changes.neighbor_erase)
      if (!static_changes.sets_neighbor(ip)) neighbors_->erase(&ip);
    for (const auto& addr : removed6) neighbors6_->erase(addr.data());  // (removed6 has none of next6's)
  }
  return epoch;
}

std::vector<std::unique_ptr<const RxList>> Datapath::publish_rx_lists() {
  std::vector<RxList> next(pmds_.size());
  const auto tables = tables_.get();  // (kept alive by tables_ until the next lists replace these)
  for (size_t p = 0; p < slots_.size(); ++p) {
    if (slots_[p] != PortSlot::kFree) slots_in_use_ = std::max(slots_in_use_, static_cast<uint16_t>(p + 1));
    if (slots_[p] != PortSlot::kLive) continue;
    RxList& l = next[port_pmd_[p]];
    l.ports.push_back(static_cast<uint16_t>(p));
    if (runtime_[p].egress_queue) l.queued.push_back(static_cast<uint16_t>(p));
  }
  for (RxList& l : next) {
    l.slots_in_use = slots_in_use_;
    l.tables = tables.get();
  }
  std::vector<std::unique_ptr<const RxList>> old;
  for (size_t k = 0; k < pmds_.size(); ++k) old.push_back(pmds_[k]->publish_rx(std::make_unique<RxList>(std::move(next[k]))));
  return old;
}

size_t Datapath::live_ports() const {
  return static_cast<size_t>(std::count(slots_.begin(), slots_.end(), PortSlot::kLive));
}

void Datapath::synchronize() const { rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID); }

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
                     mac.to_string(), tables_.get()->port_name(ev.port));
      return;
    }
    (known ? fdb_moved_ : fdb_learned_)++;
  } else if (ev.kind == LearnEvent::kNeighbor) {
    uint64_t raw = 0;
    if (neighbors_->lookup(&ev.ip, raw) >= 0 && NeighborEntry::decode(raw).is_static) return;
    if (neighbors_->upsert(&ev.ip, NeighborEntry{mac, false}.encode(), now)) neighbors_learned_++;
  } else if (ev.kind == LearnEvent::kNeighbor6 && neighbors6_) {
    uint64_t raw = 0;
    if (neighbors6_->lookup(ev.ip6, raw) >= 0 && NeighborEntry::decode(raw).is_static) return;
    if (neighbors6_->upsert(ev.ip6, NeighborEntry{mac, false}.encode(), now)) neighbors6_learned_++;
  }
}

void Datapath::age(uint32_t now) {
  const uint32_t limit = spec_.fdb_aging_seconds;
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
  if (!neighbors6_) return;
  std::vector<std::array<uint8_t, 16>> old_ip6s;
  neighbors6_->for_each([&](const void* key, uint64_t v, int32_t pos) {
    if (!NeighborEntry::decode(v).is_static && now - neighbors6_->last_seen(pos) > limit) std::memcpy(old_ip6s.emplace_back().data(), key, 16);
  });
  for (const auto& ip : old_ip6s) neighbors6_->erase(ip.data());
}

// The datapath threads decide a next hop is down as they use it (next_hop_liveness.hpp);
// here, once a second, each fall is counted (show routes' DOWNS).
void Datapath::count_next_hops_down(uint32_t now) {
  const auto tables = tables_.get();
  for (size_t i = 0; i < tables->next_hops().size() && i < forward::kMaxNextHops; ++i) {
    const bool down = tables->next_hop(i).ecmp && next_hop_liveness_[i].down(now);
    if (down && !next_hop_was_down_[i]) ++next_hop_downs_[i];
    next_hop_was_down_[i] = down;
  }
}

void Datapath::drain_learn_ring() {
  const uint32_t now = now_s();
  LearnEvent evs[64];
  unsigned n;
  while ((n = rte_ring_sc_dequeue_burst_elem(learn_ring_, evs, sizeof(LearnEvent), 64, nullptr)) > 0)
    for (unsigned i = 0; i < n; ++i) apply(evs[i], now);
}

void Datapath::maintain() {
  std::lock_guard lock(table_mutex_);
  const uint32_t now = now_s();
  drain_learn_ring();
  if (now != last_age_s_) {
    last_age_s_ = now;
    age(now);
    count_next_hops_down(now);
  }
  // Link state gates transmission (tx.link_down). vhost-user ports publish theirs (and
  // count every transition) from the vhost library's callbacks: copied every pass, three
  // atomic loads each.
  for (size_t i = 0; i < ports_.size(); ++i) {
    if (!live(i)) continue;
    if (const auto ev = ports_[i].link_events()) {
      runtime_[i].link_up.store(ev->up, std::memory_order_relaxed);
      runtime_[i].link_ups.store(ev->ups, std::memory_order_relaxed);
      runtime_[i].link_downs.store(ev->downs, std::memory_order_relaxed);
    }
  }
  // Other ports are polled often enough that one that just got its peer gets traffic at
  // once, rarely enough to cost nothing (10 per second; a carrier file read each).
  const uint64_t tsc = rte_rdtsc();
  if (tsc >= next_link_check_tsc_) {
    next_link_check_tsc_ = tsc + rte_get_tsc_hz() / 10;
    for (size_t i = 0; i < ports_.size(); ++i) {
      if (!live(i) || ports_[i].link_events()) continue;
      const bool up = ports_[i].link_up();
      if (up == runtime_[i].link_up.load(std::memory_order_relaxed)) continue;
      runtime_[i].link_up = up;
      (up ? runtime_[i].link_ups : runtime_[i].link_downs).fetch_add(1, std::memory_order_relaxed);
    }
  }
}

}  // namespace ivs::pipeline
