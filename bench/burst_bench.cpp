// Per-burst cost of Forwarder::process, robust to a shared machine: every burst of 32 is
// timed on its own (TSC) and the benchmark reports the median and the 10th percentile of
// cycles per packet over all bursts. A burst takes ~2 us, so a burst interrupted by
// another process is an outlier and moves neither figure, where the averages of
// pipeline_bench.cpp move with the machine's load. Used to compare two builds side by
// side (e.g. the live-trace check per burst against the commit before it, docs/benchmarks.md):
// the file only uses the rig and Forwarder::process, so it builds against older trees.
//   BM_BurstL2/1      switched, one destination MAC
//   BM_BurstRoute/1   routed, one destination host
//   BM_BurstFlowHit   one cached UDP flow allowed by a rule (flow-table/EMC hit path)
#include <benchmark/benchmark.h>
#include <rte_cycles.h>

#include <algorithm>
#include <vector>

#include "support/forwarder_rig.hpp"

using namespace ivs;
using namespace ivs::test;

namespace {

constexpr uint16_t kBurst = 32;

void report(benchmark::State& state, std::vector<uint64_t>& samples) {
  std::sort(samples.begin(), samples.end());
  const auto at = [&](double q) { return static_cast<double>(samples[static_cast<size_t>(q * static_cast<double>(samples.size() - 1))]) / kBurst; };
  state.counters["p50_cycles/pkt"] = at(0.5);
  state.counters["p10_cycles/pkt"] = at(0.1);
  state.SetItemsProcessed(static_cast<int64_t>(samples.size()) * kBurst);
}

// `frame` through the rig's forwarder a burst at a time; frames taken back from `out`.
// The flow is installed first (one packet through the policy thread): the bursts take
// the cached path, and every frame must come out.
void bursts(benchmark::State& state, ForwarderRig& rig, const Bytes& frame, uint16_t in, uint16_t out) {
  rig.send(in, frame);
  if (rig.take(out).size() != 1) return state.SkipWithError("the flow's first packet did not come out");
  std::vector<uint64_t> samples;
  samples.reserve(1 << 20);
  rte_mbuf* pkts[kBurst];
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& p : pkts) p = rig.mbuf(frame);
    state.ResumeTiming();
    const uint64_t t0 = rte_rdtsc_precise();
    rig.forwarder().process(in, pkts, kBurst, ForwarderRig::now_s(), t0);
    samples.push_back(rte_rdtsc_precise() - t0);
    state.PauseTiming();
    if (rig.take(out).size() != kBurst) return state.SkipWithError("frames missing");
    state.ResumeTiming();
  }
  if (!samples.empty()) report(state, samples);
}

constexpr const char* kTopology = R"(
ports:
  - {name: a, type: discard, network: web}
  - {name: b, type: discard, network: db}
  - {name: c, type: discard, network: web}
networks:
  - {name: web, vlan: 10, subnet: 10.0.0.0/16, gateway: 10.0.255.254}
  - {name: db, vlan: 20, subnet: 10.1.0.0/16, gateway: 10.1.255.254}
)";

void BM_BurstL2(benchmark::State& state) {
  ForwarderRig rig(kTopology, 1024, 4095);
  const MacAddr src = mac("02:00:00:00:00:01"), dst = mac("02:10:00:00:00:01");
  rig.add_mac(0, src, 0, true);
  rig.add_mac(0, dst, 2, true);
  bursts(state, rig, ipv4({dst, src}, ip4("10.0.0.1"), ip4("10.0.0.2"), packet::kProtoUdp, udp(1000, 2000)), 0, 2);
}

void BM_BurstRoute(benchmark::State& state) {
  ForwarderRig rig(kTopology, 1024, 4095);
  const MacAddr src = mac("02:00:00:00:00:01"), dst = mac("02:10:00:00:00:01");
  rig.add_mac(0, src, 0, true);
  rig.add_mac(1, dst, 1, true);
  rig.add_neighbor(ip4("10.1.0.1"), dst);
  // The TTL goes down by one per pass: a fresh frame per burst (mbuf() copies it).
  bursts(state, rig, ipv4({rig.tables().network(0).gateway_mac, src}, ip4("10.0.0.1"), ip4("10.1.0.1"), packet::kProtoUdp, udp(1000, 2000)), 0, 1);
}

void BM_BurstFlowHit(benchmark::State& state) {
  ForwarderRig rig(R"(
ports:
  - {name: a, type: discard, network: web}
  - {name: b, type: discard, network: web}
networks:
  - {name: web, vlan: 10, subnet: 10.0.0.0/8, gateway: 10.255.255.254}
vms:
  - {name: va, port: a, mac: "02:00:00:00:00:01", ip: 10.0.0.1}
  - {name: vb, port: b, mac: "02:00:00:00:00:02", ip: 10.0.0.2}
policy:
  default: drop
  rules:
    - {name: allow-udp, from: 10.0.0.0/16, to: 10.0.0.0/16, protocol: udp, action: allow}
)",
                   1024, 4095);
  const Bytes f = ipv4({mac("02:00:00:00:00:02"), mac("02:00:00:00:00:01")}, ip4("10.0.0.1"), ip4("10.0.0.2"), packet::kProtoUdp, udp(1024, 5001));
  bursts(state, rig, f, 0, 1);
}

BENCHMARK(BM_BurstL2)->Arg(1);
BENCHMARK(BM_BurstRoute)->Arg(1);
BENCHMARK(BM_BurstFlowHit);

}  // namespace
