#pragma once
// How long an idle flow is kept, by protocol and TCP progress: what the flow code is
// given, compiled by its caller from the config's `flows` section
// (config/core_specs.hpp), so src/flow knows no config. Plain data, any thread.
#include <cstdint>

namespace ivs::flow {

struct IdleTimeouts {
  uint32_t tcp_handshake_s = 30;     // SYN seen, not yet established
  uint32_t tcp_established_s = 3600;
  uint32_t tcp_closing_s = 30;       // FIN or RST seen
  uint32_t udp_s = 60;
  uint32_t icmp_s = 30;
  uint32_t other_s = 60;
};

}  // namespace ivs::flow
