// ivswitchd: the switch daemon. Validates the whole config before touching anything,
// then brings up DPDK, the ports and the datapath threads, serves the control socket and
// /metrics, and runs until SIGTERM/SIGINT, cleaning up after itself.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "config/core_specs.hpp"
#include "config/loader.hpp"
#include "control/server.hpp"
#include "control/views.hpp"
#include "daemon/builder.hpp"
#include "daemon/sd.hpp"
#include "daemon/service.hpp"
#include "dpdk/eal.hpp"
#include "pipeline/datapath.hpp"

namespace {

constexpr const char* kDescription =
    "ivswitchd - userspace virtual switch for the VMs and containers of one server (DPDK).\n\n"
    "Reads FILE.yaml (reference: docs/config.md), checks all of it, and only then starts:\n"
    "ports (vhost-user, tap, af_packet, af_xdp, pcap, ring, discard), L2 switching per network\n"
    "(VLAN access/trunk ports, MAC learning), routing between networks with the switch as\n"
    "gateway, a two-way flow cache with one policy verdict per flow, chains (first packets\n"
    "through an inline security device, then shortcut by the switch), the control socket\n"
    "for ivctl and Prometheus /metrics.\n"
    "A bad file prints every error as FILE:LINE: message and exits with status 2.\n"
    "SIGHUP re-reads the policy and chains (like ivctl policy reload). Stop with SIGTERM or SIGINT.\n"
    "Under systemd (Type=notify): READY once the datapath polls, a watchdog fed while every\n"
    "datapath thread makes progress, logs to the journal (man ivswitchd, docs/operations.md).";

constexpr std::chrono::seconds kShutdownGrace{30};  // a clean stop took 12 s on a host at load 20 on 2 CPUs

int run(const ivs::config::Config& cfg) {
  using namespace ivs;
  // Signals are handled synchronously by the control loop (sigtimedwait): block them
  // before DPDK creates its threads so that every thread inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  auto built = daemon::build_switch(cfg);  // EAL and datapath (daemon/builder.hpp)
  if (!built) {
    spdlog::error("{}", built.error());
    return 1;
  }
  int rc = 0;
  {
    auto dp = std::move(built->datapath);
    control::ControlServer server(*dp);
    daemon::ServiceNotifier service(cfg.sw.idle_sleep_max_us);
    if (auto ok = server.start(cfg.sw); !ok) {
      spdlog::error("{}", ok.error());
      rc = 1;
    } else {
      dp->start();
      // Ready for systemd once every datapath thread polls (its heartbeat moved).
      if (!daemon::wait_datapath_polling([&] { return dp->heartbeats(); }, std::chrono::seconds(10)))
        spdlog::warn("a datapath thread has not polled after 10 s");
      const std::string status = fmt::format("forwarding: {} port(s), {} datapath thread(s)", cfg.ports.size(),
                                             dp->heartbeats().size());
      service.ready(dp->heartbeats(), status);
      spdlog::info("ivswitchd running (instance {})", cfg.sw.instance);
      const timespec tick{0, 5'000'000};  // learn/age/link housekeeping every 5 ms
      for (;;) {
        const int sig = sigtimedwait(&sigs, nullptr, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
          spdlog::info("signal {}: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
          service.stopping();
          break;
        }
        if (sig == SIGHUP) {  // same as `ivctl policy reload` (systemctl reload: ExecReload sends it)
          service.reloading();
          // The control socket's method table guards its methods; this path does not go
          // through it, so an exception (bad_alloc while compiling a large policy) is
          // caught here: a refused reload must not stop the switch.
          try {
            if (auto r = control::reload_policy(*dp); !r) spdlog::error("SIGHUP: policy reload refused: {}", r.error().message);
          } catch (const std::exception& e) {
            spdlog::error("SIGHUP: policy reload failed: {}", e.what());
          }
          service.reloaded(status);
        }
        dp->maintain();
        service.tick(dp->heartbeats(), daemon::ServiceNotifier::Clock::now());
      }
    }
    // Shutdown always ends: a control request still running (a long computation, a
    // stuck client) could hold server.stop() forever. A second SIGTERM/SIGINT, or
    // kShutdownGrace without progress, ends the process at once.
    std::atomic<bool> stopped{false};
    std::thread watchdog([&] {
      const auto until = std::chrono::steady_clock::now() + kShutdownGrace;
      const timespec slice{0, 100'000'000};
      while (!stopped.load()) {
        const int sig = sigtimedwait(&sigs, nullptr, &slice);
        if (stopped.load()) return;
        if (sig == SIGTERM || sig == SIGINT || std::chrono::steady_clock::now() >= until) {
          spdlog::error("shutdown did not finish ({}): exiting now without cleanup",
                        sig > 0 ? "second signal" : fmt::format("{} s", kShutdownGrace.count()));
          spdlog::default_logger()->flush();
          std::_Exit(1);
        }
      }
    });
    // Each stop phase's time is logged (docs/vms.md: where a restart's gap goes).
    const auto stop_t0 = std::chrono::steady_clock::now();
    auto ms_since = [](std::chrono::steady_clock::time_point t) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
    };
    server.stop();
    spdlog::info("stop phase: control server stopped in {} ms", ms_since(stop_t0));
    dp->stop();
    spdlog::info("stop phase: datapath threads and modules stopped in {} ms", ms_since(stop_t0));
    dp->exiting();
    stopped = true;
    watchdog.join();
  }  // (the control server, then the datapath: ports closed, memory freed)
  const auto eal_t0 = std::chrono::steady_clock::now();
  spdlog::info("stop phase: ports closed, memory freed");
  dpdk::eal_stop();
  spdlog::info("stop phase: EAL cleaned up in {} ms",
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - eal_t0).count());
  spdlog::info("ivswitchd stopped");
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  // Large blocks (128 KB and more) are always mapped and unmapped, never kept in a
  // thread's malloc arena. glibc otherwise raises that threshold after the first free of
  // a large block (up to 32 MB), after which such blocks come from the arena of the
  // thread that asks and stay resident once freed: every control worker thread that
  // compiled a policy (DPDK's ACL build takes its scratch memory in 8 MB blocks) kept
  // 8 MB, and RSS grew in 8 MB steps up to the thread count (bench/soak.sh, docs/benchmarks.md).
  // A fixed threshold also fixes the trim threshold (128 KB). The datapath never mallocs.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  CLI::App app{kDescription, "ivswitchd"};
  std::string config_file;
  bool check_only = false;
  app.add_option("-c,--config", config_file, "configuration file (YAML)")->required()->type_name("FILE.yaml");
  app.add_flag("--check", check_only, "validate the configuration, print a summary and exit");
  bool autovalidator = false;
  app.add_flag("--autovalidator", autovalidator,
               "test mode: check flow-cache hits against the policy thread's decision (as flows.autovalidator: true)");
  app.set_version_flag("--version", "ivswitchd 0.1.0");
  app.footer("Examples:\n  ivswitchd --config /etc/ivswitch/switch.yaml\n  ivswitchd --check --config switch.yaml\n"
             "Then: ivctl show ports | ivctl show fdb | curl http://127.0.0.1:9464/metrics");
  CLI11_PARSE(app, argc, argv);

  auto cfg = ivs::config::load_file(config_file);
  if (!cfg) {
    for (const auto& e : cfg.error()) std::fprintf(stderr, "%s\n", e.c_str());
    std::fprintf(stderr, "%zu error(s); nothing was started\n", cfg.error().size());
    return 2;
  }
  if (autovalidator) cfg->flows.autovalidator = true;
  if (check_only) {
    std::printf("%s: OK (%zu ports, %zu networks, %zu vms)\n", config_file.c_str(), cfg->ports.size(), cfg->networks.size(),
                cfg->vms.size());
    return 0;
  }
  spdlog::set_level(spdlog::level::from_str(cfg->sw.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  ivs::daemon::sd::log_to_journal("ivswitchd");  // under systemd: native journal entries
  return run(*cfg);
}
