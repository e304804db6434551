// sd.hpp with libsystemd (Debian's libsystemd-dev).
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include <cstdio>
#include <cstdlib>

#include "daemon/sd.hpp"

namespace ivs::daemon::sd {

bool available() { return true; }

bool notify(const std::string& state) { return sd_notify(0, state.c_str()) > 0; }

uint64_t watchdog_usec() {
  uint64_t usec = 0;
  return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}

bool log_to_journal(const std::string& identifier) {
  // systemd sets JOURNAL_STREAM=DEV:INODE of the stream it connected to stdout/stderr;
  // only when stderr is still that stream is the journal where our output goes.
  const char* js = std::getenv("JOURNAL_STREAM");
  struct stat st{};
  unsigned long long dev = 0, ino = 0;
  if (js == nullptr || std::sscanf(js, "%llu:%llu", &dev, &ino) != 2 || ::fstat(2, &st) != 0 ||
      st.st_dev != dev || st.st_ino != ino)
    return false;
  auto logger = std::make_shared<spdlog::logger>(identifier, std::make_shared<spdlog::sinks::systemd_sink_mt>(identifier));
  logger->set_level(spdlog::get_level());
  spdlog::set_default_logger(logger);
  return true;
}

}  // namespace ivs::daemon::sd
