// sd.hpp without libsystemd: no readiness, no watchdog, logs stay on stderr.
#include "daemon/sd.hpp"

namespace ivs::daemon::sd {

bool available() { return false; }
bool notify(const std::string&) { return false; }
uint64_t watchdog_usec() { return 0; }
bool log_to_journal(const std::string&) { return false; }

}  // namespace ivs::daemon::sd
