#include "daemon/service.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include "daemon/sd.hpp"

namespace ivs::daemon {

ServiceNotifier::ServiceNotifier(uint32_t nap_max_us) : interval_(sd::watchdog_usec()) {
  if (interval_.count() == 0) return;
  spdlog::info("service watchdog: every {} ms, fed while every datapath thread makes progress", interval_.count() / 2000);
  // A healthy idle thread wakes at least every nap_max_us; each check must span a few naps.
  if (interval_.count() / 2 < 4 * static_cast<int64_t>(nap_max_us))
    spdlog::warn("service watchdog interval {} ms is short for switch.idle_sleep_max_us {}: idle datapath threads may look stuck",
                 interval_.count() / 1000, nap_max_us);
}

void ServiceNotifier::ready(const std::vector<uint64_t>& heartbeats, const std::string& status) {
  last_ = heartbeats;
  next_check_ = Clock::now() + interval_ / 2;
  sd::notify("READY=1\nSTATUS=" + status);
  if (interval_.count() != 0) sd::notify("WATCHDOG=1");
}

void ServiceNotifier::reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t usec = static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
  sd::notify(fmt::format("RELOADING=1\nSTATUS=reloading the policy\nMONOTONIC_USEC={}", usec));
}

void ServiceNotifier::reloaded(const std::string& status) { sd::notify("READY=1\nSTATUS=" + status); }

void ServiceNotifier::stopping() { sd::notify("STOPPING=1\nSTATUS=stopping"); }

void ServiceNotifier::tick(const std::vector<uint64_t>& heartbeats, Clock::time_point now) {
  if (interval_.count() == 0 || now < next_check_) return;
  next_check_ = now + interval_ / 2;
  std::vector<size_t> stuck;
  for (size_t i = 0; i < heartbeats.size(); ++i)
    if (i < last_.size() && heartbeats[i] == last_[i]) stuck.push_back(i);
  last_ = heartbeats;
  if (stuck.empty()) {
    if (withheld_) spdlog::info("every datapath thread makes progress again: service watchdog fed");
    withheld_ = false;
    sd::notify("WATCHDOG=1");
    return;
  }
  if (!withheld_)
    spdlog::error("datapath thread(s) {} made no progress in {} ms: service watchdog withheld (systemd restarts the service)",
                  fmt::join(stuck, ","), interval_.count() / 2000);
  withheld_ = true;
}

}  // namespace ivs::daemon
