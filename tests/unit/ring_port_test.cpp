// A `type: ring` port (dpdk/port.cpp) opens, and is two rings found by name: what is
// enqueued on ivs_rx<N> is received on the port; what the port sends lands on ivs_tx<N>
// and is not received again (net_ring's nodeaction port could not be opened at all, and
// looped every sent frame back to its own rx). The black-box benchmark relies on this.
#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "config/core_specs.hpp"
#include "config/loader.hpp"
#include "dpdk/port.hpp"

using namespace ivs;

TEST(RingPort, OpensAsTwoRingsFoundByNameWithoutLoop) {
  auto cfg = config::load_string("ports:\n  - {name: r, type: ring, network: web}\nnetworks:\n  - {name: web, vlan: 10}\n", "ring.yaml");
  ASSERT_TRUE(cfg) << cfg.error().front();
  rte_mempool* pool = rte_pktmbuf_pool_create("ring_port_pool", 63, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  ASSERT_NE(pool, nullptr);
  constexpr uint16_t kIndex = 7;  // the port's position in `ports` names its rings
  auto port = dpdk::Port::open(config::port_spec(cfg->ports[0]), kIndex, 1, pool);
  ASSERT_TRUE(port) << port.error();
  rte_ring* rx = rte_ring_lookup(dpdk::ring_port_rx_name(kIndex).c_str());
  rte_ring* tx = rte_ring_lookup(dpdk::ring_port_tx_name(kIndex).c_str());
  ASSERT_NE(rx, nullptr);
  ASSERT_NE(tx, nullptr);
  EXPECT_NE(rx, tx);
  EXPECT_EQ(dpdk::ring_port_rx_name(kIndex), "ivs_rx7");  // documented in docs/config.md
  EXPECT_EQ(dpdk::ring_port_tx_name(kIndex), "ivs_tx7");

  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(rte_ring_enqueue(rx, m), 0);
  rte_mbuf* got[4] = {};
  ASSERT_EQ(rte_eth_rx_burst(port->id(), 0, got, 4), 1);
  EXPECT_EQ(got[0], m);
  ASSERT_EQ(rte_eth_tx_burst(port->id(), 0, &m, 1), 1);
  EXPECT_EQ(rte_eth_rx_burst(port->id(), 0, got, 4), 0) << "a sent frame came back on the port's rx";
  void* out = nullptr;
  ASSERT_EQ(rte_ring_dequeue(tx, &out), 0);
  EXPECT_EQ(out, m);
  rte_pktmbuf_free(m);

  port->close();
  EXPECT_EQ(rte_ring_lookup(dpdk::ring_port_rx_name(kIndex).c_str()), nullptr) << "rings left after close";
  EXPECT_EQ(rte_mempool_avail_count(pool), 63u);
  rte_mempool_free(pool);
}
