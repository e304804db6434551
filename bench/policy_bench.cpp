// Policy + flow cache benchmarks (issue 3), with the real Forwarder, flow table, policy
// thread code (run synchronously) and rte_acl classifier; no I/O.
//   BM_FlowHit/F/R    forwarding of F active UDP flows (all cached, allowed by the last of
//                     R rules): Mpps per core and cycles per packet of Forwarder::process
//   BM_FlowSetup/R    new flows per second through the slow path: upcall, classify among
//                     R rules, install, reinject (one core doing both sides)
//   BM_Reload/F/R     policy convergence: time to revalidate F cached flows after a reload
//   BM_FlowMemory     bytes per cached flow (DPDK heap + entry pool), as a counter
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <rte_cycles.h>
#include <rte_malloc.h>

#include "support/forwarder_rig.hpp"

using namespace ivs;
using namespace ivs::test;

namespace {

constexpr uint16_t kBurst = 32;

// R rules that do not match the benchmark's flows (distinct /32 pairs, TCP ports), then
// one that allows them, so every classification walks the whole rule set.
std::string config(int rules, uint32_t table) {
  std::string y = fmt::format(R"(
ports:
  - {{name: a, type: discard, network: web}}
  - {{name: b, type: discard, network: web}}
networks:
  - {{name: web, vlan: 10, subnet: 10.0.0.0/8, gateway: 10.255.255.254}}
vms:
  - {{name: va, port: a, mac: "02:00:00:00:00:01", ip: 10.0.0.1}}
  - {{name: vb, port: b, mac: "02:00:00:00:00:02", ip: 10.0.0.2}}
flows: {{table_size: {}, upcall_rate: 10000000}}
policy:
  default: drop
  rules:
)", table);
  for (int i = 0; i + 1 < rules; ++i)
    y += fmt::format("    - {{name: r{}, from: 172.16.{}.{}/32, to: 172.17.{}.{}/32, protocol: tcp, ports: [{}], action: drop}}\n", i,
                     (i >> 8) & 255, i & 255, (i >> 8) & 255, i & 255, 1 + i % 60000);
  y += "    - {name: allow-udp, from: 10.0.0.0/16, to: 10.0.0.0/16, protocol: udp, action: allow}\n";
  return y;
}

Bytes flow_frame(uint32_t i) {
  // F distinct flows va -> vb: source port and source address vary
  const uint32_t src = ip4("10.0.0.1") + ((i / 60000) << 8);
  return ipv4({mac("02:00:00:00:00:02"), mac("02:00:00:00:00:01")}, src, ip4("10.0.0.2"), packet::kProtoUdp,
              udp(static_cast<uint16_t>(1024 + i % 60000), 5001));
}

// First packets of flows [first, first + count), a burst at a time, each burst through
// the policy thread and back (as the datapath and policy threads would do it).
void install_flows(ForwarderRig& rig, uint32_t first, uint32_t count) {
  for (uint32_t i = 0; i < count; i += kBurst) {
    rte_mbuf* pkts[kBurst];
    const uint16_t n = static_cast<uint16_t>(std::min<uint32_t>(kBurst, count - i));
    for (uint16_t k = 0; k < n; ++k) pkts[k] = rig.mbuf(flow_frame(first + i + k));
    rig.forwarder().process(0, pkts, n, 1, rte_rdtsc());
    while (rig.run_policy() > 0) {
    }
    rig.take(1);
  }
}

void BM_FlowHit(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  const int rules = static_cast<int>(state.range(1));
  ForwarderRig rig(config(rules, std::max<uint32_t>(flows * 2, 4096)), 4096, 8191);
  install_flows(rig, 0, flows);
  if (rig.flows().size() != flows) state.SkipWithError("not every flow was installed");
  uint64_t cycles = 0, packets = 0;
  uint32_t next = 0;
  rte_mbuf* pkts[kBurst];
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& p : pkts) p = rig.mbuf(flow_frame(next++ % flows));
    state.ResumeTiming();
    const uint64_t t0 = rte_rdtsc();
    rig.forwarder().process(0, pkts, kBurst, 1, t0);
    cycles += rte_rdtsc() - t0;
    packets += kBurst;
    state.PauseTiming();
    rig.take(1);
    state.ResumeTiming();
  }
  if (rig.slow_path().stats().upcalls.get() != flows) state.SkipWithError("cached flows went to the slow path");
  state.counters["cycles/pkt"] = static_cast<double>(cycles) / static_cast<double>(packets);
  state.counters["Mpps/core"] = static_cast<double>(packets) / (static_cast<double>(cycles) / static_cast<double>(rte_get_tsc_hz())) / 1e6;
}
BENCHMARK(BM_FlowHit)->ArgsProduct({{1, 1000, 100000, 1000000}, {10, 1000, 10000}})->Unit(benchmark::kMillisecond)->Iterations(20000);

void BM_FlowSetup(benchmark::State& state) {
  const int rules = static_cast<int>(state.range(0));
  const uint32_t per_round = 50000;
  uint64_t cycles = 0, flows = 0, base = 0;
  for (auto _ : state) {
    state.PauseTiming();
    ForwarderRig rig(config(rules, per_round * 2), 4096, 8191);
    state.ResumeTiming();
    const uint64_t t0 = rte_rdtsc();
    install_flows(rig, base, per_round);
    cycles += rte_rdtsc() - t0;
    flows += rig.flows().size();
    if (rig.flows().size() < per_round) state.SkipWithError("flows missing");
  }
  state.counters["flows/s"] = static_cast<double>(flows) / (static_cast<double>(cycles) / static_cast<double>(rte_get_tsc_hz()));
  state.counters["cycles/flow"] = static_cast<double>(cycles) / static_cast<double>(flows);
}
BENCHMARK(BM_FlowSetup)->Arg(10)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(3);

// Convergence: F cached flows, then a policy reload (the same R rules under a new epoch):
// the policy thread classifies every flow again. Reported: milliseconds for the table.
void BM_Reload(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  const int rules = static_cast<int>(state.range(1));
  ForwarderRig rig(config(rules, std::max<uint32_t>(flows * 2, 4096)), 4096, 8191);
  install_flows(rig, 0, flows);
  uint32_t epoch = 2;
  double total_s = 0;
  for (auto _ : state) {
    rig.reload(config(rules, std::max<uint32_t>(flows * 2, 4096)), epoch++);
    total_s += rig.slow_path().last_convergence_s();
  }
  state.counters["convergence_ms"] = total_s * 1e3 / static_cast<double>(state.iterations());
  state.counters["flows"] = rig.flows().size();
}
BENCHMARK(BM_Reload)->ArgsProduct({{1000, 100000, 1000000}, {10, 1000}})->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_FlowMemory(benchmark::State& state) {
  const uint32_t n = 1u << 20;
  for (auto _ : state) {
    rte_malloc_socket_stats before{}, after{};
    rte_malloc_get_socket_stats(0, &before);
    auto t = flow::FlowTable::create(n, nullptr);
    rte_malloc_get_socket_stats(0, &after);
    const double dpdk = static_cast<double>(after.heap_allocsz_bytes - before.heap_allocsz_bytes) / n;
    state.counters["bytes/flow (hash)"] = dpdk;
    state.counters["bytes/flow (entry)"] = static_cast<double>(sizeof(flow::FlowEntry));
    state.counters["bytes/flow"] = dpdk + static_cast<double>(sizeof(flow::FlowEntry)) + 4 + 1;  // + free list + in-use flag
  }
}
BENCHMARK(BM_FlowMemory)->Iterations(1);

}  // namespace
