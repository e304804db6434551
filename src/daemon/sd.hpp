#pragma once
// The daemon's link to the service manager: libsystemd's sd_notify and journal, or
// nothing when ivswitchd was built without libsystemd (sd_systemd.cpp / sd_none.cpp;
// CMakeLists.txt picks one). Thread: main (control) thread only.
#include <cstdint>
#include <string>

namespace ivs::daemon::sd {

// True when ivswitchd was built with libsystemd.
bool available();
// Sends one notification ("READY=1\nSTATUS=...") to $NOTIFY_SOCKET; false when there is
// no socket or the send failed.
bool notify(const std::string& state);
// The watchdog interval systemd asked for ($WATCHDOG_USEC, for this process), 0 if none.
uint64_t watchdog_usec();
// When stderr is the journal ($JOURNAL_STREAM), sends spdlog's output to the journal as
// native entries (PRIORITY, SYSLOG_IDENTIFIER) instead; true if it did.
bool log_to_journal(const std::string& identifier);

}  // namespace ivs::daemon::sd
