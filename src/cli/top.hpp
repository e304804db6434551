#pragma once
// ivctl top: a live view of a running ivswitchd in the terminal (ncurses), or one sampled
// frame for scripts (--once, --json). See top_model.hpp for where the numbers come from.
#include <string>

namespace ivs::cli {

struct TopOptions {
  double interval_s = 1.0;   // between samples (and the window of --once)
  bool once = false;         // one frame over interval_s, printed, then exit
  bool json = false;         // that frame as JSON (implies once)
  size_t flow_limit = 1000;  // flows read per sample (show.flows' limit): the busiest are among these
  size_t show_flows = 10;    // busiest flows printed by --once / --json
  std::string view = "ports";
};

// Returns the exit status: 0 on q, Ctrl-C (SIGINT), SIGTERM or SIGHUP (the terminal is
// restored first); 1 when the daemon cannot be reached or goes away (said on stderr).
int run_top(const std::string& socket, const TopOptions& o);

}  // namespace ivs::cli
