// Thread: one EthertypeStage per Forwarder, run by its thread only; the table it writes
// was made before the thread started. Per frame: a classification of the first 18 bytes,
// a probe of a fixed table, two counter adds; a copy of the first bytes 1 in sample_every.
#include "ethertypes/stage.hpp"

#include <rte_mbuf.h>

#include "pipeline/burst.hpp"
#include "pipeline/forwarder.hpp"

namespace ivs::ethertypes {

void EthertypeStage::run(pipeline::Forwarder& f, pipeline::Burst& b) noexcept {
  if (f.simulating()) return;  // ivctl trace's packet was never received: not counted
  const uint64_t tsc = f.now_tsc();
  for (uint16_t j = 0; j < b.n; ++j) {
    const rte_mbuf* m = b.pkts[j].m;
    table_->record(b.pkts[j].in_port, rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, m->pkt_len, sample_every_, tsc);
  }
}

}  // namespace ivs::ethertypes
