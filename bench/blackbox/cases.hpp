#pragma once
// The black-box harness's cases: a switch config (YAML, written to a file and loaded by
// the switch's own loader) and the prebuilt frames the generator sends, cycling through
// them. Ports are rings; `in` is where frames enter, `out` where they must all leave.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ivs::bench {

using Frame = std::array<uint8_t, 60>;  // a minimum Ethernet frame (64 bytes on the wire with the FCS)

struct Case {
  std::string name, description;
  std::string yaml;  // ports, networks, vms, flows, policy (the harness adds `switch:`)
  std::vector<Frame> frames;
  unsigned in = 0, out = 1;  // port positions in the config
  // A live capture (`ivctl capture PORT`) on this port whose reader never reads: the
  // stalled tool of issue 18 item 4 ("" none). Started before the warm-up.
  std::string stalled_capture;
};

// l2, l2-flows, routed, policy, mirror-stalled (see cases.cpp).
std::vector<std::string> case_names();
Case make_case(const std::string& name);

}  // namespace ivs::bench
