#pragma once
// What the daemon tells its service manager (systemd, Type=notify; docs/operations.md):
// READY=1 once every datapath thread polls, RELOADING=1 ... READY=1 around a reload,
// STOPPING=1 on shutdown, and WATCHDOG=1 every half watchdog interval, but only while
// every datapath thread's heartbeat moved since the previous ping: a stuck datapath
// thread (or a stuck control thread) stops the pings and systemd restarts the service.
// Without $NOTIFY_SOCKET (run by hand, tests) every call does nothing.
//
// Thread: the main (control) thread only. The heartbeats are read from the datapath
// threads' counters (relaxed atomics); nothing here runs on the datapath.
#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

namespace ivs::daemon {

class ServiceNotifier {
 public:
  using Clock = std::chrono::steady_clock;
  // Reads $WATCHDOG_USEC. `nap_max_us` (switch.idle_sleep_max_us) is the longest a
  // healthy idle datapath thread goes without a heartbeat: a watchdog interval too short
  // for it is logged.
  explicit ServiceNotifier(uint32_t nap_max_us);
  void ready(const std::vector<uint64_t>& heartbeats, const std::string& status);
  void reloading();
  void reloaded(const std::string& status);
  void stopping();
  // Called on every main-loop tick.
  void tick(const std::vector<uint64_t>& heartbeats, Clock::time_point now);

  std::chrono::microseconds watchdog_interval() const { return interval_; }

 private:
  std::chrono::microseconds interval_{0};
  Clock::time_point next_check_{};
  std::vector<uint64_t> last_;
  bool withheld_ = false;  // the last check found a thread without progress
};

// Waits (up to `timeout`) until every heartbeat from `read()` has moved at least once:
// every datapath thread is polling. False on timeout.
template <typename Read>
bool wait_datapath_polling(Read read, std::chrono::milliseconds timeout) {
  const auto deadline = ServiceNotifier::Clock::now() + timeout;
  for (;;) {
    bool all = true;
    for (uint64_t h : read()) all &= h != 0;
    if (all) return true;
    if (ServiceNotifier::Clock::now() >= deadline) return false;
    struct timespec ts{0, 1'000'000};
    nanosleep(&ts, nullptr);
  }
}

}  // namespace ivs::daemon
