#pragma once
// ivctl top's numbers: rates computed here, in the client, from two successive samples
// of the daemon's counters (show.ports, show.pmd, show.policy, show.flows, show.stats over
// the control socket). The datapath does no new work for it: it already keeps every
// counter, and a sample costs the daemon what `ivctl show ...` costs.
//
// Pure functions of the samples, so that the unit tests can check them without a daemon.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ivs::cli::top {

// One reading of the daemon's counters and when each part was read (the client's
// monotonic clock, seconds, the middle of each call). Each rate uses its own part's times:
// the five calls of a sample take a few ms, more on a loaded machine, and a flow's rate
// over a 1 s interval was off by up to 20 % when all shared the first call's time.
struct Sample {
  double t = 0;  // show.ports (and show.stats)
  double t_pmd = 0, t_policy = 0, t_flows = 0;
  nlohmann::json ports, pmd, policy, flows, stats;
};

struct PortRate {
  std::string name, link;
  double rx_pps = 0, tx_pps = 0, rx_bps = 0, tx_bps = 0, drop_pps = 0;
  uint64_t rx_packets = 0, tx_packets = 0, drops = 0;  // totals since start
};

// Drops of one reason on one port: the switch's own reasons, plus the device's
// (device.rx_missed, device.rx_errors, device.tx_errors: before the switch saw them).
struct DropRate {
  std::string port, reason;
  double per_s = 0;
  uint64_t total = 0;
};

// A datapath thread's time over the interval, in % of wall-clock time: busy (iterations
// that moved packets), idle (empty polls) and asleep (naps); they add up to about 100.
struct PmdLoad {
  unsigned index = 0, cpu = 0;
  std::string ports;
  double pps = 0, busy_pct = 0, idle_pct = 0, sleep_pct = 0, cycles_per_packet = 0;
};

// A flow of the table, both directions together.
struct FlowRate {
  std::string proto, src, dst, network, state, rule;
  double pps = 0, bps = 0;
  uint64_t packets = 0, bytes = 0, age_s = 0;
};

struct Totals {
  double uptime_s = 0, rx_pps = 0, tx_pps = 0, rx_bps = 0, tx_bps = 0, drop_pps = 0;
  double installed_ps = 0, expired_ps = 0, upcalls_ps = 0;
  uint64_t flows = 0, flow_capacity = 0, flows_listed = 0;  // listed: how many show.flows returned
};

struct Frame {
  double interval_s = 0;
  bool restarted = false;  // the daemon restarted between the samples: counters began again at 0
  Totals totals;
  std::vector<PortRate> ports;
  std::vector<DropRate> drops;  // non-zero totals only
  std::vector<PmdLoad> pmds;
  std::vector<FlowRate> flows;  // every listed flow, unsorted
};

// The rates between two samples of the same daemon. A counter lower than before (the
// daemon restarted) counts from 0. A flow absent from `prev` is new in the interval, unless
// `prev` listed only part of the table (show.flows' limit) and the flow is older than the
// interval: then its rate is its average over its life.
Frame compute(const Sample& prev, const Sample& cur);

// The frame for scripts (ivctl top --json): every figure above, rates per second.
nlohmann::json to_json(const Frame& f, size_t max_flows);

}  // namespace ivs::cli::top
