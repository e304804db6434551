#pragma once
// One switch port = one DPDK ethdev created from a typed PortConfig (vhost-user, tap,
// af_packet, af_xdp, pcap, ring, discard). The devargs are built here and nowhere else.
//
// Thread: open/close on the control thread before/after the datapath runs; rx/tx
// queues are then used by datapath threads (rx queue 0 by the owning PMD, tx queue
// per PMD or shared under txq_lock).
#include <rte_spinlock.h>

#include <array>
#include <cstdint>
#include <expected>
#include <string>

#include "config/model.hpp"

struct rte_mempool;
struct rte_ring;

namespace ivs::dpdk {

// The host channel port's rings (PortType::kChannel), found by name by the channel service.
inline constexpr const char* kChannelToSwitchRing = "ivs_chan_in";
inline constexpr const char* kChannelFromSwitchRing = "ivs_chan_out";

struct PortStats {
  uint64_t ipackets = 0, opackets = 0, ibytes = 0, obytes = 0, imissed = 0, ierrors = 0, oerrors = 0, rx_nombuf = 0;
};

class Port {
 public:
  // Creates the vdev, configures 1 rx queue and `tx_queues` tx queues (fewer if the
  // driver cannot), and starts it.
  static std::expected<Port, std::string> open(const config::PortConfig& cfg, uint16_t index, uint16_t tx_queues,
                                               rte_mempool* pool);
  void close();

  uint16_t id() const { return port_id_; }
  uint16_t index() const { return index_; }
  uint16_t tx_queue_count() const { return nb_txq_; }
  uint16_t rx_queue_count() const { return nb_rxq_; }
  const std::string& name() const { return name_; }
  const std::string& devargs() const { return devargs_; }
  // af_packet / af_xdp: the kernel interface's carrier (those drivers report "up" from
  // start to stop, whatever the peer does); others: the driver's link status.
  bool link_up() const;
  PortStats stats() const;

 private:
  std::string name_, devname_, devargs_;
  std::string carrier_file_;  // /sys/class/net/IF/carrier for kernel-interface ports
  uint16_t port_id_ = 0, index_ = 0, nb_txq_ = 1, nb_rxq_ = 1;
  std::array<rte_ring*, 2> rings_{};  // kChannel: {to switch, from switch}
};

// Build the vdev name + args for a port (exposed for tests and --dry-run).
std::pair<std::string, std::string> vdev_for(const config::PortConfig& cfg, uint16_t index, uint16_t queues);

}  // namespace ivs::dpdk
