// Read-only views of the datapath for ivctl and /metrics (control threads only).
#include <rte_cycles.h>
#include <rte_mempool.h>

#include "pipeline/datapath.hpp"

#include "dpdk/memory.hpp"

namespace ivs::pipeline {

using forward::FdbEntry;
using forward::FdbKey;
using forward::NeighborEntry;

std::vector<PortSnapshot> Datapath::ports() const {
  std::vector<PortSnapshot> out;
  for (size_t i = 0; i < ports_.size(); ++i) {  // the live slots, in slot order
    if (!live(i)) continue;
    const auto& ps = port_specs_[i];
    PortSnapshot s;
    s.slot = static_cast<uint16_t>(i);
    s.name = ps.dev.name;
    s.type = ps.type;
    s.driver = ports_[i].driver();
    s.detail = ps.detail;
    s.network_mode = ps.network_mode;
    s.link_up = runtime_[i].link_up;
    s.link_ups = runtime_[i].link_ups.load(std::memory_order_relaxed);
    s.link_downs = runtime_[i].link_downs.load(std::memory_order_relaxed);
    s.pmd_cpu = pmds_[port_pmd_[i]]->cpu();
    for (const auto& pmd : pmds_) {
      const auto& c = pmd->port_counters()[i];
      s.rx_packets += c.rx_packets.get();
      s.rx_bytes += c.rx_bytes.get();
      s.tx_packets += c.tx_packets.get();
      s.tx_bytes += c.tx_bytes.get();
      for (size_t r = 0; r < kDropReasonCount; ++r) s.drops[r] += c.drops[r].get();
    }
    for (uint64_t d : s.drops) s.drops_total += d;
    s.dev = ports_[i].stats();
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<FdbSnapshotEntry> Datapath::fdb() const {
  const auto tables = tables_.get();  // (a snapshot: a reload may publish the next meanwhile)
  std::lock_guard lock(table_mutex_);
  std::vector<FdbSnapshotEntry> out;
  const uint32_t now = now_s();
  fdb_->for_each([&](const void* key, uint64_t v, int32_t pos) {
    const auto* k = static_cast<const FdbKey*>(key);
    const FdbEntry e = FdbEntry::decode(v);
    out.push_back({tables->network(static_cast<int16_t>(k->network)).name, MacAddr::from(k->mac).to_string(),
                   tables->port_name(e.port), e.is_static, e.is_static ? 0 : now - fdb_->last_seen(pos)});
  });
  return out;
}

std::vector<NeighborSnapshotEntry> Datapath::neighbors() const {
  const auto tables = tables_.get();  // (a snapshot: a reload may publish the next meanwhile)
  std::lock_guard lock(table_mutex_);
  std::vector<NeighborSnapshotEntry> out;
  const uint32_t now = now_s();
  neighbors_->for_each([&](const void* key, uint64_t v, int32_t pos) {
    const uint32_t ip = *static_cast<const uint32_t*>(key);
    const NeighborEntry e = NeighborEntry::decode(v);
    const int16_t net = tables->route(ip);
    out.push_back({net >= 0 ? tables->network(net).name : "-", Ipv4Addr{ip}.to_string(), e.mac.to_string(),
                   e.is_static, e.is_static ? 0 : now - neighbors_->last_seen(pos)});
  });
  if (neighbors6_)
    neighbors6_->for_each([&](const void* key, uint64_t v, int32_t pos) {
      IpPrefix a{6, 128, {}};
      std::memcpy(a.bytes.data(), key, 16);
      const int16_t net = tables->route6(a.bytes.data());
      const NeighborEntry e = NeighborEntry::decode(v);
      out.push_back({net >= 0 ? tables->network(net).name : "-", a.to_string(), e.mac.to_string(), e.is_static,
                     e.is_static ? 0 : now - neighbors6_->last_seen(pos)});
    });
  return out;
}

std::vector<RouteSnapshotEntry> Datapath::routes() const {
  const auto tables = tables_.get();  // (a snapshot: a reload may publish the next meanwhile)
  std::vector<RouteSnapshotEntry> out;
  for (size_t i = 0; i < tables->network_count(); ++i) {
    const auto& n = tables->network(static_cast<int16_t>(i));
    if (!n.subnet || !n.gateway) continue;
    out.push_back({n.subnet->to_string(), n.name, n.gateway->to_string(), n.gateway_mac.to_string(), n.vlan});
  }
  for (size_t i = 0; i < tables->network_count(); ++i) {  // IPv6 after IPv4
    const auto& n = tables->network(static_cast<int16_t>(i));
    if (!n.subnet6 || !n.gateway6) continue;
    out.push_back({n.subnet6->to_string(), n.name, n.gateway6->to_string(), n.gateway_mac.to_string(), n.vlan});
  }
  return out;
}

std::vector<RouteHopSnapshot> Datapath::route_hops() const {
  const auto tables = tables_.get();  // (a snapshot: a reload may publish the next meanwhile)
  std::vector<RouteHopSnapshot> out;
  std::lock_guard lock(table_mutex_);
  for (const auto& r : tables->static_routes())
    for (size_t i = r.first; i < size_t{r.first} + r.count; ++i) {
      const auto& h = tables->next_hop(i);
      RouteHopSnapshot s{r.prefix.to_string(), h.ip.to_string(), tables->network(h.network).name, "", 0, "", next_hop_downs_[i]};
      uint64_t raw = 0;
      if (neighbors_->lookup(&h.ip.value, raw) >= 0) s.mac = NeighborEntry::decode(raw).mac.to_string();
      for (const auto& p : pmds_) s.packets += p->counters().next_hop_packets[i].get();
      s.state = next_hop_state(&next_hop_liveness_[i], h.ecmp, !s.mac.empty(), now_s());
      out.push_back(std::move(s));
    }
  return out;
}

std::vector<PmdSnapshot> Datapath::pmds() const {
  const auto tables = tables_.get();
  std::vector<PmdSnapshot> out;
  for (const auto& p : pmds_) {
    PmdSnapshot s{p->index(), p->cpu(), {}, 0, 0, 0, 0, 0, 0};
    for (uint16_t port : p->rx_ports()) s.ports.push_back(tables->port_name(port));
    const auto& c = p->counters();
    s.iterations = c.iterations.get();
    s.busy_cycles = c.busy_cycles.get();
    s.idle_cycles = c.idle_cycles.get();
    s.packets = c.packets.get();
    s.sleeps = c.sleeps.get();
    s.sleep_us = c.sleep_us.get();
    s.tid = p->tid();
    if (const auto f = dpdk::read_thread_faults(s.tid); f.ok) {
      s.minor_faults = f.minor;
      s.major_faults = f.major;
    }
    out.push_back(std::move(s));
  }
  return out;
}

StatsSnapshot Datapath::stats() const {
  StatsSnapshot s;
  for (const auto& p : ports()) {
    s.rx_packets += p.rx_packets;
    s.tx_packets += p.tx_packets;
    for (size_t r = 0; r < kDropReasonCount; ++r) s.drops[r] += p.drops[r];
  }
  for (uint64_t d : s.drops) s.drops_total += d;
  for (const auto& p : pmds_)
    for (size_t e = 0; e < kEventCount; ++e) s.events[e] += p->counters().events[e].get();
  s.fdb_learned = fdb_learned_;
  s.fdb_moved = fdb_moved_;
  s.fdb_aged = fdb_aged_;
  s.fdb_full = fdb_full_;
  s.neighbors_learned = neighbors_learned_;
  s.static_evicted = static_evicted_;
  s.static_failed = static_failed_;
  s.neighbors6_learned = neighbors6_learned_;
  {
    std::lock_guard lock(table_mutex_);
    s.fdb_entries = fdb_->size();
    s.neighbor_entries = neighbors_->size();
    s.neighbor6_entries = neighbors6_ ? neighbors6_->size() : 0;
  }
  s.fdb_capacity = fdb_->capacity();
  s.port_slots = static_cast<uint32_t>(port_capacity());
  s.ports_live = static_cast<uint32_t>(live_ports());
  s.mbufs_total = pool_->size;
  s.mbufs_in_use = rte_mempool_in_use_count(pool_);
  const auto mem = dpdk::read_process_memory();
  s.rss_kb = mem.rss_kb;
  s.rss_anon_kb = mem.rss_anon_kb;
  s.rss_file_kb = mem.rss_file_kb;
  s.rss_shmem_kb = mem.rss_shmem_kb;
  s.hugetlb_kb = mem.hugetlb_kb;
  const auto heap = dpdk::read_heap_stats();
  s.heap_total_bytes = heap.total_bytes;
  s.heap_allocated_bytes = heap.allocated_bytes;
  s.heap_free_bytes = heap.free_bytes;
  s.prefault_bytes = prefault_bytes_;
  s.prefault_ms = prefault_ms_;
  for (const auto& p : pmds_)
    if (const auto f = dpdk::read_thread_faults(p->tid()); f.ok) {
      s.datapath_minor_faults += f.minor;
      s.datapath_major_faults += f.major;
    }
  s.tsc_hz = rte_get_tsc_hz();
  s.uptime_s = static_cast<double>(rte_rdtsc() - start_tsc_) / static_cast<double>(s.tsc_hz);
  return s;
}

}  // namespace ivs::pipeline
