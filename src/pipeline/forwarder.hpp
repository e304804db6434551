#pragma once
// The per-packet work of a datapath thread, one rx burst at a time, in stages over the
// burst so that the tables are read with bulk lookups (DPDK prefetches across keys):
//
//   ingress:  parse, network of the frame, VLAN pop; then the module stages attached at
//             AttachPoint::kIngress (pipeline/module.hpp; e.g. the host-VM channel's
//             checks, src/channel/stage.cpp; then port security on the secured ports,
//             src/portsec/module.cpp)
//   learn:    source MACs (bulk MAC-table lookup); new or moved -> learn event
//   classify: for the switch itself (ARP / ICMP echo to a gateway IP) -> answered;
//             broadcast/multicast -> flooded in the network; IP unicast -> policy;
//             other unicast -> forward
//   policy:   flow key (a fragment: its datagram's, flow/frag_table.hpp) -> this thread's exact-match cache -> flow table (bulk); hit: the
//             flow's state (allowed / denied / rejected; on a chain: pending -> to the
//             inline device, verified -> shortcut, see forwarder_chain.cpp); miss: upcall
//             to the policy thread, which answers through reinject() with the verdict
//             after installing the flow; each looked-up packet carries its flow
//             (Burst::flow: entry, state, direction, from the device) to
//   flow:     once per burst, the module stages attached at AttachPoint::kFlow (the
//             QoS guard, src/qos/guard.hpp); then each packet's verdict, in the burst's
//             order
//   forward:  routed (dst MAC = gateway MAC: checksum, TTL, route, neighbour, MAC
//             rewrite) or switched (bulk MAC-table lookup: one port, else flood)
//   egress:   VLAN push on tagged ports -> per-port TxBatch, each packet with its TxMeta
//             (who made it, its network); at the end of the burst the egress point
//             (AttachPoint::kEgress: the QoS module's class by DSCP, src/qos/egress_stage.hpp;
//             the tx taps; the module stages there) sees each port's new packets once,
//             before flush() sends them (through the port's egress queue when a module
//             gives it one: the QoS schedulers, pipeline/egress_queue.hpp)
//
// Every packet ends in exactly one TxBatch (flood copies: one each) or is dropped with a
// DropReason counted on its port. No allocation (flood copies come from the mbuf pool),
// no lock, no log. Inputs are never trusted: every header is length-checked by parse().
//
// Thread: one Forwarder per datapath thread; not shared.
#include <rte_mbuf.h>

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

#include "common/token_bucket.hpp"
#include "flow/emc.hpp"
#include "flow/flow_key.hpp"
#include "flow/flow_table.hpp"
#include "flow/frag_table.hpp"
#include "packet/headers.hpp"
#include "packet/parse.hpp"
#include "pipeline/burst.hpp"
#include "pipeline/context.hpp"
#include "pipeline/module.hpp"
#include "pipeline/counters.hpp"
#include "pipeline/trace_record.hpp"
#include "pipeline/upcall.hpp"
#include "pipeline/tx_batch.hpp"

namespace ivs::mirror {
class TapStage;
}

namespace ivs::pipeline {

class Decider;

class Forwarder {
 public:
  static constexpr uint16_t kMaxBurst = pipeline::kMaxBurst;

  // upcall_ring: this thread's ring to the policy thread (nullptr: no policy, all allowed).
  // thread: the datapath thread this Forwarder is (StageSet::kNoThread: ivctl trace's, a
  // test's; pipeline/module.hpp): the modules give its stages that thread's resources (the
  // mirrors: its rings to and from the broker).
  Forwarder(const DatapathContext& ctx, uint16_t tx_queue, PmdCounters& pmd, std::vector<PortCounters>& ports,
            rte_ring* upcall_ring = nullptr, unsigned thread = StageSet::kNoThread);

  // Process a burst received on `in_port` (port index, not DPDK id). `now_s` is a coarse
  // clock in seconds for aging stamps; `now_tsc` rate-limits ARP requests and upcalls.
  // The one check a burst pays for live tracing: is a session armed (budget > 0)?
  void process(uint16_t in_port, rte_mbuf** pkts, uint16_t n, uint32_t now_s, uint64_t now_tsc) noexcept {
    if (live_->budget.load(std::memory_order_acquire) != 0) [[unlikely]]
      return process_live(in_port, pkts, n, now_s, now_tsc);
    process_burst(in_port, pkts, n, now_s, now_tsc);
  }
  // Finish packets the policy thread sent back with their verdict.
  void reinject(Upcall* ups, uint16_t n, uint32_t now_s, uint64_t now_tsc) noexcept;
  // Send every non-empty TxBatch, after the egress point has seen what it has not yet.
  void flush() noexcept;
  // What the thread's rx list (Pmd::run loads it once per loop iteration) says for the
  // iteration: the slots the loops between bursts scan (RxList::slots_in_use, at most the
  // port table's capacity) and the forwarding tables it was published with. A list the
  // Forwarder has not seen before also refreshes each slot's ingress stages (runs_on),
  // without allocating: a port added at runtime gets its stages, a removed one none.
  void use(const RxList& rx) noexcept {
    if (rx.generation == rx_seen_) [[likely]] return;
    rx_seen_ = rx.generation;
    slots_in_use_ = std::min(rx.slots_in_use, static_cast<uint16_t>(batches_.size()));  // (a list never names more)
    if (rx.tables != nullptr) tables_ = rx.tables;
    refresh_ingress();
  }
  // The datapath thread's work between bursts: the kPoll stages, once per loop iteration
  // (Pmd::run). Returns the packets they moved; what they queued is sent by flush().
  unsigned poll() noexcept {
    unsigned n = 0;
    for (Stage* st : stages_.at(AttachPoint::kPoll)) n += st->poll(*this);
    return n;
  }
  // The modules' stages of this Forwarder (tests find one by its type).
  const StageSet& stages() const noexcept { return stages_; }
  // Tests and trace: inspect what process() queued for a port, then release it.
  TxBatch& batch(uint16_t port) { return batches_[port]; }
  const flow::FragTable& frags() const { return frags_; }
  // `ivctl trace` (control thread only): packet `m` through this Forwarder in simulation
  // mode, every stage recording into `buf`: nothing is learned, installed or sent; on a
  // flow-table miss the decision the policy thread would make is asked of `decider`
  // (pipeline/decider.hpp). What would leave stays in the tx batches (batch()).
  void simulate(TraceBuffer& buf, const Decider& decider, uint16_t in_port, rte_mbuf* m, uint32_t now_s,
                uint64_t now_tsc) noexcept;
  // The entry the last simulate() traced a flow-table miss on (filled by the decider as
  // the policy thread would fill it, never published; zero counters on a hit or a full table). Tests.
  std::unique_ptr<flow::FlowEntry> take_sim_entry() { return std::move(sim_entry_); }
  // Live tracing (ivctl trace --live): the session `live` (shared by all threads) and
  // this thread's buffer, both owned by the Datapath. Before the thread starts.
  void attach_live(LiveTrace* live, TraceBuffer* buf) {
    live_ = live;
    live_buf_ = buf;
  }

  // What module stages (pipeline/module.hpp) use, on this Forwarder's thread only.
  // drop: packet `m` received on `port` dropped with reason `r` (counted, traced, freed).
  void drop(uint16_t port, rte_mbuf* m, DropReason r) noexcept;
  // emit: packet `m` out of `port` in network `net` (VLAN push, QoS class, tx batch);
  // `origin`: the port it was received on, or kOriginSwitch for a packet the switch made
  // (pipeline/burst.hpp's TxMeta: the egress point's mirror dedup reads it).
  void emit(uint16_t port, int16_t net, rte_mbuf* m, uint16_t origin) noexcept;
  // send_unstaged: packet `m` out of `port` as it is, past the egress point (no VLAN push,
  // not seen by the kEgress stages: the broker's copies for tool ports leave as they were
  // seen); a full batch is sent at once.
  void send_unstaged(uint16_t port, rte_mbuf* m) noexcept {
    if (batches_[port].push_unstaged(m)) batches_[port].flush((*ctx_.ports)[port], txq_ % (*ctx_.ports)[port].tx_queues, pc_[port]);
  }
  void event(Event e) noexcept { pmd_.event(e); }
  const forward::ForwardingTables& tables() const noexcept { return *tables_; }
  uint64_t now_tsc() const noexcept { return now_tsc_; }
  uint32_t now_s() const noexcept { return now_s_; }  // coarse seconds, as flow entries are stamped
  uint64_t tsc_hz() const noexcept { return ctx_.tsc_hz; }
  // Simulation (ivctl trace): no side effects such as rate-limit tokens.
  bool simulating() const noexcept { return sim_ != nullptr; }
  // The burst's trace buffer (nullptr: no packet of this burst is traced, the common case).
  TraceBuffer* recording() const noexcept { return rec_; }
  // Turns the ARP request at `eth` into its reply in place: `ip` is at `mac`.
  static void arp_reply(uint8_t* eth, const packet::ParsedPacket& pp, const MacAddr& mac, uint32_t ip) noexcept;

 private:
  void process_burst(uint16_t in_port, rte_mbuf** pkts, uint16_t n, uint32_t now_s, uint64_t now_tsc) noexcept;
  // A burst while a live trace is armed: the packets it claims are traced, all forwarded
  // as always.
  void process_live(uint16_t in_port, rte_mbuf** pkts, uint16_t n, uint32_t now_s, uint64_t now_tsc) noexcept;
  // A traced packet's record (the call sites test rec_ first: one predictable branch,
  // the same as the Trace* checks they replace).
  // Every mbuf the stages free goes through here: a traced one is forgotten first
  // (TraceBuffer::forget).
  void release(rte_mbuf* m) noexcept {
    if (rec_) [[unlikely]] rec_->forget(m);
    rte_pktmbuf_free(m);
  }
  template <class... A>
  void note(const rte_mbuf* m, TraceEvent what, A... a) noexcept {
    rec_->record(m, what, a...);
  }
  void stage_policy(Burst& b) noexcept;
  void stage_forward(Burst& b) noexcept;
  bool allow_upcall(uint16_t port) noexcept;
  void upcall(const Pkt& p, const packet::ParsedPacket& pp, const flow::DirectedKey& dk) noexcept;
  // Packet j found its flow (or was decided for trace): `f` travels with it to the stages
  // after the lookup and its verdict.
  void flow_found(Burst& b, uint16_t j, const FlowMeta& f) noexcept {
    b.flow[j] = f;
    b.flowed[b.n_flowed++] = j;
  }
  // The stages after the flow lookup, once per burst over b.flowed, the same for cache
  // hits, packets the policy thread re-injects with their new flow's verdict, and trace:
  // the modules' AttachPoint::kFlow stages (the QoS guard). The callers then give each
  // packet still there its verdict (apply_verdict), in the burst's order.
  void after_lookup(Burst& b) noexcept {
    if (const auto& flow = stages_.at(AttachPoint::kFlow); !flow.empty() && b.n_flowed) [[unlikely]]
      for (Stage* st : flow) st->run(*this, b);
  }
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
    dk.key.zone = zone_of(dk.key, net);
    return true;
  }
  // The zone of key `k` seen in network `net`: the network's (0 for every network with a
  // subnet: the switch routes between them), except that IPv6 between two link-local
  // addresses, which nothing may route (RFC 4291 2.5.6), is always its own network's
  // (index + 1, the zone a network without a subnet has anyway). Global IPv6 addresses
  // may not overlap between networks with subnets (config/validate.cpp).
  uint16_t zone_of(const flow::FlowKey& k, int16_t net) const noexcept {
    const auto link_local = [](const uint8_t* a) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; };
    if (k.family == 6 && link_local(k.addr[0]) && link_local(k.addr[1])) [[unlikely]] return static_cast<uint16_t>(net + 1);
    return tables_->network(net).zone;
  }
  // Whether a reject reply or ICMP error made by the switch may answer the packet at
  // `frame` (RFC 1122 3.2.2, RFC 4443 2.4(e): never to or from multicast, broadcast or
  // unspecified addresses, for later fragments, or about errors; and within the thread's
  // rate); counts why not. `multicast_dst_ok`: ICMPv6 packet too big may answer a
  // multicast destination (RFC 4443 2.4(e.3)).
  bool reply_permitted(const uint8_t* frame, const packet::ParsedPacket& pp, bool multicast_dst_ok) noexcept;
  // Packet p (parsed `pp`, not yet rewritten) is for `out_port`: when the port's mtu is
  // smaller and the packet may not be fragmented (IPv4 with DF, IPv6), it is dropped as
  // tx.mtu_exceeded and the sender gets ICMP fragmentation needed / packet too big with
  // the mtu, from `src4` (IPv4, host order; 0: the packet's destination) or the packet's
  // destination (IPv6). True when the packet was consumed.
  // Inline: the test runs on every forwarded packet; the rare answer is out of line.
  bool too_big(uint16_t in_port, int16_t in_net, rte_mbuf* m, const packet::ParsedPacket& pp, uint16_t out_port, uint32_t src4) noexcept {
    const uint32_t mtu = (*ctx_.ports)[out_port].tx_mtu;
    if (!mtu || m->pkt_len <= mtu + packet::kEthHeaderLen) [[likely]] return false;
    return too_big_answer(in_port, in_net, m, pp, out_port, src4, mtu);
  }
  bool too_big_answer(uint16_t in_port, int16_t in_net, rte_mbuf* m, const packet::ParsedPacket& pp, uint16_t out_port,
                      uint32_t src4, uint32_t mtu) noexcept;
  uint32_t gateway_ip(int16_t net) const noexcept {
    const auto& gw = tables_->network(net).gateway;
    return gw ? gw->value : 0;
  }
  // Simulation, a flow-table miss: the slow path's decision for the packet (as an upcall
  // gets it), then the stages after the lookup on the entry it would install.
  void trace_miss(Burst& b, uint16_t j) noexcept;
  // Live: a traced packet back from the policy thread, with the state its flow got.
  void trace_reinjected(const Upcall& u, uint8_t state, const flow::FlowEntry* fe) noexcept;
  // Inspect-then-shortcut (forwarder_chain.cpp): a packet of a flow on a chain.
  void chain_step(Burst& b, uint16_t j, flow::FlowEntry& fe, uint8_t state) noexcept;
  void chain_sense(flow::FlowEntry& fe, const Pkt& p, const packet::ParsedPacket& pp, uint8_t direction) noexcept;
  void shortcut(Burst& b, uint16_t j, flow::FlowEntry& fe) noexcept;
  // The egress point: the tx taps and the kEgress stages over the packets of `port`'s
  // batch they have not seen; egress_all: every port's, at the end of a burst.
  void egress(uint16_t port) noexcept;
  void egress_all() noexcept {
    bool any = false;  // (an inactive stage, e.g. the mirrors' with no mirror, costs one call per burst)
    for (Stage* st : stages_.at(AttachPoint::kEgress)) any |= st->active(*this);
    if (!any) [[likely]] return;
    for (uint16_t p = 0; p < slots_in_use_; ++p)
      if (batches_[p].seen() != batches_[p].size()) egress(p);
  }
  // Queue `m` on `port`'s batch; a full batch goes through the egress point and is sent.
  void enqueue(uint16_t port, rte_mbuf* m, TxMeta meta) noexcept;
  // At the start of a burst (received, re-injected, simulated): the stages that asked to
  // be told (StageSet::add's begins_bursts; the mirrors load their set).
  void begin_burst() noexcept {
    for (Stage* st : stages_.begin_burst_stages()) st->begin_burst(*this);
  }
  // The kLookup stages over the burst's looked-up packets (b.flow[j].entry set).
  void lookup_stages(const Burst& b) noexcept {
    for (Stage* st : stages_.at(AttachPoint::kLookup))
      if (st->active(*this)) [[unlikely]] st->run_lookup(*this, b);
  }
  // Runs the module stages at `stages` over the burst's first b.n packets and closes the
  // gaps of the packets they consumed (src_keys moves with them).
  void run_stages(const std::vector<Stage*>& stages, Burst& b, forward::FdbKey* src_keys) noexcept;
  // With ingress stages: the stages (port security among them), then the trace notes, over the
  // burst (without them, process_burst does the last two in its ingress pass).
  [[gnu::noinline]] void ingress_staged(Burst& b, forward::FdbKey* src_keys, uint16_t in_port) noexcept;
  void note_ingress(rte_mbuf* m, uint16_t in_port, int16_t net, const packet::ParsedPacket& pp) noexcept {
    note(m, TraceEvent::kIngress, in_port, net, pp.ethertype, uint32_t{pp.ip_proto} | uint32_t{pp.ttl} << 8,
         uint64_t{pp.src_ip} << 32 | pp.dst_ip, 0, static_cast<uint8_t>(pp.has_vlan));
  }
  void emit_fragments(uint16_t port, int16_t net, rte_mbuf* m, uint32_t mtu, uint16_t origin) noexcept;
  // Copies of `m` out of every port of `net` but `except_port`; drops counted on `in_port`.
  void flood(int16_t net, uint16_t except_port, uint16_t in_port, rte_mbuf* m, uint16_t origin) noexcept;
  void queue_mac_learn(uint16_t in_port, const forward::FdbKey& key, const forward::FdbKey*& last_queued) noexcept;
  void glean_arp(uint16_t in_port, int16_t net, const packet::ParsedPacket& pp, const uint8_t* eth) noexcept;
  void local(const Pkt& p, const packet::ParsedPacket& pp) noexcept;
  // A packet to a gateway MAC, allowed: routed by the longest prefix (a connected network,
  // or a static route's next hop). `fe`: its flow's entry (nullptr: none), where an ECMP
  // route keeps the flow's next hop.
  // `fe`: the packet's flow (nullptr: none), `dir`: the packet's direction in its key.
  void route(uint16_t in_port, int16_t in_net, rte_mbuf* m, const packet::ParsedPacket& pp, flow::FlowEntry* fe,
             uint8_t dir) noexcept;
  // The end of routing once the neighbour is known: the output port's mtu, TTL, MACs
  // (the neighbour's; the switch's own on `out_net`), then out (an unknown port: flooded).
  // (Inlined into both callers, in forwarder_l3.cpp: the connected route's cost per packet
  // stays what it was.)
  [[gnu::always_inline]] inline void send_routed(uint16_t in_port, int16_t in_net, rte_mbuf* m, const packet::ParsedPacket& pp,
                                                 int16_t out_net, const MacAddr& mac, int32_t out_port) noexcept;
  // Static routes (forwarder_l3.cpp). A next hop's MAC (ARP) and the port it was learned
  // on: false when its MAC is unknown.
  struct NextHopMac {
    MacAddr mac;
    int32_t out_port = -1;  // -1: unknown MAC-table entry, flooded
  };
  // An ECMP route's next hop also fails while it is down (pipeline/next_hop_liveness.hpp);
  // resolving one in use may send it a probe.
  enum class HopState : uint8_t { kUp, kUnknown, kDown };  // kDown: `out` filled, known but silent
  HopState resolve_next_hop(uint16_t in_port, size_t hop, NextHopMac& out) noexcept;
  void send_liveness_probe(uint16_t in_port, size_t hop, const NextHopMac* known) noexcept;
  // A packet of static route `route` with several next hops (ECMP): the next hop its flow
  // keeps for direction `dir`, else the first one known and up from where the flow's
  // symmetric hash points (kept in `fe` for `dir`); every known one down: the first of
  // them, not kept; none known: dropped, an ARP request sent for the hashed one.
  void route_ecmp(uint16_t in_port, int16_t in_net, rte_mbuf* m, const packet::ParsedPacket& pp, flow::FlowEntry* fe,
                  uint8_t dir, int32_t route) noexcept;
  // The hash both directions of the packet's flow share (its flow key's).
  uint32_t flow_hash(const flow::FlowEntry* fe, int16_t in_net, rte_mbuf* m, const packet::ParsedPacket& pp) const noexcept;
  // An ARP request for next hop `hop` in a fresh mbuf (the packet that noticed goes on by
  // another next hop), within the same rate as every ARP request of the thread.
  void probe_next_hop(uint16_t in_port, size_t hop) noexcept;
  bool echo_reply(int16_t net, rte_mbuf* m, const packet::ParsedPacket& pp) noexcept;
  void send_arp_request(uint16_t in_port, int16_t net, uint32_t target_ip, rte_mbuf* m, uint64_t now_tsc) noexcept;
  // `m` rewritten as an ARP request from network `net`'s gateway for `target_ip`, to `to`
  // (nullptr: broadcast); false if the mbuf has no room.
  bool make_arp_request(rte_mbuf* m, int16_t net, uint32_t target_ip, const MacAddr* to) noexcept;
  // A routed packet whose TTL / hop limit ran out: counted as `why`, answered with ICMP /
  // ICMPv6 time exceeded from the gateway address of the sender's network (rate-limited).
  void ttl_expired(uint16_t in_port, int16_t in_net, rte_mbuf* m, const packet::ParsedPacket& pp, DropReason why) noexcept;
  // IPv6 (forwarder_l3v6.cpp), in networks with a gateway6. neighbor_discovery: a
  // solicitation or advertisement, checked (malformed: dropped), learned from, answered
  // when it asks for the switch's address; true when the packet was consumed.
  bool neighbor_discovery(const Pkt& p, const packet::ParsedPacket& pp) noexcept;
  void learn_neighbor6(uint16_t in_port, int16_t net, const uint8_t* addr, const uint8_t* mac) noexcept;
  void local6(const Pkt& p, const packet::ParsedPacket& pp) noexcept;
  void route6(uint16_t in_port, int16_t in_net, rte_mbuf* m, const packet::ParsedPacket& pp) noexcept;
  void send_neighbor_solicit(uint16_t in_port, int16_t net, const uint8_t* target, rte_mbuf* m) noexcept;
  void queue_learn(const forward::LearnEvent& ev) noexcept;

  const DatapathContext& ctx_;
  // The tables of the rx list in use (use()); the context's until a list carries some.
  const forward::ForwardingTables* tables_;
  uint64_t rx_seen_ = ~uint64_t{0};  // the generation of the list use() last took its state from
  uint16_t txq_;
  PmdCounters& pmd_;
  std::vector<PortCounters>& pc_;
  std::vector<TxBatch> batches_;  // one per slot of the port table
  uint16_t slots_in_use_;         // batches_[0, slots_in_use_) may hold packets (use)
  rte_ring* upcall_ring_;
  // Tracing. rec_: where the current burst's traced packets record (nullptr: none, the
  // common case). sim_: simulation mode (ivctl trace): side effects off, the policy asked
  // directly; sim_entry_ is the entry a new flow would get, never published (an entry's
  // atomics make it immovable: held by pointer).
  TraceBuffer* rec_ = nullptr;
  const Decider* sim_ = nullptr;
  std::unique_ptr<flow::FlowEntry> sim_entry_;
  LiveTrace* live_;               // never null: an idle session when tracing is not attached
  TraceBuffer* live_buf_ = nullptr;
  CacheHitSampler* validator_ = nullptr;  // test mode: cache hits sampled (pipeline/cache_hit_sampler.hpp)
  flow::ExactMatchCache emc_;  // this thread's cache in front of the flow table
  flow::FragTable frags_;      // this thread's datagrams in fragments: later fragments take the first's flow
  std::vector<TokenBucket> buckets_;  // per port: new flows per second sent up
  uint64_t upcall_rate_ = 0;
  // By VLAN id: the reason a frame of a VLAN its port does not carry is dropped with, when
  // a module claims the VLAN (Module::claim_vlans); empty when none does (the common case).
  static constexpr size_t kVlanIds = 4096;
  std::vector<DropReason> vlan_refusals_;
  StageSet stages_;                                 // the modules', by attach point, in registration order
  std::vector<std::vector<Stage*>> port_ingress_;   // by slot: the kIngress stages that run on it
  void refresh_ingress() noexcept;  // port_ingress_ from runs_on, within its reserved capacity
  TokenBucket reply_bucket_;  // reject replies and ICMP errors this thread sends
  static constexpr uint64_t kReplyRate = 1000, kReplyBurst = 50;  // per second; as Linux's icmp_msgs_per_sec/_burst
  struct RouteMemo {  // last routed destination of the current burst (see route())
    bool valid = false;
    uint32_t dst_ip = 0;
    int16_t out_net = -1;
    int32_t out_port = -1;  // -1: unknown MAC, flood
    MacAddr mac;
    bool via_static = false;  // a static route's destination (hop or ecmp set)
    int32_t hop = -1;   // a static route's one next hop (its counter's index); -1: a connected network
    int32_t ecmp = -1;  // an ECMP route (index): the next hop is the flow's (route_ecmp); -1: none
  };
  RouteMemo route_memo_;
  struct RouteMemo6 {  // the same for IPv6 (see route6())
    bool valid = false;
    uint8_t dst[16];
    int16_t out_net = -1;
    int32_t out_port = -1;
    MacAddr mac;
  };
  RouteMemo6 route_memo6_;
  uint32_t now_s_ = 0;
  uint64_t now_tsc_ = 0;
  uint64_t next_arp_tsc_ = 0;  // earliest time of the next generated ARP request
};

}  // namespace ivs::pipeline
