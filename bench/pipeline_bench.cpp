// Pipeline benchmark: the Forwarder's per-packet work on bursts of 32 64-byte frames of
// cached flows, with real tables and mbufs but no I/O (ports are not polled; the frames
// are taken back from the tx batches and fed in again). Reports Mpps per core (items/s)
// and TSC cycles per packet, by case and by the number of distinct destinations in the
// tables. Each frame is a flow of its own (up to 4096), installed before the timing by
// one packet through the policy thread's code, as a first packet is: the timed bursts
// take the cached path. Every burst must come out whole on the expected port, and the
// forwarder's counters must show no drop and no upcall, else the run fails (exit 1).
//   l2:     known unicast, N destination MACs in the MAC table
//   routed: N destination hosts in another network (neighbour + MAC lookups, TTL and
//           checksum update, MAC rewrite); a fresh copy of the frame per packet
//           (rig.mbuf() copies it, outside the timing)
#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_eal.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "support/forwarder_rig.hpp"

using namespace ivs;
using namespace ivs::test;

namespace {

constexpr const char* kTopology = R"(
ports:
  - {name: a, type: discard, network: web}
  - {name: b, type: discard, network: db}
  - {name: c, type: discard, network: web}
networks:
  - {name: web, vlan: 10, subnet: 10.0.0.0/16, gateway: 10.0.255.254}
  - {name: db, vlan: 20, subnet: 10.1.0.0/16, gateway: 10.1.255.254}
)";
constexpr uint16_t kBurst = 32;

MacAddr host_mac(uint32_t i) {
  return MacAddr{{0x02, 0x10, static_cast<uint8_t>(i >> 24), static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                  static_cast<uint8_t>(i)}};
}

// Counted in failed_runs so that main() exits non-zero: a figure of packets that were
// dropped (or upcalled) measures another path than the benchmark's name says.
std::atomic<int> failed_runs{0};
void fail(benchmark::State& state, const std::string& why) {
  ++failed_runs;
  state.SkipWithError(why.c_str());
}

uint64_t all_drops(const ForwarderRig& rig) {
  uint64_t n = 0;
  for (uint16_t p = 0; p < 3; ++p)
    for (size_t r = 0; r < kDropReasonCount; ++r) n += rig.drops(p, static_cast<DropReason>(r));
  return n;
}

void run(benchmark::State& state, bool routed) {
  const uint32_t n = static_cast<uint32_t>(state.range(0));
  ForwarderRig rig(kTopology, std::max<uint32_t>(2 * n, 1024), 4095);
  const MacAddr src = mac("02:00:00:00:00:01");
  rig.add_mac(0, src, 0, true);
  std::vector<Bytes> frames;
  for (uint32_t i = 0; i < n; ++i) {
    const MacAddr dst = host_mac(i);
    if (routed) {
      const uint32_t dst_ip = ip4("10.1.0.0") + 1 + i;
      rig.add_mac(1, dst, 1, true);
      rig.add_neighbor(dst_ip, dst);
      if (i < 4096)
        frames.push_back(ipv4({rig.tables().network(0).gateway_mac, src}, ip4("10.0.0.1"), dst_ip, packet::kProtoUdp,
                              udp(static_cast<uint16_t>(1000 + i), 2000)));
    } else {
      rig.add_mac(0, dst, 2, true);
      if (i < 4096)
        frames.push_back(ipv4({dst, src}, ip4("10.0.0.1"), ip4("10.0.0.2"), packet::kProtoUdp, udp(static_cast<uint16_t>(1000 + i), 2000)));
    }
  }
  const uint16_t out_port = routed ? 1 : 2;
  // Install every frame's flow: its first packet through the policy thread's code.
  for (const Bytes& f : frames) {
    rig.send(0, f);
    if (rig.take(out_port).size() != 1) return fail(state, "a flow's first packet did not come out");
  }
  const uint64_t upcalls_before = rig.event(pipeline::Event::kUpcalls), drops_before = all_drops(rig);
  rte_mbuf* pkts[kBurst];
  size_t next = 0;
  uint64_t cycles = 0, packets = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& p : pkts) {
      const Bytes& f = frames[next++ % frames.size()];
      p = rig.mbuf(f);
    }
    state.ResumeTiming();
    const uint64_t t0 = rte_rdtsc();
    rig.forwarder().process(0, pkts, kBurst, 1, t0);
    cycles += rte_rdtsc() - t0;
    packets += kBurst;
    state.PauseTiming();
    if (rig.take(out_port).size() != kBurst) return fail(state, "packets of the burst did not come out on the output port");
    state.ResumeTiming();
  }
  if (const uint64_t d = all_drops(rig) - drops_before) return fail(state, std::to_string(d) + " packets dropped");
  if (rig.event(pipeline::Event::kUpcalls) != upcalls_before) return fail(state, "upcalls while timing: flows not cached");
  state.SetItemsProcessed(static_cast<int64_t>(packets));
  state.counters["cycles/pkt"] = static_cast<double>(cycles) / static_cast<double>(packets);
  state.counters["Mpps/core"] = benchmark::Counter(static_cast<double>(packets) / 1e6, benchmark::Counter::kIsRate);
}

void BM_L2Switch(benchmark::State& s) { run(s, false); }
void BM_Route(benchmark::State& s) { run(s, true); }
BENCHMARK(BM_L2Switch)->Arg(1)->Arg(1000)->Arg(100000);
BENCHMARK(BM_Route)->Arg(1)->Arg(1000)->Arg(100000);

}  // namespace

int main(int argc, char** argv) {
  const char* eal[] = {"ivs_pipeline_bench", "--no-huge", "--no-shconf", "-m", "3072", "--no-pci", "-l", "0",
                       "--log-level", "lib.eal:error"};
  if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (failed_runs > 0) std::fprintf(stderr, "ivs_pipeline_bench: %d benchmark(s) failed their checks (see ERROR OCCURRED above)\n", failed_runs.load());
  const std::string dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::filesystem::remove_all(dir);
  return failed_runs > 0 ? 1 : 0;
}
