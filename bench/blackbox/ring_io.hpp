#pragma once
// The harness's end of the switch's ring ports. A `type: ring` port is two rings named
// after its position N in the config's `ports` (docs/config.md): the generator enqueues on
// ivs_rx<N> what the switch receives on the port, and dequeues from ivs_tx<N> what the
// switch sent out of it. Found by name: the harness names no switch type for them.
#include <rte_ring.h>

#include <expected>
#include <string>
#include <vector>

namespace ivs::bench {

struct RingPort {
  rte_ring* rx = nullptr;  // generator -> switch (single producer: the generator)
  rte_ring* tx = nullptr;  // switch -> generator (single consumer: the generator)
};

// The rings of ports 0..n-1 (after the switch is built).
std::expected<std::vector<RingPort>, std::string> find_ring_ports(unsigned n);
// Frees the mbufs still queued on them (the switch frees the rings when it closes its ports).
void drain_ring_ports(const std::vector<RingPort>& ports);

}  // namespace ivs::bench
