// ivs_blackbox: the switch's cost per cached packet, measured from outside. The switch is
// built from a config file by the daemon's builder (sut.cpp), its ports are rings, and
// its real datapath thread runs on its own CPU as in ivswitchd; a generator thread on the
// other CPU(s) fills the in port's ring with prebuilt frames and drains every port's tx
// ring. After a warm-up (the flows get installed), the switch's own counters are read
// twice, `--seconds` apart: Mpps out of the out port, and the datapath thread's busy
// cycles per packet. The run fails (exit 1) unless, between the two readings, every
// packet went out of the out port: no drop, no upcall (all flows cached), no flood.
// One case per process (DPDK's EAL starts once per process); compare.sh runs them.
// The datapath thread naps when idle as the daemon's does (idle_sleep_max_us default):
// tried busy-polling (0) on this shared machine, the kernel gave the thread 8-17% of its
// CPU instead of 25-30% (a thread that naps gets the sleeper's share back), 0.1-0.5 Mpps.
//
//   ivs_blackbox --case l2|l2-flows|routed|policy|mirror-stalled [--seconds 5] [--warmup 2] [--cpu N]
//                [--hugepages off|auto|on] [--keep]
// prints one line: `blackbox case=... mpps=... cycles_per_pkt=... busy=...` and details.
#include <pthread.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>  // callgrind.sh: the window only (no-ops outside valgrind)
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS
#endif

#include "cases.hpp"
#include "ring_io.hpp"
#include "sut.hpp"

using namespace ivs::bench;

namespace {

struct Options {
  std::string case_name = "l2", hugepages = "off";
  double seconds = 5, warmup = 2;
  int cpu = -1;  // the datapath thread's CPU; -1: the last one this process may use
  bool keep = false;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "ivs_blackbox: %s\nusage: ivs_blackbox --case NAME [--seconds S] [--warmup S] [--cpu N] [--hugepages off|auto|on] [--keep]\ncases:", why);
  for (const auto& n : case_names()) std::fprintf(stderr, " %s", n.c_str());
  std::fprintf(stderr, "\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--case") o.case_name = value();
    else if (a == "--seconds") o.seconds = std::stod(value());
    else if (a == "--warmup") o.warmup = std::stod(value());
    else if (a == "--cpu") o.cpu = std::stoi(value());
    else if (a == "--hugepages") o.hugepages = value();
    else if (a == "--keep") o.keep = true;
    else usage(("unknown option " + a).c_str());
  }
  if (o.seconds <= 0 || o.warmup < 0) usage("--seconds must be > 0, --warmup >= 0");
  return o;
}

int last_cpu() {
  cpu_set_t s;
  CPU_ZERO(&s);
  sched_getaffinity(0, sizeof(s), &s);
  int last = 0;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &s)) last = c;
  return last;
}

// What the generator did, written by it alone (relaxed stores), read by the main thread.
struct GenCounters {
  std::atomic<uint64_t> sent{0};        // frames enqueued into the in port's rx ring
  std::atomic<uint64_t> got_out{0};     // frames the switch sent out of the out port
  std::atomic<uint64_t> got_other{0};   // frames the switch sent out of any other port
};
void bump(std::atomic<uint64_t>& c, uint64_t n) { c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }

void generate(const Case& c, const std::vector<RingPort>& ports, rte_mempool* pool, const std::atomic<bool>& stop, GenCounters& gc) {
  // A registered thread has an lcore id, hence a mempool cache, as a NIC's driver would.
  if (rte_thread_register() != 0) std::fprintf(stderr, "ivs_blackbox: generator not registered with DPDK (slower mempool)\n");
  constexpr unsigned kBurst = 32;
  const RingPort& in = ports[c.in];
  rte_mbuf* pend[kBurst];
  void* got[64];
  unsigned npend = 0, off = 0;
  size_t next = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    for (size_t p = 0; p < ports.size(); ++p) {
      const unsigned n = rte_ring_dequeue_burst(ports[p].tx, got, 64, nullptr);
      if (n == 0) continue;
      rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(got), n);
      bump(p == c.out ? gc.got_out : gc.got_other, n);
    }
    if (off == npend) {
      if (rte_pktmbuf_alloc_bulk(pool, pend, kBurst) != 0) continue;  // all in flight: drain first
      for (rte_mbuf* m : pend) {
        const Frame& f = c.frames[next];
        next = next + 1 == c.frames.size() ? 0 : next + 1;
        std::memcpy(rte_pktmbuf_mtod(m, void*), f.data(), f.size());
        m->data_len = m->pkt_len = static_cast<uint32_t>(f.size());
      }
      npend = kBurst;
      off = 0;
    }
    const unsigned k = rte_ring_enqueue_burst(in.rx, reinterpret_cast<void**>(pend + off), npend - off, nullptr);
    off += k;
    bump(gc.sent, k);
  }
  if (off < npend) rte_pktmbuf_free_bulk(pend + off, npend - off);
  rte_thread_unregister();
}

// The generator's mbufs: fewer than a ring holds (1023), so that the switch's tx ring can
// never overflow however late the generator drains it (on a shared machine it loses its
// CPU for milliseconds): the switch then runs dry instead of dropping.
constexpr unsigned kPoolMbufs = 1023;

// Nanoseconds the datapath threads ran on a CPU (the kernel's schedstat): the busy cycles
// of the switch's counters are TSC time, which includes the time another process held the
// thread's CPU; on a shared machine the two differ, so both are reported.
uint64_t oncpu_ns(const std::vector<int>& tids) {
  uint64_t sum = 0;
  for (int tid : tids) {
    std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/schedstat");
    uint64_t ns = 0;
    f >> ns;
    sum += ns;
  }
  return sum;
}

struct Reading {
  Totals sw;
  uint64_t sent, got_out, got_other, tsc, oncpu_ns;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  Case c;
  try {
    c = make_case(o.case_name);
  } catch (const std::exception& e) {
    usage(e.what());
  }
  const int cpu = o.cpu >= 0 ? o.cpu : last_cpu();
  char tmpl[] = "/tmp/ivs-blackbox-XXXXXX";
  if (!mkdtemp(tmpl)) return std::perror("mkdtemp"), 1;
  const std::filesystem::path dir = tmpl;
  const std::string config_path = (dir / "switch.yaml").string();
  {
    std::ofstream f(config_path);
    f << "switch: {instance: bb" << getpid() << ", cores: [" << cpu << "], control_socket: " << (dir / "ctl.sock").string()
      << ", metrics_address: '', hugepages: " << o.hugepages << ", log_level: warn}\n"
      << c.yaml;
  }
  int rc = 1;
  {
    auto sut = SwitchUnderTest::build(config_path);
    if (!sut) {
      std::fprintf(stderr, "ivs_blackbox: the switch did not build: %s\n", sut.error().c_str());
      return 1;
    }
    auto ports = find_ring_ports(std::max(c.in, c.out) + 1);
    if (!ports) {
      std::fprintf(stderr, "ivs_blackbox: %s\n", ports.error().c_str());
      return 1;
    }
    rte_mempool* pool = rte_pktmbuf_pool_create("bb_gen", kPoolMbufs, 32, 0, RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
    if (!pool) {
      std::fprintf(stderr, "ivs_blackbox: no memory for the generator's mbufs\n");
      return 1;
    }
    if (!c.stalled_capture.empty())
      if (const std::string err = (*sut)->stall_capture(c.stalled_capture); !err.empty()) {
        std::fprintf(stderr, "ivs_blackbox: cannot start the stalled capture: %s\n", err.c_str());
        return 1;
      }
    (*sut)->start();
    std::atomic<bool> stop{false};
    GenCounters gc;
    std::thread gen([&] { generate(c, *ports, pool, stop, gc); });
    // The main thread does what ivswitchd's control loop does: maintain() every 5 ms.
    auto run_for = [&](double s) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(s);
      while (std::chrono::steady_clock::now() < until) {
        (*sut)->maintain();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    };
    // The generator's count of frames got is read before the switch's totals at the start
    // of the window and after them at its end, so that the window's frames got include
    // every frame the switch counted as sent in it, up to those still in flight: reading
    // it after the totals at the start (a /proc read and a snapshot take milliseconds, 20k
    // frames at 10 Mpps) made the check below fail on a fast machine.
    auto read = [&](bool start) {
      const uint64_t got_before = gc.got_out.load();
      Totals t = (*sut)->totals();
      const uint64_t ns = oncpu_ns(t.pmd_tids);
      return Reading{std::move(t), gc.sent.load(), start ? got_before : gc.got_out.load(), gc.got_other.load(), rte_rdtsc(), ns};
    };
    run_for(o.warmup);
    // A stalled capture: the window starts once its buffer is full (it holds about 49k
    // copies of these 60-byte frames, which a starved broker may take longer than the
    // warm-up to write): when the switch skips copies for it (skipped_tools_full) or, a
    // tree without that counter, when it has copied more than the buffer holds.
    for (int waited = 0; !c.stalled_capture.empty() && waited < 300; ++waited) {
      const auto mp = (*sut)->totals().mirror_packets;
      const auto at = [&](const char* k) { const auto i = mp.find(k); return i == mp.end() ? uint64_t{0} : i->second; };
      if (at("skipped_tools_full") > 0 || at("copied") > 60000) break;
      run_for(0.1);
    }
    CALLGRIND_ZERO_STATS;
    const Reading a = read(true);
    run_for(o.seconds);
    const Reading b = read(false);
    CALLGRIND_DUMP_STATS;
    stop = true;
    gen.join();
    (*sut)->stop();
    drain_ring_ports(*ports);
    // The pool is not freed: the switch's ports may still hold its mbufs until they close.

    const double secs = static_cast<double>(b.tsc - a.tsc) / static_cast<double>(rte_get_tsc_hz());
    const uint64_t packets = b.sw.packets - a.sw.packets, busy = b.sw.busy_cycles - a.sw.busy_cycles,
                   idle = b.sw.idle_cycles - a.sw.idle_cycles;
    const auto& pa = a.sw.ports;
    const auto& pb = b.sw.ports;
    const uint64_t in_rx = pb[c.in].rx - pa[c.in].rx, out_tx = pb[c.out].tx - pa[c.out].tx;
    uint64_t drops = 0, other_tx = 0;
    std::string drop_why;
    for (size_t p = 0; p < pb.size(); ++p) {
      drops += pb[p].drops - pa[p].drops;
      if (pb[p].drops != pa[p].drops) drop_why += " " + pb[p].name + ":" + pb[p].top_drop;
      if (p != c.out) other_tx += pb[p].tx - pa[p].tx;
    }
    auto ev = [&](const char* name) -> long long {
      const auto ia = a.sw.events.find(name), ib = b.sw.events.find(name);
      return ia == a.sw.events.end() || ib == b.sw.events.end() ? -1 : static_cast<long long>(ib->second - ia->second);
    };
    const long long upcalls = ev("flow.upcalls");
    const double busy_share = busy + idle ? static_cast<double>(busy) / static_cast<double>(busy + idle) : 0.0;
    // On-CPU cycles per packet: the threads' CPU time in TSC cycles, the busy share of it.
    const double oncpu = packets ? static_cast<double>(b.oncpu_ns - a.oncpu_ns) * 1e-9 * static_cast<double>(rte_get_tsc_hz()) * busy_share /
                                       static_cast<double>(packets)
                                 : 0.0;
    std::printf("blackbox case=%s mpps=%.3f cycles_per_pkt=%.1f oncpu_cycles_per_pkt=%.1f busy=%.3f oncpu=%.3f seconds=%.2f packets=%llu "
                "in_rx=%llu out_tx=%llu gen_got=%llu drops=%llu upcalls=%lld emc_hits=%lld table_hits=%lld\n",
                c.name.c_str(), static_cast<double>(out_tx) / secs / 1e6, packets ? static_cast<double>(busy) / static_cast<double>(packets) : 0.0,
                oncpu, busy_share, static_cast<double>(b.oncpu_ns - a.oncpu_ns) * 1e-9 / secs, secs,
                static_cast<unsigned long long>(packets), static_cast<unsigned long long>(in_rx),
                static_cast<unsigned long long>(out_tx), static_cast<unsigned long long>(b.got_out - a.got_out),
                static_cast<unsigned long long>(drops), upcalls, ev("flow.cache.emc_hits"), ev("flow.cache.table_hits"));
    // The figures count only if the switch forwarded what it was given, from its cache.
    std::vector<std::string> bad;
    if (packets == 0 || out_tx == 0) bad.push_back("nothing was forwarded");
    if (drops) bad.push_back(std::to_string(drops) + " packets dropped (" + drop_why + " )");
    if (upcalls > 0) bad.push_back(std::to_string(upcalls) + " upcalls: flows not cached");
    // An event the switch no longer reports (renamed) reads -1: the check above would pass on it.
    for (const char* e : {"flow.upcalls", "flow.cache.emc_hits", "flow.cache.table_hits"})
      if (ev(e) < 0) bad.push_back(std::string("no event ") + e + " in the switch's stats: the cache checks cannot be made");
    if (other_tx) bad.push_back(std::to_string(other_tx) + " packets out of other ports (flooded?)");
    // What is in flight between the two readings (the rings, a burst) at most.
    constexpr uint64_t kSlack = 4096;
    if (out_tx + kSlack < in_rx) bad.push_back("out_tx " + std::to_string(out_tx) + " < in_rx " + std::to_string(in_rx));
    if (b.got_out - a.got_out + kSlack < out_tx) bad.push_back("the generator got fewer frames than the switch sent");
    // A case with mirrors: what they did in the window (copies made, skipped, dropped).
    if (!b.sw.mirror_packets.empty()) {
      std::printf("blackbox-mirrors case=%s", c.name.c_str());
      for (const auto& [k, v] : b.sw.mirror_packets) {
        const auto ia = a.sw.mirror_packets.find(k);
        std::printf(" %s=%llu", k.c_str(), static_cast<unsigned long long>(v - (ia == a.sw.mirror_packets.end() ? 0 : ia->second)));
      }
      std::printf("\n");
    }
    for (const auto& w : bad) std::fprintf(stderr, "ivs_blackbox: FAIL %s: %s\n", c.name.c_str(), w.c_str());
    rc = bad.empty() ? 0 : 1;
  }
  if (!o.keep) std::filesystem::remove_all(dir);
  else std::fprintf(stderr, "ivs_blackbox: config kept in %s\n", config_path.c_str());
  return rc;
}
