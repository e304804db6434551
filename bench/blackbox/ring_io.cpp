#include "ring_io.hpp"

#include <rte_mbuf.h>

namespace ivs::bench {

std::expected<std::vector<RingPort>, std::string> find_ring_ports(unsigned n) {
  std::vector<RingPort> out;
  for (unsigned i = 0; i < n; ++i) {
    const std::string rx = "ivs_rx" + std::to_string(i), tx = "ivs_tx" + std::to_string(i);
    RingPort p{rte_ring_lookup(rx.c_str()), rte_ring_lookup(tx.c_str())};
    if (!p.rx || !p.tx)
      return std::unexpected("no rings " + rx + "/" + tx + " (a tree whose ring ports are one looped net_ring? see compare.sh)");
    out.push_back(p);
  }
  return out;
}

void drain_ring_ports(const std::vector<RingPort>& ports) {
  void* m;
  for (const auto& p : ports)
    for (rte_ring* r : {p.rx, p.tx})
      while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
}

}  // namespace ivs::bench
