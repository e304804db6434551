#include "dpdk/vhost_port.hpp"

#include <fmt/format.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_net.h>
#include <rte_rcu_qsbr.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#include <rte_vhost.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <vector>

namespace ivs::dpdk {

namespace {
// Queue pair 0 only (one rx and one tx ring; a multiqueue guest uses its first pair):
// virtqueue 0 is the guest's rx ring (we enqueue), 1 its tx ring (we dequeue).
constexpr uint16_t kGuestRx = 0, kGuestTx = 1;
// rte_vhost_enqueue_burst takes at most this many per call (MAX_PKT_BURST).
constexpr uint16_t kEnqueueMax = 32;
// Virtio feature bits VIRTIO_NET_F_HOST_TSO4/6 (linux/virtio_net.h does not compile as C++).
constexpr uint64_t kHostTso = (1ULL << 11) | (1ULL << 12);

// The callbacks know a device by its vid; they find the port by the socket path. The
// registry changes only on the control thread (open, destructor) and is read by the
// callbacks, hence the lock (never taken by the datapath).
std::mutex registry_mutex;
std::vector<VhostPort*> registry;

// The guest left the L4 checksum to us (VIRTIO_NET_HDR_F_NEEDS_CSUM: the field holds the
// pseudo-header's sum, per the virtio spec). Complete it, as net_vhost did when the guest
// negotiated VIRTIO_NET_F_CSUM and the application enabled no rx checksum offload: every
// port type can then carry the frame (af_packet, tap and pcap know nothing of partial
// checksums), and mirrors see correct frames.
void complete_l4_checksum(rte_mbuf* m) noexcept {
  rte_net_hdr_lens lens{};
  const uint32_t l4 = rte_net_get_ptype(m, &lens, RTE_PTYPE_ALL_MASK) & RTE_PTYPE_L4_MASK;
  const uint32_t hdr_len = lens.l2_len + lens.l3_len;
  uint32_t off = hdr_len;
  if (l4 == RTE_PTYPE_L4_TCP)
    off += offsetof(rte_tcp_hdr, cksum);
  else if (l4 == RTE_PTYPE_L4_UDP)
    off += offsetof(rte_udp_hdr, dgram_cksum);
  else
    return;  // the library already computed it for other protocols, or cannot
  uint16_t csum = 0;
  if (hdr_len >= rte_pktmbuf_pkt_len(m) || rte_raw_cksum_mbuf(m, hdr_len, rte_pktmbuf_pkt_len(m) - hdr_len, &csum) < 0) return;
  csum = static_cast<uint16_t>(~csum);
  if (l4 == RTE_PTYPE_L4_UDP && csum == 0) csum = 0xffff;  // RFC 768: 0 means "no checksum"
  if (rte_pktmbuf_data_len(m) < off + 2) return;
  *rte_pktmbuf_mtod_offset(m, uint16_t*, off) = csum;
  m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_RX_L4_CKSUM_MASK) | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
}
}  // namespace

VhostPort* VhostPort::find(int vid) {
  char path[PATH_MAX];
  if (rte_vhost_get_ifname(vid, path, sizeof(path)) != 0) return nullptr;
  std::lock_guard lock(registry_mutex);
  for (VhostPort* p : registry)
    if (p->path_ == path) return p;
  return nullptr;
}

void VhostPort::update_link_locked() {
  const bool up = running_ && vring_ready_[kGuestRx] && vring_ready_[kGuestTx];
  if (up == link_up_.load(std::memory_order_relaxed)) return;
  link_up_.store(up, std::memory_order_release);
  (up ? ups_ : downs_).fetch_add(1, std::memory_order_relaxed);
}

int VhostPort::on_new_device(int vid) {
  VhostPort* p = find(vid);
  if (!p) return -1;
  {
    // One guest per port: a second client of a server socket is not attached (returning
    // -1 leaves its device stopped; net_vhost silently switched to the newest one).
    std::lock_guard lock(p->mutex_);
    if (p->running_ && p->running_vid_ != vid) {
      // The library asks again after each of that client's messages: say it once.
      static std::atomic<int> last_refused{-1};
      if (last_refused.exchange(vid) != vid)
        spdlog::warn("vhost-user {}: a second guest (device {}) is not attached: device {} uses the port", p->path_, vid,
                     p->running_vid_);
      return -1;
    }
  }
  uint64_t features = 0;
  rte_vhost_get_negotiated_features(vid, &features);
  // We poll: the guest need not kick us (saves it a VM exit per transmit), as net_vhost
  // and OVS do. The library keeps this setting when the rings are enabled again.
  for (uint16_t q = 0; q < rte_vhost_get_vring_num(vid); ++q) rte_vhost_enable_guest_notification(vid, q, 0);
  std::lock_guard lock(p->mutex_);
  p->features_.store(features, std::memory_order_relaxed);
  p->running_ = true;
  p->running_vid_ = vid;
  p->vid_.store(vid, std::memory_order_release);
  p->update_link_locked();
  spdlog::info("vhost-user {}: guest attached (device {}, features {:#x})", p->path_, vid, features);
  return 0;
}

void VhostPort::on_destroy_device(int vid) {
  VhostPort* p = find(vid);
  if (!p) return;
  {
    std::lock_guard lock(p->mutex_);
    if (!p->running_ || p->running_vid_ != vid) return;  // never attached: the datapath never saw it
    p->running_ = false;
    p->running_vid_ = -1;
    p->vid_.store(-1, std::memory_order_release);
    p->update_link_locked();
  }
  // The library frees the rings and unmaps the guest's memory when we return: wait until
  // no datapath thread can still be inside a burst that read the old vid. Not under our
  // mutex, and never from vring_state_changed (that one runs with the virtqueues' access
  // locks held, which a datapath thread in rte_vhost_enqueue_burst may be waiting for).
  if (p->rcu_) rte_rcu_qsbr_synchronize(p->rcu_, RTE_QSBR_THRID_INVALID);
  spdlog::info("vhost-user {}: guest detached (device {})", p->path_, vid);
}

int VhostPort::on_vring_state_changed(int vid, uint16_t vring, int enable) {
  // The library calls this when a ring becomes ready (addresses, eventfds, enabled) or
  // stops being so, before new_device and around a guest's driver reset. A disabled ring
  // is not touched by the library's bursts (they return 0); here it only takes the link
  // down, so that frames for a guest that cannot receive count as tx.link_down.
  if (vring > kGuestTx) return 0;
  VhostPort* p = find(vid);
  if (!p) return 0;
  std::lock_guard lock(p->mutex_);
  if (p->running_ && p->running_vid_ != vid) return 0;  // not the attached guest's ring
  p->vring_ready_[vring] = enable != 0;
  p->update_link_locked();
  return 0;
}

std::expected<std::unique_ptr<VhostPort>, std::string> VhostPort::open(const std::string& path, bool client,
                                                                      rte_mempool* pool, rte_rcu_qsbr* rcu) {
  static const rte_vhost_device_ops ops = [] {
    rte_vhost_device_ops o{};
    o.new_device = &VhostPort::on_new_device;
    o.destroy_device = &VhostPort::on_destroy_device;
    o.vring_state_changed = &VhostPort::on_vring_state_changed;
    return o;
  }();
  std::unique_ptr<VhostPort> p(new VhostPort());
  p->path_ = path;
  p->pool_ = pool;
  p->rcu_ = rcu;
  // The flags net_vhost used, less its per-packet statistics (RTE_VHOST_USER_NET_STATS_ENABLE):
  //  - client: connect, and reconnect every second after a loss (no NO_RECONNECT), so
  //    that a restarted guest or switch finds its peer again;
  //  - NET_COMPLIANT_OL_FLAGS: received frames carry RX checksum flags (not TX ones), as
  //    with net_vhost's default.
  uint64_t flags = RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS;
  if (client) flags |= RTE_VHOST_USER_CLIENT;
  if (rte_vhost_driver_register(path.c_str(), flags) != 0)
    return std::unexpected(fmt::format("cannot register vhost-user socket {} (see DPDK's message above)", path));
  p->registered_ = true;
  {
    std::lock_guard lock(registry_mutex);
    registry.push_back(p.get());
  }
  // The same features as net_vhost offered (its default tso=0 turns off host TSO), so that
  // a guest that negotiated with an older switch accepts this one after a restart: QEMU
  // drops a backend that no longer offers a feature the guest uses (docs/vms.md).
  if (rte_vhost_driver_disable_features(path.c_str(), kHostTso) != 0)
    return std::unexpected(fmt::format("vhost-user socket {}: cannot disable host TSO", path));
  if (rte_vhost_driver_callback_register(path.c_str(), &ops) != 0)
    return std::unexpected(fmt::format("vhost-user socket {}: cannot register the callbacks", path));
  if (rte_vhost_driver_start(path.c_str()) != 0)
    return std::unexpected(fmt::format("vhost-user socket {}: cannot start (see DPDK's message above)", path));
  return p;
}

VhostPort::~VhostPort() {
  // Closes the connection; a running device is destroyed first (on_destroy_device, on this
  // thread). No callback for this path runs after it returns.
  if (registered_) rte_vhost_driver_unregister(path_.c_str());
  std::lock_guard lock(registry_mutex);
  registry.erase(std::remove(registry.begin(), registry.end(), this), registry.end());
}

uint16_t VhostPort::rx_burst(rte_mbuf** pkts, uint16_t n) noexcept {
  const int vid = vid_.load(std::memory_order_acquire);
  if (vid < 0) return 0;
  const uint16_t got = rte_vhost_dequeue_burst(vid, kGuestTx, pool_, pkts, n);
  for (uint16_t i = 0; i < got; ++i)
    if ((pkts[i]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_NONE) [[unlikely]]
      complete_l4_checksum(pkts[i]);
  return got;
}

uint16_t VhostPort::tx_burst(rte_mbuf** pkts, uint16_t n) noexcept {
  const int vid = vid_.load(std::memory_order_acquire);
  if (vid < 0) return 0;
  uint16_t sent = 0;
  while (sent < n) {
    const uint16_t want = std::min<uint16_t>(static_cast<uint16_t>(n - sent), kEnqueueMax);
    const uint16_t k = rte_vhost_enqueue_burst(vid, kGuestRx, pkts + sent, want);
    sent = static_cast<uint16_t>(sent + k);
    if (k < want) break;  // the guest's ring is full
  }
  // The enqueue copied them into guest memory: free them all at once (net_vhost freed
  // them one by one).
  if (sent) rte_pktmbuf_free_bulk(pkts, sent);
  return sent;
}

}  // namespace ivs::dpdk
