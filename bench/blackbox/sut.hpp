#pragma once
// The switch under test, as the black-box harness sees it: built from a config file the
// way ivswitchd builds itself, started, maintained, counted, stopped. This header names no
// switch type; sut.cpp is the one file of the harness that calls the switch's API, so
// that the same harness source builds against older and newer trees (compare.sh). When
// the switch's builder or snapshots change shape, only sut.cpp follows.
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ivs::bench {

struct PortTotals {
  std::string name;
  uint64_t rx = 0, tx = 0, drops = 0;
  std::string top_drop;  // the drop reason with the most drops ("" when none)
};
// The switch's own counters: its datapath threads' (summed) and its ports'.
struct Totals {
  uint64_t busy_cycles = 0, idle_cycles = 0, packets = 0, iterations = 0;
  std::vector<int> pmd_tids;  // the datapath threads' kernel ids (for their CPU time)
  std::vector<PortTotals> ports;  // in config order
  std::map<std::string, uint64_t> events;  // the datapath's event counters by name (e.g. "flow.upcalls")
  // The mirrors' packet counters, summed over the mirrors, by their JSON key (`show
  // mirrors`' "packets": eligible, copied, skipped_tools_full where the tree has it, ...).
  std::map<std::string, uint64_t> mirror_packets;
};

class SwitchUnderTest {
 public:
  // Loads `config_path` with the switch's config loader (as the daemon's file, except that
  // ring ports are allowed), starts DPDK and builds the datapath as the daemon does. Not
  // started yet: the harness adjusts the ring ports first.
  static std::expected<std::unique_ptr<SwitchUnderTest>, std::string> build(const std::string& config_path);
  ~SwitchUnderTest();  // stops the datapath if running, destroys it, stops DPDK
  void start();        // the datapath threads, as the daemon starts them
  void maintain();     // the daemon's 5 ms housekeeping (learning, aging, links)
  void stop();         // the datapath threads
  Totals totals() const;
  // A live capture of what `port` receives, as `ivctl capture PORT rx` starts one, whose
  // stream nobody reads (a stalled tool); kept until the switch is destroyed. Returns an
  // error, or "".
  std::string stall_capture(const std::string& port);

 private:
  struct Impl;
  explicit SwitchUnderTest(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ivs::bench
