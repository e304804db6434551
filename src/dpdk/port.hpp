#pragma once
// One switch port, created from a PortSpec (dpdk/port_spec.hpp, compiled by the caller
// from the config). Tap, af_packet, af_xdp, pcap, ring,
// discard and the channel port are DPDK ethdevs (the devargs are built here and nowhere
// else); vhost-user ports are driven through librte_vhost directly (dpdk/vhost_port.hpp).
// The datapath reaches either through io() (dpdk/port_io.hpp).
//
// Thread: open/close on the control thread before/after the datapath runs; rx/tx
// queues are then used by datapath threads (rx queue 0 by the owning PMD, tx queue
// per PMD or shared under the port's tx lock). link_up() and stats(): any thread.
#include <rte_spinlock.h>

#include <array>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dpdk/port_io.hpp"
#include "dpdk/port_spec.hpp"

struct rte_mempool;
struct rte_rcu_qsbr;
struct rte_ring;

namespace ivs::dpdk {

// The host channel port's rings (PortKind::kChannel), found by name by the channel service.
inline constexpr const char* kChannelToSwitchRing = "ivs_chan_in";
inline constexpr const char* kChannelFromSwitchRing = "ivs_chan_out";
// A `type: ring` port is two rings named after the port's position N in `ports`: what is
// enqueued on ivs_rx<N> the switch receives on the port, what it sends out of the port is
// enqueued on ivs_tx<N>. An in-process feeder (the black-box benchmark, bench/blackbox)
// looks them up by name. Two rings, not net_ring's one ring per queue for both directions,
// which would hand the switch back every frame it sent.
std::string ring_port_rx_name(uint16_t index);
std::string ring_port_tx_name(uint16_t index);

struct PortStats {
  uint64_t ipackets = 0, opackets = 0, ibytes = 0, obytes = 0, imissed = 0, ierrors = 0, oerrors = 0, rx_nombuf = 0;
};

// Link transitions a port counts itself (vhost-user: from the vhost library's callbacks).
struct LinkEvents {
  bool up = false;
  uint64_t ups = 0, downs = 0;
};

class Port {
 public:
  // Creates the vdev, configures 1 rx queue and `tx_queues` tx queues (fewer if the
  // driver cannot), and starts it. vhost-user: registers and starts the socket (one queue
  // pair); `rcu` is the datapath threads' QSBR state, waited on when a guest goes away.
  static std::expected<Port, std::string> open(const PortSpec& spec, uint16_t index, uint16_t tx_queues,
                                               rte_mempool* pool, rte_rcu_qsbr* rcu = nullptr);
  Port() = default;
  Port(Port&&) noexcept = default;
  Port& operator=(Port&&) noexcept = default;
  ~Port() = default;
  void close();

  // The ethdev id. A vhost-user port has no ethdev for I/O; its id is a stand-in's that
  // is never polled, kept because DPDK 22.11's rte_pcapng describes only ethdevs
  // (mirror copies to pcapng files name the port by it).
  uint16_t id() const { return port_id_; }
  PortIo io() const { return PortIo{port_id_, vhost_.get()}; }
  // "librte_vhost" for vhost-user ports, else the ethdev's driver (net_af_packet, ...).
  const std::string& driver() const { return driver_; }
  uint16_t index() const { return index_; }
  uint16_t tx_queue_count() const { return nb_txq_; }
  uint16_t rx_queue_count() const { return nb_rxq_; }
  const std::string& name() const { return name_; }
  const std::string& devargs() const { return devargs_; }
  // af_packet / af_xdp: the kernel interface's carrier (those drivers report "up" from
  // start to stop, whatever the peer does); others: the driver's link status.
  bool link_up() const;
  // af_packet / af_xdp / tap: the kernel interface's MTU now (0: unknown or not a kernel
  // interface). The kernel drops, without a count, what an af_packet socket sends beyond it.
  unsigned kernel_mtu() const;
  // Ports that count their own link transitions (vhost-user): every one, as it happens.
  // nullopt: the caller polls link_up() and counts what it sees.
  std::optional<LinkEvents> link_events() const;
  PortStats stats() const;

 private:
  std::string name_, devname_, devargs_, driver_;
  std::string carrier_file_;  // /sys/class/net/IF/carrier for kernel-interface ports
  uint16_t port_id_ = 0, index_ = 0, nb_txq_ = 1, nb_rxq_ = 1;
  std::array<rte_ring*, 2> rings_{};  // kChannel, kRing: {to switch, from switch}
  std::unique_ptr<VhostPort> vhost_;  // kVhostUser
};

// The af_packet PMD's ring for a port's mtu (devargs blocksz/framesz/framecnt; TPACKET_V2).
// The kernel writes a frame 66 octets into its slot (the TPACKET_V2 header and
// sockaddr_ll, aligned), so a slot of `frame_size` holds frames up to `snap()` octets and
// cuts longer ones to exactly that. Slots hold the port's mtu plus Ethernet and one
// VLAN tag; at least 2048 (the PMD's default, so mtu 1500 keeps the ring it always had);
// powers of two, one slot per block above 4 KB; the ring keeps about 2 MiB (at least 256
// slots). The PMD copies a slot into one mbuf whose data room must hold `frame_size - 32`.
struct AfPacketRing {
  unsigned frame_size = 2048, block_size = 4096, frame_count = 1024;
  unsigned snap() const { return frame_size - 66; }
  unsigned mbuf_data_room() const { return frame_size - 32; }
};
AfPacketRing af_packet_ring(unsigned mtu);

// af_packet ports with an mtu whose ring slots do not fit the switching pool's 2 KB
// mbufs receive into a pool of bigger ones: its data room (0: none needed) and size.
struct JumboPool {
  unsigned data_room = 0, count = 0;
  uint64_t bytes() const { return uint64_t{count} * (data_room + 128 + 256); }  // + headroom, mbuf header
};
JumboPool jumbo_pool_for(const std::vector<PortSpec>& ports);

// Build the vdev name + args for a port (exposed for tests and --dry-run).
std::pair<std::string, std::string> vdev_for(const PortSpec& spec, uint16_t index, uint16_t queues);

}  // namespace ivs::dpdk
