#pragma once
// What a datapath thread needs to move a burst through a port: an ethdev's id, or the
// vhost-user port that it drives through librte_vhost (dpdk/vhost_port.hpp). One branch
// per burst picks the path; no virtual call, nothing per packet.
//
// Ownership as with rte_eth_tx_burst: tx_burst returns how many frames the port took
// (they are the port's now: a vhost-user port has copied and freed them); the caller
// still owns the rest.
//
// Thread: rx_burst by the port's polling thread; tx_burst by any datapath thread, under
// the caller's tx lock when several share a queue (pipeline::PortRuntime).
#include <rte_ethdev.h>

#include <cstdint>

#include "dpdk/vhost_port.hpp"

namespace ivs::dpdk {

struct PortIo {
  uint16_t port_id = 0;        // the ethdev (unused for I/O when vhost is set)
  VhostPort* vhost = nullptr;  // a vhost-user port: owned by its dpdk::Port

  uint16_t rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) const noexcept {
    if (vhost) return vhost->rx_burst(pkts, n);
    return rte_eth_rx_burst(port_id, queue, pkts, n);
  }
  uint16_t tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) const noexcept {
    if (vhost) return vhost->tx_burst(pkts, n);
    return rte_eth_tx_burst(port_id, queue, pkts, n);
  }
};

}  // namespace ivs::dpdk
