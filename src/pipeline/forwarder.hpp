#pragma once
// The per-packet work of a datapath thread, one rx burst at a time, in stages over the
// burst so that the tables are read with bulk lookups (DPDK prefetches across keys):
//
//   ingress:  parse, network of the frame, VLAN pop
//   learn:    source MACs (bulk MAC-table lookup); new or moved -> learn event
//   classify: for the switch itself (ARP / ICMP echo to a gateway IP) -> answered;
//             broadcast/multicast -> flooded in the network; IP unicast -> policy;
//             other unicast -> forward
//   policy:   flow key (a fragment: its datagram's, flow/frag_table.hpp) -> this thread's exact-match cache -> flow table (bulk); hit: the
//             flow's state (allowed / denied / rejected; on a chain: pending -> to the
//             inline device, verified -> shortcut, see forwarder_chain.cpp); miss: upcall
//             to the policy thread, which answers through reinject() with the verdict
//             after installing the flow
//   forward:  routed (dst MAC = gateway MAC: checksum, TTL, route, neighbour, MAC
//             rewrite) or switched (bulk MAC-table lookup: one port, else flood)
//   qos:      (with a `qos` section; forwarder_qos.cpp) packets from their sender: DSCP
//             seen vs the flow's assigned DSCP (decided with the verdict), rewritten
//             under enforce, metered; on output: class by DSCP -> the port's scheduler
//   egress:   VLAN push on tagged ports -> per-port TxBatch
//
// Every packet ends in exactly one TxBatch (flood copies: one each) or is dropped with a
// DropReason counted on its port. No allocation (flood copies come from the mbuf pool),
// no lock, no log. Inputs are never trusted: every header is length-checked by parse().
//
// Thread: one Forwarder per datapath thread; not shared.
#include <rte_mbuf.h>
#include <rte_meter.h>

#include <array>
#include <vector>

#include "flow/emc.hpp"
#include "flow/flow_key.hpp"
#include "flow/flow_table.hpp"
#include "flow/frag_table.hpp"
#include "packet/parse.hpp"
#include "pipeline/context.hpp"
#include "policy/upcall.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/tx_batch.hpp"
#include "qos/decision.hpp"
#include "qos/qos_counters.hpp"

namespace ivs::pipeline {

struct Trace;  // pipeline/trace.hpp

class Forwarder {
 public:
  static constexpr uint16_t kMaxBurst = 64;  // one bulk hash lookup (RTE_HASH_LOOKUP_BULK_MAX)

  // upcall_ring: this thread's ring to the policy thread (nullptr: no policy, all allowed);
  // tap_ring: its ring of copies to the broker (nullptr: no mirroring).
  Forwarder(const DatapathContext& ctx, uint16_t tx_queue, PmdCounters& pmd, std::vector<PortCounters>& ports,
            rte_ring* upcall_ring = nullptr, rte_ring* tap_ring = nullptr);

  // Process a burst received on `in_port` (port index, not DPDK id). `now_s` is a coarse
  // clock in seconds for aging stamps; `now_tsc` rate-limits ARP requests and upcalls.
  void process(uint16_t in_port, rte_mbuf** pkts, uint16_t n, uint32_t now_s, uint64_t now_tsc) noexcept;
  // Finish packets the policy thread sent back with their verdict.
  void reinject(policy::Upcall* ups, uint16_t n, uint32_t now_s, uint64_t now_tsc) noexcept;
  // Send every non-empty TxBatch.
  void flush() noexcept;
  const qos::QosCounters& qos_counters() const { return qos_counters_; }
  const std::array<MirrorCounters, mirror::kMaxMirrors>& mirror_counters() const { return mirror_counters_; }
  std::array<MirrorCounters, mirror::kMaxMirrors>& mirror_counters() { return mirror_counters_; }
  // Copies the broker sends out of tool ports this thread owns: straight to their tx batch
  // (not tapped again, no VLAN push: they leave as they were seen).
  void send_tool_packets(const mirror::ToolPacket* tps, unsigned n) noexcept;
  // Tests and trace: inspect what process() queued for a port, then release it.
  TxBatch& batch(uint16_t port) { return batches_[port]; }
  const flow::FragTable& frags() const { return frags_; }
  // Trace mode (control thread only): note every decision, learn nothing, install no
  // flow (the policy is asked directly), send nothing. nullptr on datapath threads.
  void set_trace(Trace* t) {
    trace_ = t;
    validator_ = nullptr;  // a trace is not served from the cache
  }

 private:
  // kShortcut: switched in the network the chain shortcut moved it to (may leave on its
  // ingress port, e.g. a trunk carrying both networks).
  enum class Path : uint8_t { kSwitch, kRoute, kShortcut };
  struct Pkt {  // a packet between stages
    rte_mbuf* m;
    uint16_t in_port;
    int16_t net;
    Path path;
  };
  struct Burst {  // per-call scratch: packets between stages
    Pkt pkts[kMaxBurst];
    packet::ParsedPacket pp[kMaxBurst];
    flow::DirectedKey keys[kMaxBurst];
    bool related[kMaxBurst];      // an ICMP error keyed by the flow it quotes (make_related_key)
    uint16_t policy[kMaxBurst];   // indices waiting for the policy stage
    uint16_t forward[kMaxBurst];  // indices allowed to go on
    uint16_t n = 0, n_policy = 0, n_forward = 0;
  };

  void stage_policy(Burst& b) noexcept;
  void stage_forward(Burst& b) noexcept;
  bool allow_upcall(uint16_t port) noexcept;
  void upcall(const Pkt& p, const packet::ParsedPacket& pp, const flow::DirectedKey& dk) noexcept;
  // The stages after the flow lookup, the same for a cache hit, a packet the policy
  // thread re-injects with its new flow's verdict, and trace: the QoS guard for packets
  // from their sender (not those coming back from a chain's device), then the verdict.
  void after_lookup(Burst& b, uint16_t j, uint8_t state, flow::FlowEntry* fe, bool from_device) noexcept;
  // Finish packet j of the burst by its flow's state; `fe` is the flow's entry (nullptr
  // when there is none: trace, or the table was full).
  void apply_verdict(Burst& b, uint16_t j, uint8_t state, flow::FlowEntry* fe) noexcept;
  // An ICMP error quoting a packet of flow `fe`: forwarded as addressed when the flow's
  // packets are forwarded, dropped when it is denied or rejected. It neither counts as the
  // flow's packet nor keeps it alive, and the QoS guard and flow taps leave it alone.
  void forward_related(Burst& b, uint16_t j, const flow::FlowEntry& fe) noexcept;
  // The packet's own flow key, in the address space (zone) of its network `net`.
  bool zoned_key(const uint8_t* frame, uint32_t len, const packet::ParsedPacket& pp, int16_t net, flow::DirectedKey& dk) const noexcept {
    if (!flow::make_key(frame, len, pp, dk)) return false;
    dk.key.zone = tables_.network(net).zone;
    return true;
  }
  // Trace mode, a flow-table miss: the slow path's decision for the packet (as an upcall
  // gets it), then the stages after the lookup on the entry it would install.
  void trace_miss(Burst& b, uint16_t j) noexcept;
  // Inspect-then-shortcut (forwarder_chain.cpp): a packet of a flow on a chain.
  void chain_step(Burst& b, uint16_t j, flow::FlowEntry& fe, uint8_t state) noexcept;
  void chain_sense(flow::FlowEntry& fe, const Pkt& p, const packet::ParsedPacket& pp, uint8_t direction) noexcept;
  void shortcut(Burst& b, uint16_t j, flow::FlowEntry& fe) noexcept;
  // QoS guard (forwarder_qos.cpp): check, rewrite and meter a packet from its sender
  // under decision `d`; false when a meter dropped it. `fe` may be nullptr (trace).
  // The common case inline: DSCP counted, nothing to change or meter.
  bool qos_ingress(const Pkt& p, packet::ParsedPacket& pp, const qos::Decision& d, flow::FlowEntry* fe, uint8_t direction) noexcept {
    const uint8_t seen = pp.dscp & 63;
    qos_counters_.vm(d.vm).seen[seen].inc();
    if ((d.dscp == seen || d.dscp == config::kNoDscp) && d.meter < 0 && !ctx_.qos->has_class_meters() && !trace_) [[likely]]
      return true;
    return qos_act(p, pp, d, fe, direction);
  }
  bool qos_act(const Pkt& p, packet::ParsedPacket& pp, const qos::Decision& d, flow::FlowEntry* fe, uint8_t direction) noexcept;
  void qos_egress(uint16_t port, rte_mbuf* m) noexcept;
  // vTAP (forwarder_mirror.cpp): copies of `m` for the mirrors tapping `port` in `dir`.
  void tap(uint16_t port, rte_mbuf* m, mirror::TapDirection dir) noexcept {
    if (mirrors_ && !mirrors_->taps(port, dir).empty()) [[unlikely]] tap_copies(port, m, dir);
  }
  void tap_copies(uint16_t port, rte_mbuf* m, mirror::TapDirection dir) noexcept;
  void copy_for_mirror(uint8_t idx, uint16_t port, rte_mbuf* m, mirror::TapDirection dir) noexcept;
  // Flow taps: the packets of the flows a mirror's policy match selects (matched in the
  // direction of the flow's first packet; `fe` nullptr: this packet starts the flow).
  void flow_tap(const Pkt& p, const packet::ParsedPacket& pp, const flow::FlowEntry* fe, uint8_t direction) noexcept {
    if (mirrors_ && !mirrors_->flow_taps().empty() && pp.ethertype == packet::kEtherTypeIpv4) [[unlikely]]
      flow_tap_copies(p, pp, fe, direction);
  }
  void flow_tap_copies(const Pkt& p, const packet::ParsedPacket& pp, const flow::FlowEntry* fe, uint8_t direction) noexcept;
  void load_mirrors() noexcept {
    // (trace: the mirrors are judged and counted as the datapath does; nothing is copied)
    mirrors_ = ctx_.mirrors && (tap_ring_ || trace_) ? ctx_.mirrors->load(std::memory_order_acquire) : nullptr;
  }
  // Host-VM channel (forwarder_channel.cpp): a frame on a channel's network must be a
  // channel message between the channel's agent and the channel address, with the
  // channel's metadata id, within the agent's rate; the agent's ARP for the channel IP is
  // answered here. False: consumed (dropped with its reason, or answered).
  bool channel_admit(uint16_t in_port, int16_t net, rte_mbuf* m, const packet::ParsedPacket& pp) noexcept;
  bool channel_tokens(size_t channel) noexcept;
  void drop(uint16_t port, rte_mbuf* m, DropReason r) noexcept;
  void emit(uint16_t port, int16_t net, rte_mbuf* m) noexcept;
  void emit_fragments(uint16_t port, int16_t net, rte_mbuf* m, uint32_t mtu) noexcept;
  void flood(int16_t net, uint16_t except_port, uint16_t in_port, rte_mbuf* m) noexcept;
  void queue_mac_learn(uint16_t in_port, const forward::FdbKey& key, const forward::FdbKey*& last_queued) noexcept;
  void glean_arp(uint16_t in_port, int16_t net, const packet::ParsedPacket& pp, const uint8_t* eth) noexcept;
  void local(const Pkt& p, const packet::ParsedPacket& pp) noexcept;
  void route(uint16_t in_port, rte_mbuf* m, const packet::ParsedPacket& pp) noexcept;
  // Turns the ARP request at `eth` into its reply in place: `ip` is at `mac`.
  static void arp_reply(uint8_t* eth, const packet::ParsedPacket& pp, const MacAddr& mac, uint32_t ip) noexcept;
  bool echo_reply(int16_t net, rte_mbuf* m, const packet::ParsedPacket& pp) noexcept;
  void send_arp_request(uint16_t in_port, int16_t net, uint32_t target_ip, rte_mbuf* m, uint64_t now_tsc) noexcept;
  void queue_learn(const forward::LearnEvent& ev) noexcept;

  const DatapathContext& ctx_;
  const forward::ForwardingTables& tables_;
  uint16_t txq_;
  PmdCounters& pmd_;
  std::vector<PortCounters>& pc_;
  std::vector<TxBatch> batches_;
  rte_ring* upcall_ring_;
  Trace* trace_ = nullptr;
  policy::Autovalidator* validator_ = nullptr;  // test mode: cache hits sampled (policy/autovalidator.hpp)
  flow::ExactMatchCache emc_;  // this thread's cache in front of the flow table
  flow::FragTable frags_;      // this thread's datagrams in fragments: later fragments take the first's flow
  struct UpcallBucket {
    uint64_t tokens = 0, last_tsc = 0;
  };
  std::vector<UpcallBucket> buckets_;  // per port: new flows per second sent up
  uint64_t upcall_rate_ = 0;
  bool channels_ = false;              // a `channels` section: its checks are on
  std::vector<UpcallBucket> channel_buckets_;  // per channel: agent messages per second
  qos::QosCounters qos_counters_;
  rte_ring* tap_ring_ = nullptr;
  const mirror::MirrorSet* mirrors_ = nullptr;  // loaded once per burst
  std::array<MirrorCounters, mirror::kMaxMirrors> mirror_counters_;
  std::array<uint32_t, mirror::kMaxMirrors> sample_count_{};
  std::vector<rte_meter_trtcm> meters_;  // [in_port * meters + meter]: only this thread's ports are used
  struct RouteMemo {  // last routed destination of the current burst (see route())
    bool valid = false;
    uint32_t dst_ip = 0;
    int16_t out_net = -1;
    int32_t out_port = -1;  // -1: unknown MAC, flood
    MacAddr mac;
  };
  RouteMemo route_memo_;
  uint32_t now_s_ = 0;
  uint64_t now_tsc_ = 0;
  uint64_t next_arp_tsc_ = 0;  // earliest time of the next generated ARP request
};

}  // namespace ivs::pipeline
