#include "dpdk/port.hpp"

#include <fmt/format.h>
#include <rte_bus_vdev.h>
#include <rte_mbuf.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include <algorithm>
#include <fstream>

namespace ivs::dpdk {

static_assert(kMaxPorts <= RTE_MAX_ETHPORTS, "switch.max_ports' bound: one ethdev per port");

using Kind = PortKind;

AfPacketRing af_packet_ring(unsigned mtu) {
  AfPacketRing r;
  const unsigned need = mtu + 18 + 66;  // Ethernet + VLAN tag, at the kernel's offset in the slot
  while (r.frame_size < need) r.frame_size *= 2;
  r.block_size = std::max(4096u, r.frame_size);
  r.frame_count = std::max(256u, (2u << 20) / r.frame_size);
  return r;
}

JumboPool jumbo_pool_for(const std::vector<PortSpec>& specs) {
  JumboPool j;
  unsigned ports = 0;
  for (const auto& p : specs) {
    if (p.kind != Kind::kAfPacket) continue;
    const unsigned room = af_packet_ring(p.mtu).mbuf_data_room();
    if (room <= RTE_MBUF_DEFAULT_DATAROOM) continue;
    j.data_room = std::max(j.data_room, room);
    ++ports;
  }
  // What is in flight between receiving and sending: bursts, upcall and reinject rings,
  // egress queues. 2048 + 1024 per port (16 KB mbufs: 50 MB for one mtu 9000 port).
  if (ports) j.count = 2047 + 1024 * ports;
  return j;
}

std::string ring_port_rx_name(uint16_t index) { return fmt::format("ivs_rx{}", index); }
std::string ring_port_tx_name(uint16_t index) { return fmt::format("ivs_tx{}", index); }

std::pair<std::string, std::string> vdev_for(const PortSpec& spec, uint16_t index, uint16_t queues) {
  switch (spec.kind) {
    case Kind::kVhostUser:  // I/O through librte_vhost (VhostPort); this is the pcapng stand-in
      return {fmt::format("net_null_vhost{}", index), "no-rx=1"};
    case Kind::kTap:
      return {fmt::format("net_tap{}", index), fmt::format("iface={}", spec.interface)};
    case Kind::kAfPacket: {
      // qdisc_bypass: frames go straight to the driver, as a switch port should. The ring
      // is sized for the port's mtu (af_packet_ring).
      const AfPacketRing r = af_packet_ring(spec.mtu);
      return {fmt::format("net_af_packet{}", index),
              fmt::format("iface={},qpairs={},qdisc_bypass=1,blocksz={},framesz={},framecnt={}", spec.interface, queues,
                          r.block_size, r.frame_size, r.frame_count)};
    }
    case Kind::kAfXdp:
      return {fmt::format("net_af_xdp{}", index), fmt::format("iface={},start_queue=0,queue_count=1", spec.interface)};
    case Kind::kPcap: {
      std::string args;
      if (!spec.rx_file.empty()) args = "rx_pcap=" + spec.rx_file;
      if (!spec.tx_file.empty()) args += (args.empty() ? "" : ",") + std::string("tx_pcap=") + spec.tx_file;
      return {fmt::format("net_pcap{}", index), args};
    }
    case Kind::kRing:  // not a vdev either: made from two rings (Port::open)
      return {fmt::format("net_ring{}", index), ""};
    case Kind::kNull:
      return {fmt::format("net_null{}", index), "no-rx=1"};
    case Kind::kChannel:  // not a vdev: made from two rings (Port::open)
      return {fmt::format("net_channel{}", index), ""};
  }
  return {};
}

std::expected<Port, std::string> Port::open(const PortSpec& spec, uint16_t index, uint16_t tx_queues,
                                            rte_mempool* pool, rte_rcu_qsbr* rcu) {
  Port p;
  p.name_ = spec.name;
  p.index_ = index;
  if (spec.kind == Kind::kAfPacket || spec.kind == Kind::kAfXdp) p.carrier_file_ = "/sys/class/net/" + spec.interface + "/carrier";
  // af_packet: one socket per datapath thread, for its own tx. The kernel spreads received
  // frames over the sockets by flow hash (PACKET_FANOUT), so every rx queue is set up and
  // the owning thread polls them all (with one queue polled, flows hashed to another were
  // never read: seen with two datapath threads). vhost-user: a single queue pair, because a
  // guest without multiqueue enables only queue 0; several datapath threads then share
  // its tx queue under a per-burst lock (as OVS does when a guest has fewer queues).
  const uint16_t vdev_queues = spec.kind == Kind::kAfPacket ? tx_queues : 1;
  auto [devname, args] = vdev_for(spec, index, vdev_queues);
  p.devname_ = devname;
  p.devargs_ = args;
  auto fail = [&](const std::string& what, int rc) {
    return std::unexpected(fmt::format("port '{}' ({} {}): {}: {}", spec.name, devname, args, what, rte_strerror(rc < 0 ? -rc : rc)));
  };
  int rc = 0;
  if (spec.kind == Kind::kVhostUser) {
    // The stand-in ethdev first (never configured, started or polled): rte_pcapng's
    // interface table lists ethdevs only, and mirror copies name their port by its id.
    if ((rc = rte_vdev_init(devname.c_str(), args.c_str())) != 0) return fail("cannot create the pcapng stand-in", rc);
    if (rte_eth_dev_get_port_by_name(devname.c_str(), &p.port_id_) != 0) return fail("stand-in not found after creation", ENODEV);
    auto vh = VhostPort::open(spec.vhost_path, spec.vhost_client, pool, rcu);
    if (!vh) {
      rte_vdev_uninit(devname.c_str());
      return std::unexpected(fmt::format("port '{}': {}", spec.name, vh.error()));
    }
    p.vhost_ = std::move(*vh);
    p.driver_ = "librte_vhost";
    return p;
  }
  if (spec.kind == Kind::kChannel || spec.kind == Kind::kRing) {
    // The host end of the host-VM channel: the channel service writes frames into
    // `to_switch` (this port's rx) and reads what the switch sends from `from_switch`
    // (its tx; several datapath threads may send, hence multi-producer). A ring port's
    // rings are the same, for an in-process feeder (ring_port_rx_name).
    const bool channel = spec.kind == Kind::kChannel;
    const std::string in_name = channel ? kChannelToSwitchRing : ring_port_rx_name(index);
    const std::string out_name = channel ? kChannelFromSwitchRing : ring_port_tx_name(index);
    rte_ring* in = rte_ring_create(in_name.c_str(), 1024, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring* out = rte_ring_create(out_name.c_str(), 1024, rte_socket_id(), RING_F_SC_DEQ);
    if (!in || !out) {
      const int err = rte_errno;
      rte_ring_free(in);
      rte_ring_free(out);
      return fail(channel ? "cannot create the channel rings" : "cannot create the port's rings", err);
    }
    const int id = rte_eth_from_rings(devname.c_str(), &in, 1, &out, 1, static_cast<unsigned>(rte_socket_id()));
    if (id < 0) {
      const int err = rte_errno;
      rte_ring_free(in);
      rte_ring_free(out);
      return fail(channel ? "cannot create the channel port" : "cannot create the ring port", err);
    }
    p.port_id_ = static_cast<uint16_t>(id);
    p.rings_ = {in, out};
  } else {
    rc = rte_vdev_init(devname.c_str(), args.c_str());
    if (rc != 0) return fail("cannot create the device (see DPDK's message above)", rc);
    if (rte_eth_dev_get_port_by_name(devname.c_str(), &p.port_id_) != 0) return fail("device not found after creation", ENODEV);
  }

  rte_eth_dev_info info{};
  if ((rc = rte_eth_dev_info_get(p.port_id_, &info)) != 0) return fail("dev_info_get", rc);
  p.driver_ = info.driver_name ? info.driver_name : "?";
  p.nb_txq_ = std::min<uint16_t>(tx_queues, std::max<uint16_t>(1, info.max_tx_queues));
  p.nb_rxq_ = spec.kind == Kind::kAfPacket ? std::min<uint16_t>(vdev_queues, std::max<uint16_t>(1, info.max_rx_queues)) : 1;
  rte_eth_conf conf{};
  if ((rc = rte_eth_dev_configure(p.port_id_, p.nb_rxq_, p.nb_txq_, &conf)) != 0) return fail("configure", rc);
  uint16_t nb_rxd = 1024, nb_txd = 1024;
  rte_eth_dev_adjust_nb_rx_tx_desc(p.port_id_, &nb_rxd, &nb_txd);
  const int socket = rte_eth_dev_socket_id(p.port_id_);
  for (uint16_t q = 0; q < p.nb_rxq_; ++q)
    if ((rc = rte_eth_rx_queue_setup(p.port_id_, q, nb_rxd, socket, nullptr, pool)) != 0) return fail("rx queue setup", rc);
  for (uint16_t q = 0; q < p.nb_txq_; ++q)
    if ((rc = rte_eth_tx_queue_setup(p.port_id_, q, nb_txd, socket, nullptr)) != 0) return fail("tx queue setup", rc);
  // A switch port accepts every destination MAC.
  rte_eth_promiscuous_enable(p.port_id_);
  if ((rc = rte_eth_dev_start(p.port_id_)) != 0) return fail("start", rc);
  return p;
}

void Port::close() {
  if (vhost_) {
    vhost_.reset();  // unregisters the socket: the guest sees its backend go
    rte_vdev_uninit(devname_.c_str());
    return;
  }
  rte_eth_dev_stop(port_id_);
  rte_eth_dev_close(port_id_);
  if (rings_[0]) {
    // The ring PMD does not free rings it was given; release their mbufs, then them.
    for (rte_ring* r : rings_) {
      void* m;
      while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
      rte_ring_free(r);
    }
    rings_ = {};
    return;
  }
  rte_vdev_uninit(devname_.c_str());
}

bool Port::link_up() const {
  if (vhost_) return vhost_->link_up();
  if (!carrier_file_.empty()) {
    std::ifstream f(carrier_file_);
    char c = '0';
    return f.get(c) && c == '1';
  }
  rte_eth_link link{};
  rte_eth_link_get_nowait(port_id_, &link);
  return link.link_status == RTE_ETH_LINK_UP;
}

unsigned Port::kernel_mtu() const {
  if (carrier_file_.empty()) return 0;
  std::ifstream f(carrier_file_.substr(0, carrier_file_.size() - 7) + "mtu");  // .../carrier -> .../mtu
  unsigned mtu = 0;
  return f >> mtu ? mtu : 0;
}

std::optional<LinkEvents> Port::link_events() const {
  if (!vhost_) return std::nullopt;
  return LinkEvents{vhost_->link_up(), vhost_->link_ups(), vhost_->link_downs()};
}

PortStats Port::stats() const {
  // vhost-user: no device counters (the library's per-packet statistics are off; the
  // switch's own per-port counters say what it received and sent, and tx.queue_full
  // what the guest's ring refused).
  if (vhost_) return {};
  rte_eth_stats s{};
  rte_eth_stats_get(port_id_, &s);
  return PortStats{s.ipackets, s.opackets, s.ibytes, s.obytes, s.imissed, s.ierrors, s.oerrors, s.rx_nombuf};
}

}  // namespace ivs::dpdk
