#pragma once
// A vhost-user port driven through librte_vhost directly (as OVS-DPDK does), not through
// the net_vhost ethdev: the datapath calls rte_vhost_dequeue_burst / enqueue_burst itself,
// frees what the enqueue copied in one bulk call, and the library's per-packet statistics
// stay off (the switch counts per burst; docs/architecture.md, Ports).
//
// Threads:
//  - open / destructor: the control thread (before the datapath starts, after it stopped).
//  - rx_burst: the one datapath thread polling the port. tx_burst: any datapath thread,
//    serialised by the caller's per-port tx lock when threads share the port (the library
//    also takes the virtqueue's access lock).
//  - the callbacks (new_device, destroy_device, vring_state_changed): the vhost library's
//    "vhost-events" thread (destroy_device also on the control thread, from the
//    destructor). They publish the device id and the link state through atomics and
//    never touch datapath-owned state.
//  - link_up / link_ups / link_downs: any thread.
//
// Why the datapath cannot touch a destroyed device: destroy_device stores vid -1, then
// waits for an RCU grace period of the datapath threads (each reports a quiescent state
// between bursts and is offline while it naps), as OVS's destroy_device waits with
// ovsrcu_synchronize(). The vhost library unmaps the guest's memory only after the
// callback returns; it does not take the virtqueues' access locks for that (only for
// memory-table and ring changes, which are therefore safe against a burst by themselves).
#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <string>

struct rte_mbuf;
struct rte_mempool;
struct rte_rcu_qsbr;

namespace ivs::dpdk {

class VhostPort {
 public:
  // Registers the socket (server: creates it; client: connects, and reconnects every
  // second after a loss) and starts the vhost-user session. `rcu`: the datapath threads'
  // QSBR state, waited on when a device goes away (nullptr: no datapath threads).
  static std::expected<std::unique_ptr<VhostPort>, std::string> open(const std::string& path, bool client, rte_mempool* pool,
                                                                    rte_rcu_qsbr* rcu);
  ~VhostPort();  // unregisters the socket (destroys a connected device first)
  VhostPort(const VhostPort&) = delete;
  VhostPort& operator=(const VhostPort&) = delete;

  // Frames the guest sent (its tx ring, virtqueue 1), as fresh mbufs from the pool. A frame
  // whose L4 checksum the guest left to the device (VIRTIO_NET_HDR_F_NEEDS_CSUM) gets it
  // computed here and is marked RX_L4_CKSUM_GOOD, as net_vhost did.
  uint16_t rx_burst(rte_mbuf** pkts, uint16_t n) noexcept;
  // Copies up to n frames into the guest's rx ring (virtqueue 0) and frees those it
  // copied (one bulk free); returns how many. The caller still owns the rest.
  uint16_t tx_burst(rte_mbuf** pkts, uint16_t n) noexcept;

  // Up while a device is running (new_device .. destroy_device) and the guest has both
  // rings of queue pair 0 enabled. Every transition is counted, from the callbacks.
  bool link_up() const noexcept { return link_up_.load(std::memory_order_relaxed); }
  uint64_t link_ups() const noexcept { return ups_.load(std::memory_order_relaxed); }
  uint64_t link_downs() const noexcept { return downs_.load(std::memory_order_relaxed); }
  // The virtio features the current (or last) guest negotiated.
  uint64_t features() const noexcept { return features_.load(std::memory_order_relaxed); }
  const std::string& path() const { return path_; }

 private:
  VhostPort() = default;
  static int on_new_device(int vid);
  static void on_destroy_device(int vid);
  static int on_vring_state_changed(int vid, uint16_t vring, int enable);
  static VhostPort* find(int vid);
  void update_link_locked();  // under mutex_

  std::string path_;
  rte_mempool* pool_ = nullptr;
  rte_rcu_qsbr* rcu_ = nullptr;
  bool registered_ = false;
  // Read by the datapath every burst: alone on its cache line.
  alignas(64) std::atomic<int> vid_{-1};
  alignas(64) std::atomic<bool> link_up_{false};
  std::atomic<uint64_t> ups_{0}, downs_{0}, features_{0};
  // Callback-side state (vhost-events thread, control thread in the destructor).
  std::mutex mutex_;
  bool running_ = false;
  int running_vid_ = -1;  // the device the port serves (a server socket may get a second client)
  bool vring_ready_[2] = {false, false};
};

}  // namespace ivs::dpdk
