// ivctl trace: a described packet through the Forwarder in simulation mode (trace), and
// live packets traced by the datapath threads themselves (trace_live). Both record with
// the same stages into a TraceBuffer and are formatted by pipeline/trace_format.cpp.
#include <fmt/format.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "packet/pcap_filter.hpp"
#include "pipeline/datapath.hpp"

namespace ivs::pipeline {

TraceNames Datapath::trace_names(const forward::ForwardingTables& tables, const TraceNamer& policy,
                                  const std::vector<std::string>& mirrors) const {
  TraceNames names{tables, {}, &mirrors};
  names.namers.push_back(policy);
  for (const auto& m : modules_)
    if (auto namer = m->trace_namer()) names.namers.push_back(std::move(namer));
  return names;
}

auto Datapath::trace(uint16_t in_port, const std::vector<uint8_t>& frame) -> std::expected<TraceResult, std::string> {
  if (!live(in_port)) return std::unexpected("no such port");
  std::lock_guard lock(trace_mutex_);
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) return std::unexpected("no packet buffer free");
  char* data = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
  if (!data) {
    rte_pktmbuf_free(m);
    return std::unexpected("frame too long");
  }
  std::memcpy(data, frame.data(), frame.size());
  trace_port_counters_ = std::vector<PortCounters>(ctx_.port_slots());
  // Same code as the datapath threads, simulating: nothing is learned, installed or sent.
  Forwarder fwd(ctx_, 0, trace_counters_, trace_port_counters_, rings_.up.empty() ? nullptr : rings_.up[0]);
  auto buf = std::make_unique<TraceBuffer>();
  rte_rcu_qsbr_thread_online(rcu_, trace_rcu_id_);
  fwd.simulate(*buf, *upcalls_, in_port, m, static_cast<uint32_t>(rte_rdtsc() / rte_get_tsc_hz()), rte_rdtsc());
  rte_rcu_qsbr_thread_offline(rcu_, trace_rcu_id_);
  TraceResult r;
  const auto tables = tables_.get();
  for (uint16_t p = 0; p < slots_in_use_; ++p) {  // (every slot a frame may have been sent to)
    auto& b = fwd.batch(p);
    for (uint16_t i = 0; i < b.size(); ++i) {
      rte_mbuf* out = b.packets()[i];
      const uint8_t* d = rte_pktmbuf_mtod(out, const uint8_t*);
      r.outputs.emplace_back(tables->port_name(p), std::vector<uint8_t>(d, d + out->data_len));
      rte_pktmbuf_free(out);
    }
    b = TxBatch{};
  }
  const auto mirrors = trace_slot_names(TraceEvent::kMirrorCopied);
  upcalls_->with_policy([&](const TraceNamer& pol, uint32_t epoch) {
    r.packet = format_packet(*buf, 0, trace_names(*tables, pol, mirrors));
    r.epoch = epoch;
  });
  return r;
}

auto Datapath::trace_live(const std::string& port, const std::string& filter, uint32_t count, std::chrono::milliseconds timeout)
    -> std::expected<LiveTraceResult, std::string> {
  using Clock = std::chrono::steady_clock;
  if (!started_) return std::unexpected("the datapath is not running");
  const auto tables = tables_.get();
  const int p = tables->port_index(port);
  if (p < 0) return std::unexpected(fmt::format("no port '{}'", port));
  if (count == 0 || count > kMaxLiveTrace) return std::unexpected(fmt::format("count: 1..{} packets", kMaxLiveTrace));
  std::unique_ptr<packet::PacketFilter> f;
  if (!filter.empty()) {
    auto c = packet::PacketFilter::compile(filter);
    if (!c) return std::unexpected(fmt::format("filter: {}", c.error()));
    f = std::move(*c);
  }
  std::unique_lock lock(live_mutex_, std::try_to_lock);
  if (!lock) return std::unexpected("another live trace is running; try again when it ends");
  // No session: nothing writes the buffers (the last one ended with a grace period).
  for (auto& b : trace_bufs_) b->reset();
  live_.port = static_cast<uint16_t>(p);
  live_.filter = f.get();
  live_session_ = static_cast<uint8_t>(live_session_ % 255 + 1);
  live_.session.store(live_session_, std::memory_order_release);
  const auto t0 = Clock::now();
  live_.budget.store(count, std::memory_order_release);  // armed
  while (live_.budget.load(std::memory_order_relaxed) != 0 && Clock::now() - t0 < timeout)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  LiveTraceResult r;
  r.timed_out = live_.budget.exchange(0, std::memory_order_acq_rel) != 0;
  // Every burst that saw the budget has finished once each thread has passed a quiescent
  // point; packets of new flows still with the policy thread come back within
  // milliseconds (at most 500 are waited for).
  rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
  const auto t1 = Clock::now();
  auto pending = [&] {
    for (auto& b : trace_bufs_)
      if (b->any_upcalled()) return true;
    return false;
  };
  while (pending() && Clock::now() - t1 < std::chrono::milliseconds(500)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  live_.session.store(0, std::memory_order_release);
  rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);  // the last re-injected bursts are done
  live_.filter = nullptr;
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.tsc_hz = rte_get_tsc_hz();
  const auto mirrors = trace_slot_names(TraceEvent::kMirrorCopied);
  upcalls_->with_policy([&](const TraceNamer& pol, uint32_t epoch) {
    const TraceNames names = trace_names(*tables, pol, mirrors);
    for (auto& b : trace_bufs_) {
      for (auto& fp : format_trace(*b, names)) r.packets.push_back(std::move(fp));
      r.records_lost += b->lost();
    }
    r.epoch = epoch;
  });
  // Threads in arrival order.
  std::stable_sort(r.packets.begin(), r.packets.end(), [](const auto& a, const auto& b) { return a.tsc < b.tsc; });
  return r;
}

std::vector<std::string> Datapath::trace_slot_names(TraceEvent e) const {
  for (const auto& m : modules_)
    if (auto names = m->trace_slot_names(e); !names.empty()) return names;
  return {};
}

}  // namespace ivs::pipeline
