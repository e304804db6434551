#pragma once
// The mirrors compiled for the datapath: per port, which mirrors tap its received and its
// transmitted packets, and per mirror its filter, snaplen and sampling. Immutable; the
// control thread builds a new set on every change (config, `ivctl mirror add/del`) and
// publishes it with an atomic pointer; the old one is freed after an RCU grace period.
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "packet/pcap_filter.hpp"
#include "policy/match.hpp"
#include "mirror/tap_record.hpp"

namespace ivs::mirror {

struct CompiledMirror {
  std::string name;
  uint8_t slot = 0;                       // counter slot, stable while the mirror exists
  uint32_t generation = 0;                // unique per mirror added (see TapRecord)
  bool dedup = true;
  std::unique_ptr<packet::PacketFilter> filter;   // nullptr: every packet
  // Bit per packet::FrameLayout: frames of that layout have the filter judged once per
  // flow (its analysis proved it reads only flow-constant fields; verdict_cache.hpp).
  uint8_t per_flow = 0;
  uint32_t snaplen = 0;                   // 0: whole frames
  uint32_t sample = 1;
};

class MirrorSet {
 public:
  // `slots[i]`, `generations[i]`: the counter slot and generation of mirrors[i]. The taps
  // by port slot (a port's index in the forwarding tables: `port_slot` of its name, -1
  // for none), over `port_slots` slots (the port table's capacity): a port added into a
  // free slot later finds its (empty) lists. Without them: the ports in config order
  // (the tests' tables, made from the config).
  using PortSlotOf = std::function<int(const std::string& port)>;
  static std::expected<std::unique_ptr<MirrorSet>, std::string> compile(const config::Config& cfg,
                                                                        const std::vector<config::MirrorConfig>& mirrors,
                                                                        const std::vector<uint8_t>& slots,
                                                                        const std::vector<uint32_t>& generations,
                                                                        const PortSlotOf& port_slot = nullptr, size_t port_slots = 0);
  const std::vector<uint8_t>& taps(uint16_t port, TapDirection dir) const {
    return dir == kRx ? rx_[port] : tx_[port];
  }
  // Mirrors (bit per index) that tap `port`'s received packets and deduplicate: a packet
  // that came in there was already judged by them, its egress taps skip it.
  uint32_t dedup_rx_mask(uint16_t port) const { return dedup_rx_[port]; }
  // The port slots it has lists for (taps(), dedup_rx_mask() take a port below it).
  size_t port_slots() const { return rx_.size(); }
  // Flow taps: (mirror index, match); a packet is taken where it enters the switch when
  // it or its reverse matches (both directions of the flow).
  struct FlowTap {
    uint8_t mirror;
    policy::CompiledMatch match;
  };
  const std::vector<FlowTap>& flow_taps() const { return flow_taps_; }
  const CompiledMirror& mirror(uint8_t i) const { return mirrors_[i]; }
  size_t size() const { return mirrors_.size(); }
  // Unique per compiled set (never 0): the per-flow verdicts judged against it
  // (verdict_cache.hpp) are worthless for another.
  uint32_t id() const { return id_; }

 private:
  std::vector<CompiledMirror> mirrors_;
  std::vector<std::vector<uint8_t>> rx_, tx_;  // per port slot: indices into mirrors_
  std::vector<uint32_t> dedup_rx_;             // per port slot
  std::vector<FlowTap> flow_taps_;
  uint32_t id_ = 0;
};

}  // namespace ivs::mirror
