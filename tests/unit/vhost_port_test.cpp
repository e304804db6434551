// A vhost-user port (librte_vhost, src/dpdk/vhost_port.cpp) against a virtio-user ethdev
// in the same process, playing the guest: the link comes up when the "guest" starts and
// goes down (counted) when it stops; frames cross both ways; a frame the guest sends with
// a partial TCP checksum (checksum offload, VIRTIO_NET_HDR_F_NEEDS_CSUM) arrives complete
// and marked good; what the port enqueues is freed (the pool is whole again); a second
// client of the same server socket does not take the port from the first.
#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "dpdk/vhost_port.hpp"
#include "support/packet_builder.hpp"

using namespace ivs;
using namespace ivs::test;

namespace {

bool wait_for(auto&& cond, double seconds = 10) {
  const uint64_t end = rte_rdtsc() + static_cast<uint64_t>(seconds * static_cast<double>(rte_get_tsc_hz()));
  while (rte_rdtsc() < end) {
    if (cond()) return true;
    usleep(1000);
  }
  return cond();
}

rte_mbuf* mbuf_of(rte_mempool* pool, const Bytes& f) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m) std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
  return m;
}

// Pseudo-header + TCP segment sum to 0xffff when the checksum in it is right.
bool tcp_checksum_ok(const rte_ipv4_hdr* ip) {
  const uint16_t l4_len = static_cast<uint16_t>(rte_be_to_cpu_16(ip->total_length) - 20);
  uint32_t sum = uint32_t{rte_ipv4_phdr_cksum(ip, 0)} + rte_raw_cksum(ip + 1, l4_len);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

Bytes tcp_frame() {
  Bytes l4 = tcp(40000, 5201, 0x18);
  for (int i = 0; i < 100; ++i) l4.push_back(static_cast<uint8_t>(i * 7));
  return ipv4({mac("02:00:00:00:0a:02"), mac("02:00:00:00:0a:01")}, ip4("10.9.0.1"), ip4("10.9.0.2"), 6, l4);
}

TEST(VhostPort, GuestComesAndGoesFramesCrossChecksumsCompleted) {
  const int sock = static_cast<int>(rte_socket_id());
  rte_mempool* pool = rte_pktmbuf_pool_create("vh_sw_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, sock);
  rte_mempool* guest_pool = rte_pktmbuf_pool_create("vh_guest_pool", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, sock);
  ASSERT_NE(pool, nullptr);
  ASSERT_NE(guest_pool, nullptr);
  const std::string path = "/tmp/ivs-unit-vhost-" + std::to_string(getpid()) + ".sock";
  auto port = dpdk::VhostPort::open(path, /*client=*/false, pool, nullptr);
  ASSERT_TRUE(port) << port.error();
  auto& vh = **port;
  EXPECT_FALSE(vh.link_up());

  // The "guest": virtio-user connecting to the switch's socket, with tx checksum offload.
  const std::string dev = "net_virtio_user_ut0";
  ASSERT_EQ(rte_vdev_init(dev.c_str(), ("path=" + path + ",queues=1,queue_size=256").c_str()), 0);
  uint16_t gid = 0;
  ASSERT_EQ(rte_eth_dev_get_port_by_name(dev.c_str(), &gid), 0);
  rte_eth_conf conf{};
  conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
  ASSERT_EQ(rte_eth_dev_configure(gid, 1, 1, &conf), 0);
  ASSERT_EQ(rte_eth_rx_queue_setup(gid, 0, 256, static_cast<unsigned>(sock), nullptr, guest_pool), 0);
  ASSERT_EQ(rte_eth_tx_queue_setup(gid, 0, 256, static_cast<unsigned>(sock), nullptr), 0);
  ASSERT_EQ(rte_eth_dev_start(gid), 0);
  ASSERT_TRUE(wait_for([&] { return vh.link_up(); })) << "the device never came up";
  // virtio-user starts its device at probe and again after configure (new features): a
  // flap the callbacks count (up, down, up), which a 100 ms link poll used to miss.
  EXPECT_EQ(vh.link_ups(), vh.link_downs() + 1);
  const uint64_t downs = vh.link_downs();
  EXPECT_TRUE(vh.features() & 1) << "VIRTIO_NET_F_CSUM not negotiated: features " << vh.features();

  // Guest -> switch, the TCP checksum left to the device: the field holds the
  // pseudo-header's sum only (rte_eth_tx_prepare writes it).
  const Bytes f = tcp_frame();
  rte_mbuf* m = mbuf_of(guest_pool, f);
  ASSERT_NE(m, nullptr);
  m->l2_len = 14;
  m->l3_len = 20;
  m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
  ASSERT_EQ(rte_eth_tx_prepare(gid, 0, &m, 1), 1);
  ASSERT_EQ(rte_eth_tx_burst(gid, 0, &m, 1), 1);
  rte_mbuf* got[32];
  uint16_t n = 0;
  ASSERT_TRUE(wait_for([&] { return (n = vh.rx_burst(got, 32)) > 0; }));
  ASSERT_EQ(n, 1u);
  const auto* ip = rte_pktmbuf_mtod_offset(got[0], const rte_ipv4_hdr*, 14);
  EXPECT_TRUE(tcp_checksum_ok(ip)) << "TCP checksum not completed";
  EXPECT_EQ(got[0]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
  // Apart from the checksum, the frame as built (whose checksum field was 0).
  Bytes rx(rte_pktmbuf_mtod(got[0], const uint8_t*), rte_pktmbuf_mtod(got[0], const uint8_t*) + got[0]->data_len);
  ASSERT_EQ(rx.size(), f.size());
  rx[14 + 20 + 16] = rx[14 + 20 + 17] = 0;
  EXPECT_EQ(rx, f);
  rte_pktmbuf_free(got[0]);

  // Switch -> guest: 64 frames (two enqueue calls), all taken and freed by the port.
  rte_mbuf* out[64];
  for (auto& o : out) ASSERT_NE(o = mbuf_of(pool, f), nullptr);
  EXPECT_EQ(vh.tx_burst(out, 64), 64u);
  EXPECT_EQ(rte_mempool_in_use_count(pool), 0u);
  unsigned received = 0;
  wait_for([&] {
    const uint16_t k = rte_eth_rx_burst(gid, 0, got, 32);
    for (uint16_t i = 0; i < k; ++i) {
      received += got[i]->pkt_len == f.size() && std::memcmp(rte_pktmbuf_mtod(got[i], const uint8_t*), f.data(), f.size()) == 0;
      rte_pktmbuf_free(got[i]);
    }
    return received == 64;
  });
  EXPECT_EQ(received, 64u);

  // A second client of the same server socket is not attached: the port stays with the
  // first guest, whatever the second one's device does.
  const uint64_t ups = vh.link_ups();
  const std::string dev2 = "net_virtio_user_ut1";
  ASSERT_EQ(rte_vdev_init(dev2.c_str(), ("path=" + path + ",queues=1,queue_size=256").c_str()), 0);
  uint16_t gid2 = 0;
  ASSERT_EQ(rte_eth_dev_get_port_by_name(dev2.c_str(), &gid2), 0);
  ASSERT_EQ(rte_eth_dev_configure(gid2, 1, 1, &conf), 0);
  ASSERT_EQ(rte_eth_rx_queue_setup(gid2, 0, 256, static_cast<unsigned>(sock), nullptr, guest_pool), 0);
  ASSERT_EQ(rte_eth_tx_queue_setup(gid2, 0, 256, static_cast<unsigned>(sock), nullptr), 0);
  ASSERT_EQ(rte_eth_dev_start(gid2), 0);
  usleep(200 * 1000);
  rte_eth_dev_stop(gid2);
  rte_eth_dev_close(gid2);
  rte_vdev_uninit(dev2.c_str());
  usleep(200 * 1000);
  EXPECT_TRUE(vh.link_up());
  EXPECT_EQ(vh.link_ups(), ups);
  EXPECT_EQ(vh.link_downs(), downs);
  rte_mbuf* again = mbuf_of(pool, f);
  EXPECT_EQ(vh.tx_burst(&again, 1), 1u) << "the first guest lost its port";
  ASSERT_TRUE(wait_for([&] { return rte_eth_rx_burst(gid, 0, got, 32) > 0; }));
  rte_pktmbuf_free(got[0]);

  // The guest goes away (its device reset, its connection closed): one down, and the
  // port moves nothing.
  rte_eth_dev_stop(gid);
  rte_eth_dev_close(gid);
  rte_vdev_uninit(dev.c_str());
  ASSERT_TRUE(wait_for([&] { return !vh.link_up(); })) << "the link stayed up";
  EXPECT_EQ(vh.link_downs(), downs + 1);
  rte_mbuf* late = mbuf_of(pool, f);
  EXPECT_EQ(vh.tx_burst(&late, 1), 0u);
  rte_pktmbuf_free(late);
  EXPECT_EQ(vh.rx_burst(got, 32), 0u);

  port->reset();
  EXPECT_NE(access(path.c_str(), F_OK), 0) << "the server's socket was left behind";
  rte_mempool_free(guest_pool);
  rte_mempool_free(pool);
}

}  // namespace
