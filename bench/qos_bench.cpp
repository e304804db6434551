// QoS guard benchmarks (issue 5), with the real Forwarder, flow table, policy thread code
// (run synchronously) and DPDK rte_meter / rte_sched; no I/O.
//   BM_QosGuard/F     cycles per packet of Forwarder::process over F cached UDP flows,
//                     by mode (all five in one run, alternated; ratios to mode 0):
//                       0 no qos section (the guard off)
//                       1 enforce, packets already carry the assigned DSCP (check only)
//                       2 enforce, every packet rewritten (DSCP + incremental checksum)
//                       3 as 2, plus a meter (rates high enough that all are green)
//                       4 as 2, plus classes (class of every output packet counted)
//   BM_SchedCongested cycles per packet through an egress scheduler at 1 Gbit/s offered
//                     2.15 Gbit/s (32 small frames every 10 us, 1 in 4 of the strict
//                     class): enqueue, tail drop, dequeue, tx to a ring ethdev; reports
//                     the share sent and the strict class's drops
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_pause.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "qos/scheduler.hpp"
#include "support/forwarder_rig.hpp"

using namespace ivs;
using namespace ivs::test;

namespace {

constexpr uint16_t kBurst = 32;

std::string config(int mode, uint32_t table) {
  std::string y = fmt::format(R"(
ports:
  - {{name: a, type: discard, network: web}}
  - {{name: b, type: discard, network: web}}
networks:
  - {{name: web, vlan: 10, subnet: 10.0.0.0/8}}
vms:
  - {{name: va, port: a, mac: "02:00:00:00:00:01", ip: 10.0.0.1}}
  - {{name: vb, port: b, mac: "02:00:00:00:00:02", ip: 10.0.0.2}}
flows: {{table_size: {}, upcall_rate: 10000000}}
policy:
  default: allow
)", table);
  if (mode == 0) return y;
  y += "qos:\n  assign:\n    - {name: a-ef, from: 10.0.0.0/16, dscp: EF" + std::string(mode == 3 ? ", meter: m" : "") + "}\n";
  if (mode == 3) y += "  meters:\n    - {name: m, cir_kbit: 100000000, pir_kbit: 100000000, cbs_bytes: 1000000000, pbs_bytes: 1000000000}\n";
  if (mode == 4) y += "  classes:\n    - {name: voice, dscp: [EF], priority: 0}\n    - {name: bulk, dscp: [CS1], weight: 1}\n";
  return y;
}

Bytes flow_frame(uint32_t i, uint8_t tos) {
  const uint32_t src = ip4("10.0.0.1") + ((i / 60000) << 8);
  return ipv4({mac("02:00:00:00:00:02"), mac("02:00:00:00:00:01")}, src, ip4("10.0.0.2"), packet::kProtoUdp,
              udp(static_cast<uint16_t>(1024 + i % 60000), 5001), 64, tos);
}

// One rig per mode, all alive at once; rounds alternate the modes (order rotated each
// round) so that every mode sees the same machine state; each mode's cost is reported as
// the median over rounds, and its ratio to mode 0 (off) as the median of the per-round
// ratios (this machine's noise between runs is larger than the differences measured).
void BM_QosGuard(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  constexpr int kModes = 5, kRounds = 31, kBurstsPerRound = 2000;
  std::vector<std::unique_ptr<ForwarderRig>> rigs;
  for (int mode = 0; mode < kModes; ++mode) {
    rigs.push_back(std::make_unique<ForwarderRig>(config(mode, std::max<uint32_t>(flows * 2, 4096)), 4096, 4095));
    ForwarderRig& rig = *rigs.back();
    const uint8_t tos = mode == 1 ? 46 << 2 : 0;
    for (uint32_t i = 0; i < flows; i += kBurst) {  // install every flow through the policy thread
      rte_mbuf* pkts[kBurst];
      const uint16_t n = static_cast<uint16_t>(std::min<uint32_t>(kBurst, flows - i));
      for (uint16_t k = 0; k < n; ++k) pkts[k] = rig.mbuf(flow_frame(i + k, tos));
      rig.forwarder().process(0, pkts, n, 1, rte_rdtsc());
      while (rig.run_policy() > 0) {
      }
      rig.take(1);
    }
    if (rig.flows().size() != flows) return state.SkipWithError("not every flow was installed");
  }
  std::vector<std::vector<double>> cpp(kModes);  // cycles per packet, per round
  uint32_t next[kModes] = {};
  for (auto _ : state) {
    for (int round = 0; round < kRounds; ++round)
      for (int k = 0; k < kModes; ++k) {
        const int mode = (k + round) % kModes;
        ForwarderRig& rig = *rigs[static_cast<size_t>(mode)];
        const uint8_t tos = mode == 1 ? 46 << 2 : 0;
        uint64_t cycles = 0;
        rte_mbuf* pkts[kBurst];
        for (int b = 0; b < kBurstsPerRound; ++b) {
          for (auto& p : pkts) p = rig.mbuf(flow_frame(next[mode]++ % flows, tos));
          const uint64_t t0 = rte_rdtsc();
          rig.forwarder().process(0, pkts, kBurst, 1, t0);
          cycles += rte_rdtsc() - t0;
          if (rig.take(1).size() != kBurst) return state.SkipWithError("packets lost");
        }
        cpp[static_cast<size_t>(mode)].push_back(static_cast<double>(cycles) / (kBurstsPerRound * kBurst));
      }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  static const char* kNames[kModes] = {"off", "check", "rewrite", "rewrite+meter", "rewrite+classes"};
  for (int mode = 0; mode < kModes; ++mode) {
    std::vector<double> ratio;
    for (size_t r = 0; r < cpp[0].size(); ++r) ratio.push_back(cpp[static_cast<size_t>(mode)][r] / cpp[0][r]);
    state.counters[fmt::format("{}_{} cycles/pkt", mode, kNames[mode])] = median(cpp[static_cast<size_t>(mode)]);
    if (mode) state.counters[fmt::format("{}_{} x off", mode, kNames[mode])] = median(ratio);
  }
  if (rigs[2]->qos_counters().vms[0].rewritten.get() == 0) state.SkipWithError("packets not rewritten");
}
BENCHMARK(BM_QosGuard)->Arg(1)->Arg(100000)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_SchedCongested(benchmark::State& state) {
  auto cfg = config::load_string(config(4, 4096) + "  egress:\n    - {port: b, rate_kbit: 1000000, queue_packets: 64}\n", "bench.yaml");
  if (!cfg) return state.SkipWithError(cfg.error().front().c_str());
  auto tables = qos::QosTables::create(*cfg);
  auto sched = qos::Scheduler::create("b", cfg->qos.egress[0], **tables, static_cast<int>(rte_socket_id()));
  if (!sched) return state.SkipWithError(sched.error().c_str());
  static int seq = 0;  // one ring ethdev per run: names are not reusable after close
  rte_ring* ring = rte_ring_create(fmt::format("bench_dev{}", seq++).c_str(), 1024, static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
  const int port = rte_eth_from_ring(ring);
  rte_mempool* pool = rte_pktmbuf_pool_create("bench_sched", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  rte_eth_conf conf{};
  const uint16_t pid = static_cast<uint16_t>(port);
  if (port < 0 || !pool || rte_eth_dev_configure(pid, 1, 1, &conf) != 0 ||
      rte_eth_rx_queue_setup(pid, 0, 1024, static_cast<unsigned>(rte_socket_id()), nullptr, pool) != 0 ||
      rte_eth_tx_queue_setup(pid, 0, 1024, static_cast<unsigned>(rte_socket_id()), nullptr) != 0 || rte_eth_dev_start(pid) != 0)
    return state.SkipWithError("ring ethdev");
  const Bytes ef = flow_frame(0, 46 << 2), cs1 = flow_frame(1, 8 << 2);
  uint64_t cycles = 0, offered = 0, sent = 0, dropped = 0;
  // Offered load paced: 32 frames (84 bytes on the wire with overheads) every 10 us is
  // 2.15 Gbit/s into a 1 Gbit/s scheduler; the strict class's quarter (0.54) fits.
  const uint64_t interval = rte_get_tsc_hz() / 100'000;
  uint64_t next_tsc = rte_rdtsc();
  for (auto _ : state) {
    state.PauseTiming();
    while (rte_rdtsc() < next_tsc) rte_pause();
    next_tsc += interval;
    rte_mbuf* pkts[kBurst];
    for (uint16_t k = 0; k < kBurst; ++k) {
      pkts[k] = rte_pktmbuf_alloc(pool);
      const Bytes& f = k % 4 == 0 ? ef : cs1;
      std::memcpy(rte_pktmbuf_append(pkts[k], static_cast<uint16_t>(f.size())), f.data(), f.size());
      (*sched)->classify(pkts[k], (*tables)->class_of(k % 4 == 0 ? 46 : 8));
    }
    // The "device" takes everything the scheduler sends.
    void* out[kBurst];
    unsigned n;
    while ((n = rte_ring_dequeue_burst(ring, out, kBurst, nullptr)) > 0) rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(out), n);
    state.ResumeTiming();
    const uint64_t t0 = rte_rdtsc();
    const auto r = (*sched)->send(dpdk::PortIo{pid}, 0, pkts, kBurst);
    cycles += rte_rdtsc() - t0;
    offered += kBurst;
    sent += r.sent;
    dropped += r.dropped;
  }
  state.counters["cycles/pkt offered"] = static_cast<double>(cycles) / static_cast<double>(offered);
  state.counters["sent %"] = 100.0 * static_cast<double>(sent) / static_cast<double>(offered);
  state.counters["tail-dropped %"] = 100.0 * static_cast<double>(dropped) / static_cast<double>(offered);
  const auto st = (*sched)->stats();
  state.counters["strict class dropped %"] = 100.0 * static_cast<double>(st[0].dropped) / static_cast<double>(st[0].packets + st[0].dropped);
  sched->reset();
  void* out[kBurst];
  unsigned n;
  while ((n = rte_ring_dequeue_burst(ring, out, kBurst, nullptr)) > 0) rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(out), n);
  rte_eth_dev_stop(pid);
  rte_eth_dev_close(pid);
  rte_ring_free(ring);
  rte_mempool_free(pool);
}
BENCHMARK(BM_SchedCongested)->Unit(benchmark::kMillisecond)->Iterations(50000);

}  // namespace
