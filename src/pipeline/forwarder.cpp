#include "pipeline/forwarder.hpp"

#include <rte_ether.h>
#include <rte_ip_frag.h>
#include <rte_ring_elem.h>

#include "packet/checksum.hpp"
#include "packet/headers.hpp"
#include "packet/mbuf.hpp"
#include "packet/nd.hpp"
#include "pipeline/decider.hpp"
#include "packet/pcap_filter.hpp"  // a live trace's filter
#include "pipeline/reject.hpp"

namespace ivs::pipeline {

using forward::FdbEntry;
using forward::FdbKey;
using forward::kNoNetwork;
using forward::LearnEvent;
using forward::Membership;
using forward::NeighborEntry;
using namespace ivs::packet;

static_assert(kNoQos == kNoSlotWord, "an upcall's QoS word travels as the burst's slot word");

namespace {

// A flow state whose packets leave the switch (an ICMP error quoting it is forwarded).
bool forwards(uint8_t s) {
  const auto st = static_cast<flow::FlowState>(s);
  return st == flow::FlowState::kAllowed || flow::on_chain(st);
}

// Assembled in a register and stored once: built field by field (2+4+2-byte stores), the
// 8-byte load of the hash lookup could not be forwarded from the stores and stalled
// (perf: a third of process()'s samples on that load).
FdbKey fdb_key(int16_t net, const uint8_t* mac) {
  uint32_t m4;
  uint16_t m2;
  std::memcpy(&m4, mac, 4);
  std::memcpy(&m2, mac + 4, 2);
  const uint64_t v = uint64_t{static_cast<uint16_t>(net)} | uint64_t{m4} << 16 | uint64_t{m2} << 48;
  FdbKey k;
  std::memcpy(&k, &v, sizeof(k));
  return k;
}
// Bursts repeat MAC keys (a VM's frames all carry its source MAC, and go to few peers):
// look each run of equal consecutive keys up once. Fills `uniq`/`uniq_ptrs` with the
// distinct keys, `slot[i]` with the index of packet i's key in `uniq`. Returns the count.
uint16_t dedupe(const FdbKey* keys, uint16_t n, FdbKey* uniq, const void** uniq_ptrs, uint16_t* slot) {
  uint16_t u = 0;
  for (uint16_t i = 0; i < n; ++i) {
    const FdbKey& k = keys[i];
    if (u == 0 || std::memcmp(&uniq[u - 1], &k, sizeof(k)) != 0) {
      uniq[u] = k;
      uniq_ptrs[u] = &uniq[u];
      ++u;
    }
    slot[i] = static_cast<uint16_t>(u - 1);
  }
  return u;
}
}  // namespace

Forwarder::Forwarder(const DatapathContext& ctx, uint16_t tx_queue, PmdCounters& pmd, std::vector<PortCounters>& ports,
                     rte_ring* upcall_ring, unsigned thread)
    : ctx_(ctx),
      tables_(ctx.tables),
      txq_(tx_queue),
      pmd_(pmd),
      pc_(ports),
      batches_(ctx.port_slots()),
      slots_in_use_(static_cast<uint16_t>(ctx.tables->port_count())),
      upcall_ring_(ctx.flows ? upcall_ring : nullptr),
      frags_(ctx.tsc_hz),
      buckets_(ctx.port_slots()),
      upcall_rate_(ctx.upcall_rate),
      stages_(thread) {
  static LiveTrace idle;  // never armed: budget stays 0
  live_ = &idle;
  validator_ = ctx.autovalidator;
  if (ctx.modules)
    for (const auto& mod : *ctx.modules) {
      mod->make_stages(stages_);
      mod->claim_vlans([this](uint16_t vlan, DropReason why) {
        if (vlan_refusals_.empty()) vlan_refusals_.assign(kVlanIds, DropReason::kVlanNotAllowed);
        vlan_refusals_[vlan & (kVlanIds - 1)] = why;
      });
    }
  // Per port, the ingress stages that run on it (most ports: none, or all).
  // (Every slot of the port table has its list; the slots beyond the tables' ports
  // are free at start and run none.)
  // Each list reserved for every ingress stage, so that refresh_ingress() (on the
  // datapath thread, when a new rx list adds or removes ports) never allocates.
  port_ingress_.resize(ctx.port_slots());
  for (auto& l : port_ingress_) l.reserve(stages_.at(AttachPoint::kIngress).size());
  for (size_t p = 0; p < ctx.tables->port_count(); ++p)
    for (Stage* st : stages_.at(AttachPoint::kIngress))
      if (st->runs_on(static_cast<uint16_t>(p))) port_ingress_[p].push_back(st);
}

void Forwarder::refresh_ingress() noexcept {
  // The stages' runs_on reads what their module published for the slot before the list
  // that names it (the apply order: docs/architecture.md, "Ports that come and go").
  const auto& all = stages_.at(AttachPoint::kIngress);
  for (size_t p = 0; p < port_ingress_.size(); ++p) {
    auto& l = port_ingress_[p];
    l.clear();
    if (p >= slots_in_use_) continue;
    for (Stage* st : all)
      if (st->runs_on(static_cast<uint16_t>(p))) l.push_back(st);  // (within the reserved capacity)
  }
}

void Forwarder::drop(uint16_t port, rte_mbuf* m, DropReason r) noexcept {
  if (rec_) [[unlikely]] note(m, TraceEvent::kDrop, port, -1, static_cast<uint32_t>(r));
  pc_[port].drops[static_cast<size_t>(r)].inc();
  release(m);
}

void Forwarder::emit(uint16_t port, int16_t net, rte_mbuf* m, uint16_t origin) noexcept {
  // An af_packet port's kernel interface drops, without a count, what exceeds its MTU.
  if (const uint32_t mtu = (*ctx_.ports)[port].tx_mtu; mtu && m->pkt_len > mtu + kEthHeaderLen) [[unlikely]]
    return emit_fragments(port, net, m, mtu, origin);
  if (rec_) [[unlikely]]
    note(m, TraceEvent::kOutput, port, net, tables_->membership(port, net) == Membership::kTagged ? 1u : 0u, tables_->network(net).vlan);
  if (tables_->membership(port, net) == Membership::kTagged) {
    // rte_vlan_insert reads the TCI from the mbuf; PCP is not carried between networks.
    m->vlan_tci = tables_->network(net).vlan;
    if (rte_vlan_insert(&m) != 0) return drop(port, m, DropReason::kVlanPushFailed);
  }
  enqueue(port, m, TxMeta{origin, net});
}

void Forwarder::enqueue(uint16_t port, rte_mbuf* m, TxMeta meta) noexcept {
  if (batches_[port].push(m, meta)) [[unlikely]] {
    egress(port);
    batches_[port].flush((*ctx_.ports)[port], txq_ % (*ctx_.ports)[port].tx_queues, pc_[port]);
  }
}

void Forwarder::egress(uint16_t port) noexcept {
  TxBatch& bt = batches_[port];
  const uint16_t from = bt.seen();
  const TxView out{port, bt.packets() + from, bt.meta() + from, static_cast<uint16_t>(bt.size() - from)};
  bt.mark_seen();
  if (out.n == 0) return;
  for (Stage* st : stages_.at(AttachPoint::kEgress))
    if (st->active(*this)) st->run_egress(*this, out);  // (the tx taps among them)
}

// IPv4 without DF is fragmented to the port's mtu (as a router would; af_packet ports see
// IPv4 reassembled by the kernel, so this is how a fragmented datagram leaves again);
// anything else is dropped as tx.mtu_exceeded.
void Forwarder::emit_fragments(uint16_t port, int16_t net, rte_mbuf* m, uint32_t mtu, uint16_t origin) noexcept {
  const uint8_t* e = eth_of(m);
  if (m->data_len < kEthHeaderLen + kIpv4MinHeaderLen || load_be16(e + 12) != kEtherTypeIpv4 || (e[kEthHeaderLen + 6] & 0x40) ||
      !ctx_.indirect_pool)
    return drop(port, m, DropReason::kTxTooBig);
  if (rec_) [[unlikely]] note(m, TraceEvent::kFragmented, port, net, m->pkt_len - kEthHeaderLen, mtu);
  uint8_t eth[kEthHeaderLen];
  std::memcpy(eth, e, kEthHeaderLen);
  rte_pktmbuf_adj(m, kEthHeaderLen);
  rte_mbuf* frags[64];
  const int32_t n = rte_ipv4_fragment_packet(m, frags, 64, static_cast<uint16_t>(mtu), ctx_.pool, ctx_.indirect_pool);
  if (n < 0) {
    rte_pktmbuf_prepend(m, kEthHeaderLen);  // (room it had a moment ago)
    return drop(port, m, n == -ENOMEM ? DropReason::kCopyFailed : DropReason::kTxTooBig);
  }
  if (rec_) [[unlikely]]
    for (int32_t i = 0; i < n; ++i) rec_->alias(frags[i], m);
  release(m);  // the fragments hold references to its data
  for (int32_t i = 0; i < n; ++i) {
    rte_mbuf* f = frags[i];
    auto* h = rte_pktmbuf_mtod(f, uint8_t*);
    const uint32_t ihl = (h[0] & 0x0f) * 4u;
    if (f->data_len < ihl || !(h = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(f, kEthHeaderLen)))) {
      drop(port, f, DropReason::kCopyFailed);
      continue;
    }
    std::memcpy(h, eth, kEthHeaderLen);
    store_be16(h + kEthHeaderLen + 10, 0);
    store_be16(h + kEthHeaderLen + 10, csum(h + kEthHeaderLen, ihl));
    pmd_.event(Event::kTxFragments);
    emit(port, net, f, origin);  // the original's: its rx tap judged it
  }
}

bool Forwarder::reply_permitted(const uint8_t* frame, const ParsedPacket& pp, bool multicast_dst_ok) noexcept {
  ReplyBlock why = reply_blocked(frame, pp, multicast_dst_ok);
  if (why == ReplyBlock::kNone && pp.ethertype == kEtherTypeIpv4) {  // a subnet's broadcast address
    const int16_t n = tables_->route(pp.dst_ip);
    const auto& sub = n != kNoNetwork ? tables_->network(n).subnet : std::nullopt;
    if (sub && sub->len < 31 && pp.dst_ip == (sub->addr.value | ~sub->mask())) why = ReplyBlock::kNotUnicast;
  }
  switch (why) {
    case ReplyBlock::kNone: break;
    case ReplyBlock::kNotUnicast: pmd_.event(Event::kReplyNotUnicast); return false;
    case ReplyBlock::kFragment: pmd_.event(Event::kReplyFragment); return false;
    case ReplyBlock::kAboutError: pmd_.event(Event::kReplyAboutError); return false;
  }
  // Token bucket for the thread: kReplyRate per second, bursts up to kReplyBurst.
  if (!reply_bucket_.take(now_tsc_, kReplyRate, kReplyBurst, ctx_.tsc_hz)) {
    pmd_.event(Event::kReplyRateLimited);
    return false;
  }
  return true;
}

bool Forwarder::too_big_answer(uint16_t in_port, int16_t in_net, rte_mbuf* m, const ParsedPacket& pp, uint16_t out_port,
                               uint32_t src4, uint32_t mtu) noexcept {
  const uint8_t* e = eth_of(m);
  const bool v6 = pp.ethertype == kEtherTypeIpv6;
  // IPv4 without DF is fragmented on output (emit_fragments); the rest is dropped here.
  if (!v6 && (pp.ethertype != kEtherTypeIpv4 || !(e[pp.l3_offset + 6] & 0x40))) return false;
  pc_[out_port].drops[static_cast<size_t>(DropReason::kTxTooBig)].inc();
  if (rec_) [[unlikely]] note(m, TraceEvent::kTooBig, out_port, -1, m->pkt_len - kEthHeaderLen, mtu);
  if (reply_permitted(e, pp, v6) && make_too_big_reply(m, pp, mtu, src4)) {
    pmd_.event(Event::kTooBigReplies);
    emit(in_port, in_net, m, kOriginSwitch);
  } else {
    release(m);
  }
  return true;
}

void Forwarder::flood(int16_t net, uint16_t except_port, uint16_t in_port, rte_mbuf* m, uint16_t origin) noexcept {
  const auto& members = tables_->network(net).ports;
  int last = -1;
  for (size_t i = 0; i < members.size(); ++i)
    if (members[i] != except_port) last = static_cast<int>(i);
  if (last < 0) return drop(in_port, m, DropReason::kFloodEmpty);
  if (rec_) [[unlikely]]
    note(m, TraceEvent::kFlood, in_port, net, static_cast<uint32_t>(members.size() - (except_port == UINT16_MAX ? 0 : 1)));
  pmd_.event(Event::kFlooded);
  for (int i = 0; i < last; ++i) {
    if (members[i] == except_port) continue;
    // A full copy, not a clone: each output may push its own VLAN tag.
    rte_mbuf* copy = rte_pktmbuf_copy(m, ctx_.pool, 0, UINT32_MAX);
    if (!copy) {
      pc_[in_port].drops[static_cast<size_t>(DropReason::kCopyFailed)].inc();
      continue;
    }
    if (rec_) [[unlikely]] rec_->alias(copy, m);
    emit(members[i], net, copy, origin);  // a copy counts as the original (judged at its rx tap)
  }
  emit(members[last], net, m, origin);
}

void Forwarder::queue_learn(const LearnEvent& ev) noexcept {
  if (sim_) [[unlikely]] return;  // nothing is learned from a simulated packet
  if (rte_ring_mp_enqueue_elem(ctx_.learn_ring, const_cast<LearnEvent*>(&ev), sizeof(ev)) == 0) pmd_.event(Event::kLearnQueued);
  else pmd_.event(Event::kLearnQueueFull);
}

void Forwarder::queue_mac_learn(uint16_t in_port, const FdbKey& key, const FdbKey*& last_queued) noexcept {
  // One event per new/moved MAC per burst: a burst from a new VM carries its MAC 32 times.
  if (last_queued && std::memcmp(last_queued, &key, sizeof(key)) == 0) return;
  last_queued = &key;
  LearnEvent ev{LearnEvent::kMac, {}, 0, key.network, in_port, 0};
  std::memcpy(ev.mac, key.mac, 6);
  queue_learn(ev);
}

void Forwarder::run_stages(const std::vector<Stage*>& stages, Burst& b, FdbKey* src_keys) noexcept {
  for (auto& st : stages) {  // each stage sees only what the ones before it kept
    st->run(*this, b);
    uint16_t k = 0;
    for (uint16_t j = 0; j < b.n; ++j) {
      if (!b.pkts[j].m) continue;
      if (k != j) {
        b.pkts[k] = b.pkts[j];
        b.pp[k] = b.pp[j];
        src_keys[k] = src_keys[j];
      }
      ++k;
    }
    b.n = k;
  }
}

void Forwarder::ingress_staged(Burst& b, FdbKey* src_keys, uint16_t in_port) noexcept {
  // The modules' ingress stages that run on this port (e.g. the host-VM channel's
  // admission, then port security), once per burst.
  run_stages(port_ingress_[in_port], b, src_keys);
  if (rec_) [[unlikely]]
    for (uint16_t j = 0; j < b.n; ++j) note_ingress(b.pkts[j].m, in_port, b.pkts[j].net, b.pp[j]);
}

void Forwarder::process_burst(uint16_t in_port, rte_mbuf** pkts, uint16_t n, uint32_t now_s, uint64_t now_tsc) noexcept {
  if (n > kMaxBurst) {  // the PMD polls 32 at a time; larger bursts are split
    process_burst(in_port, pkts, kMaxBurst, now_s, now_tsc);
    return process_burst(in_port, pkts + kMaxBurst, static_cast<uint16_t>(n - kMaxBurst), now_s, now_tsc);
  }
  now_s_ = now_s;
  now_tsc_ = now_tsc;
  route_memo_.valid = route_memo6_.valid = false;  // tables may have changed since the last burst
  begin_burst();
  PortCounters& in = pc_[in_port];
  in.rx_packets.add(n);
  Burst b;
  // The modules' receive stages, observers of the frames as received, malformed ones too:
  // the mirrors' rx taps (registered first of those here: their copies come first), the
  // ethertypes' counts. Also for a simulated packet (ivctl trace): the mirrors judge it.
  for (Stage* st : stages_.at(AttachPoint::kReceive)) {
    if (!st->active(*this)) [[likely]] continue;
    if (b.n == 0) {  // the view, filled once for the active stages
      for (uint16_t i = 0; i < n; ++i) b.pkts[i] = Pkt{pkts[i], in_port, kNoNetwork, Path::kSwitch};
      b.n = n;
    }
    st->run(*this, b);
  }
  b.n = 0;

  // Ingress: parse, check the source MAC, find the network, pop the VLAN tag. Without
  // ingress stages on this port (the common case) the trace note runs in this same pass;
  // with them, after the stages (ingress_staged): port security is one of them, so that
  // a spoofed frame neither moves a MAC nor creates (or poisons) a flow.
  FdbKey src_keys[kMaxBurst];
  uint64_t bytes = 0;
  const bool staged = !port_ingress_[in_port].empty();
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    bytes += m->pkt_len;
    ParsedPacket& pp = b.pp[b.n];
    if (auto err = parse(eth_of(m), m->data_len, m->pkt_len, pp)) {
      // An af_packet port cuts a frame longer than its ring slot to exactly the slot.
      const uint32_t snap = (*ctx_.ports)[in_port].rx_snap;
      drop(in_port, m, snap && m->pkt_len == snap ? DropReason::kRxTruncated : *err);
      continue;
    }
    const uint8_t* eth = eth_of(m);
    if ((eth[6] & 1) || MacAddr::from(eth + 6).is_zero()) {
      drop(in_port, m, DropReason::kBadSrcMac);
      continue;
    }
    const int16_t net = tables_->ingress_network(in_port, pp.has_vlan && pp.vlan_id != 0, pp.vlan_id);
    if (net == kNoNetwork) {
      drop(in_port, m, pp.has_vlan && !vlan_refusals_.empty() ? vlan_refusals_[pp.vlan_id & (kVlanIds - 1)] : DropReason::kVlanNotAllowed);
      continue;
    }
    if (pp.has_vlan) {  // frames travel untagged inside the switch; egress tags them
      rte_vlan_strip(m);
      pp.l3_offset -= kVlanTagLen;
      if (pp.l4_offset) pp.l4_offset -= kVlanTagLen;
    }
    if (rec_ && !staged) [[unlikely]] note_ingress(m, in_port, net, pp);
    b.pkts[b.n] = Pkt{m, in_port, net, Path::kSwitch};
    src_keys[b.n] = fdb_key(net, eth_of(m) + 6);
    ++b.n;
  }
  in.rx_bytes.add(bytes);
  if (staged) [[unlikely]] ingress_staged(b, src_keys, in_port);

  // Learn: source MACs in one bulk lookup. Known on this port: stamp it. New or moved:
  // learn event. A configured VM's MAC on another port: dropped.
  FdbKey uniq[kMaxBurst];
  const void* uniq_ptrs[kMaxBurst];
  uint16_t slot[kMaxBurst];
  uint64_t vals[kMaxBurst];
  int32_t pos[kMaxBurst];
  const uint16_t nu = dedupe(src_keys, b.n, uniq, uniq_ptrs, slot);
  const uint64_t hits = ctx_.fdb->lookup_bulk(uniq_ptrs, nu, vals, pos);
  const FdbKey* last_queued = nullptr;
  for (uint16_t j = 0; j < b.n; ++j) {
    const uint16_t q = slot[j];
    if (hits >> q & 1) {
      const FdbEntry e = FdbEntry::decode(vals[q]);
      if (e.port == in_port) {
        if (rec_) [[unlikely]] note(b.pkts[j].m, TraceEvent::kLearnKnown, in_port, b.pkts[j].net, e.is_static ? 1u : 0u);
        if (!sim_ && pos[q] >= 0) ctx_.fdb->touch(pos[q], now_s_);
        continue;
      }
      if (e.is_static) {
        drop(in_port, b.pkts[j].m, DropReason::kSrcMacSpoofed);
        b.pkts[j].m = nullptr;
        continue;
      }
    }
    if (rec_) [[unlikely]]
      note(b.pkts[j].m, TraceEvent::kLearnNew, in_port, b.pkts[j].net, sim_ ? 1u : 0u, 0, mac_bits(eth_of(b.pkts[j].m) + 6));
    queue_mac_learn(in_port, src_keys[j], last_queued);
  }

  // Classify: the switch's own traffic and floods are done here; IP unicast goes to the
  // policy stage, other unicast straight to forwarding.
  for (uint16_t j = 0; j < b.n; ++j) {
    Pkt& p = b.pkts[j];
    if (!p.m) continue;
    const ParsedPacket& pp = b.pp[j];
    uint8_t* e = eth_of(p.m);
    const auto& netinfo = tables_->network(p.net);
    const bool to_gw_mac = MacAddr::from(e) == netinfo.gateway_mac;
    if (pp.ethertype == kEtherTypeArp) {
      glean_arp(in_port, p.net, pp, e);
      if (pp.arp_op == 1 && netinfo.gateway && pp.dst_ip == netinfo.gateway->value) {
        arp_reply(e, pp, netinfo.gateway_mac, netinfo.gateway->value);
        if (rec_) [[unlikely]] note(p.m, TraceEvent::kArpAnswered, in_port, p.net, netinfo.gateway->value);
        pmd_.event(Event::kArpReplies);
        emit(in_port, p.net, p.m, kOriginSwitch);  // a new packet (not a duplicate for mirror dedup)
        continue;
      }
      if (to_gw_mac) {  // e.g. the answer to our ARP request
        pmd_.event(Event::kArpConsumed);
        release(p.m);
        continue;
      }
    }
    // Neighbour discovery in a network the switch routes IPv6 for: answered for its own
    // addresses, learned from (forwarder_l3v6.cpp); the rest goes on as it came.
    if (pp.ip_proto == kProtoIcmpv6 && netinfo.gateway6 && pp.ethertype == kEtherTypeIpv6) [[unlikely]] {
      if ((pp.src_port == kNdSolicit || pp.src_port == kNdAdvert) && neighbor_discovery(p, pp)) continue;
    }
    if (to_gw_mac) {
      if (pp.ethertype == kEtherTypeIpv6 && netinfo.gateway6) {
        const uint8_t* ip6 = e + pp.l3_offset;
        if (tables_->is_gateway6(p.net, ip6 + 24)) {  // for the switch itself
          if (rec_) [[unlikely]] note(p.m, TraceEvent::kToSwitch, in_port, p.net, 0u, 6u);
          local6(p, pp);
          continue;
        }
        // Link-local and multicast addresses never leave their link (RFC 4291 2.5.6).
        if (ipv6_is_link_local(ip6 + 8) || ipv6_is_link_local(ip6 + 24) || ipv6_is_multicast(ip6 + 24)) {
          drop(in_port, p.m, DropReason::kNotRoutable);
          continue;
        }
      } else if (pp.ethertype != kEtherTypeIpv4 || !netinfo.gateway) {
        drop(in_port, p.m, DropReason::kNotRoutable);
        continue;
      } else if (tables_->gateway_network(pp.dst_ip) != kNoNetwork) {  // for the switch itself
        if (rec_) [[unlikely]] note(p.m, TraceEvent::kToSwitch, in_port, p.net, pp.dst_ip);
        local(p, pp);
        continue;
      }
      p.path = Path::kRoute;
      if (rec_) [[unlikely]] note(p.m, TraceEvent::kToRoute, in_port, p.net);
    } else if (e[0] & 1) {  // broadcast / multicast
      flood(p.net, in_port, in_port, p.m, in_port);
      continue;
    }
    // Neighbour discovery (ICMPv6 133-137) on the link is the link's own signalling, as ARP
    // is: not a flow for the policy to judge (port security guards it on VMs' ports).
    // Judged, a rule naming VMs (their link-local addresses are their endpoints) would
    // deny the unicast advertisement that answers a solicitation from the allowed side.
    const bool link_nd = p.path == Path::kSwitch && pp.ethertype == kEtherTypeIpv6 && pp.ip_proto == kProtoIcmpv6 &&
                         pp.l4_offset != 0 && !pp.is_fragment && pp.src_port >= kNdRouterSolicit && pp.src_port <= kNdRedirect;
    if (upcall_ring_ && (pp.ethertype == kEtherTypeIpv4 || (pp.ethertype == kEtherTypeIpv6 && !link_nd))) {
      // (the zone is set before the fragment table records a first fragment's key)
      if (zoned_key(e, p.m->data_len, pp, p.net, b.keys[j])) {
        b.related[j] = false;
        if (pp.is_fragment) [[unlikely]] {
          // A later fragment has no ports: it takes its datagram's flow from the first.
          if (auto err = frags_.follow(e, b.pp[j], p.net, b.keys[j], now_tsc_)) {
            drop(in_port, p.m, *err);
            continue;
          }
          if (rec_) [[unlikely]] note(p.m, TraceEvent::kFragment, in_port, p.net, pp.frag_id, pp.frag_offset * 8u);
        } else if (pp.ip_proto == kProtoIcmp || pp.ip_proto == kProtoIcmpv6) [[unlikely]] {
          flow::DirectedKey rk;  // an error is looked up first under the flow it quotes
          if (flow::make_related_key(e, p.m->data_len, pp, rk)) {
            rk.key.zone = zone_of(rk.key, p.net);  // (the same address space as its own key)
            b.keys[j] = rk;
            b.related[j] = true;
          }
        }
        b.policy[b.n_policy++] = j;
        if (rec_) [[unlikely]] {
          rec_->key(p.m, b.keys[j].key);
          note(p.m, TraceEvent::kToPolicy, in_port, p.net, b.related[j] ? 1u : 0u);
        }
        continue;
      }
    }
    b.flow[j].entry = nullptr;  // no flow looked up (route() reads it)
    b.forward[b.n_forward++] = j;
  }
  stage_policy(b);
  stage_forward(b);
  egress_all();  // before a live trace's burst ends: its records include the tx taps
}

void Forwarder::stage_policy(Burst& b) noexcept {
  if (b.n_policy == 0) return;
  // This thread's exact-match cache first; its misses in one bulk flow-table lookup that
  // reuses the computed hashes; flow-table hits refill the cache.
  const flow::FlowKey* keys[kMaxBurst];
  uint32_t hashes[kMaxBurst];
  uint16_t missed[kMaxBurst];
  flow::FlowEntry* entries[kMaxBurst];
  flow::FlowEntry* found[kMaxBurst];
  uint16_t n_miss = 0;
  for (uint16_t t = 0; t < b.n_policy; ++t) {
    const flow::FlowKey& k = b.keys[b.policy[t]].key;
    const uint32_t h = flow::FlowTable::hash(k);
    entries[t] = sim_ ? nullptr : emc_.lookup(k, h);
    if (!entries[t]) {
      keys[n_miss] = &k;
      hashes[n_miss] = h;
      missed[n_miss++] = t;
    }
  }
  if (n_miss) {
    ctx_.flows->lookup_bulk(keys, hashes, n_miss, found);
    uint64_t table_hits = 0;
    for (uint16_t i = 0; i < n_miss; ++i) {
      entries[missed[i]] = found[i];
      if (found[i]) {
        ++table_hits;
        emc_.insert(hashes[i], found[i]);
      }
    }
    pmd_.event(Event::kFlowTableHits, table_hits);
  }
  pmd_.event(Event::kEmcHits, static_cast<uint64_t>(b.n_policy - n_miss));
  for (uint16_t t = 0; t < b.n_policy; ++t) {
    const uint16_t j = b.policy[t];
    if (b.related[j] && !entries[t]) [[unlikely]] {
      // It quotes no known flow: an ICMP packet like any other, under its own key.
      b.related[j] = false;
      zoned_key(eth_of(b.pkts[j].m), b.pkts[j].m->data_len, b.pp[j], b.pkts[j].net, b.keys[j]);
      const flow::FlowKey* k = &b.keys[j].key;
      ctx_.flows->lookup_bulk(&k, 1, &entries[t]);
    }
    b.flow[j].entry = entries[t];  // (a related packet's: the quoted flow's, its verdict below)
  }
  lookup_stages(b);  // (the mirrors' flow taps: a miss's packet too, before it goes up)
  for (uint16_t t = 0; t < b.n_policy; ++t) {
    const uint16_t j = b.policy[t];
    const Pkt& p = b.pkts[j];
    ParsedPacket& pp = b.pp[j];
    if (b.related[j]) [[unlikely]] continue;  // its verdict below, in the burst's order: the quoted flow's
    if (!entries[t]) {
      if (sim_) [[unlikely]] {
        trace_miss(b, j);
        continue;
      }
      upcall(p, b.pp[j], b.keys[j]);
      b.pkts[j].m = nullptr;  // with the policy thread (or dropped): finished by reinject()
      continue;
    }
    flow::FlowEntry& fe = *entries[t];
    const uint8_t state = static_cast<uint8_t>(fe.state.load(std::memory_order_acquire));
    // A chain flow's packets coming back from the device are counted once, on the VM side
    // (each direction's counters have one writing thread: the one polling that VM's port).
    // Only chain flows read ChainPath: other flows never touch its cache lines.
    const bool from_device = flow::on_chain(static_cast<flow::FlowState>(state)) &&
                             p.in_port == fe.chain.device_port[1 - b.keys[j].direction];
    // (a simulation is not served from the cache: nothing to validate)
    if (validator_ && !sim_) [[unlikely]] validator_->sample(fe, state, b.keys[j].key, b.keys[j].direction, p.in_port);
    if (rec_) [[unlikely]]
      note(p.m, TraceEvent::kCacheHit, p.in_port, p.net, state, static_cast<uint32_t>(fe.rule), fe.epoch,
           fe.packets[0].get() + fe.packets[1].get(), static_cast<uint8_t>(fe.persisted));
    if (!sim_ && !from_device) {
      if (forwards(state))
        flow::FlowTable::touch(fe, b.keys[j].direction, p.m->pkt_len, pp.ip_proto == kProtoTcp ? pp.tcp_flags : 0, now_s_);
      else  // denied, rejected: counted, never kept alive by what it drops
        flow::FlowTable::count_dropped(fe, b.keys[j].direction, p.m->pkt_len);
    }
    flow_found(b, j, FlowMeta{&fe, kNoSlotWord, state, from_device});
  }
  after_lookup(b);
  // The verdicts, in the burst's order (so the packets leave in it); what a stage after
  // the lookup dropped, and what went up to the policy thread, is gone (m == nullptr).
  for (uint16_t t = 0; t < b.n_policy; ++t) {
    const uint16_t j = b.policy[t];
    if (!b.pkts[j].m) continue;
    if (b.related[j]) [[unlikely]] forward_related(b, j, *b.flow[j].entry);
    else if (b.flow[j].state == static_cast<uint8_t>(flow::FlowState::kAllowed)) [[likely]]
      b.forward[b.n_forward++] = j;  // apply_verdict's first case, without the call
    else apply_verdict(b, j, b.flow[j].state, b.flow[j].entry);
  }
}

void Forwarder::apply_verdict(Burst& b, uint16_t j, uint8_t state, flow::FlowEntry* fe) noexcept {
  const Pkt& p = b.pkts[j];
  const ParsedPacket& pp = b.pp[j];
  switch (static_cast<flow::FlowState>(state)) {
    case flow::FlowState::kAllowed:
      b.forward[b.n_forward++] = j;
      return;
    case flow::FlowState::kPending:
    case flow::FlowState::kVerified:
    case flow::FlowState::kViaDevice:
      if (fe) return chain_step(b, j, *fe, state);
      return drop(p.in_port, p.m, DropReason::kChainNoEntry);
    case flow::FlowState::kRejected:
      if (rec_) [[unlikely]] note(p.m, TraceEvent::kRejected, p.in_port, p.net, pp.ip_proto);
      pc_[p.in_port].drops[static_cast<size_t>(DropReason::kPolicyRejected)].inc();
      if (reply_permitted(eth_of(p.m), pp, false) && make_reject_reply(p.m, pp)) {
        pmd_.event(Event::kRejectReplies);
        return emit(p.in_port, p.net, p.m, kOriginSwitch);  // a new packet (not a duplicate for mirror dedup)
      }
      return release(p.m);
    case flow::FlowState::kDenied:
    default:
      return drop(p.in_port, p.m, DropReason::kPolicyDenied);
  }
}

void Forwarder::trace_miss(Burst& b, uint16_t j) noexcept {
  const Pkt& p = b.pkts[j];
  ParsedPacket& pp = b.pp[j];
  const uint8_t dir = b.keys[j].direction;
  const Upcall u{p.m, p.in_port, p.net, dir, kNoVerdict, 0, pp, b.keys[j].key};
  flow::FlowEntry& fe = *sim_entry_;
  const MissDecision d = sim_->decide_miss(u, fe, now_s_);
  note(p.m, TraceEvent::kMissDecided, p.in_port, p.net, static_cast<uint32_t>(d.rule), d.epoch, static_cast<uint64_t>(d.action));
  if (d.as_device_sent) {  // allowed, no entry and no slot word: no guard
    note(p.m, TraceEvent::kAsDeviceSent, p.in_port, p.net, static_cast<uint32_t>(d.verdict_chain), d.epoch);
    return flow_found(b, j, FlowMeta{nullptr, kNoSlotWord, static_cast<uint8_t>(flow::FlowState::kAllowed), false});
  }
  if (d.chain_outcome != 0)
    note(p.m, TraceEvent::kChainAdmission, p.in_port, p.net, static_cast<uint32_t>(d.chain_outcome), d.epoch,
         static_cast<uint64_t>(static_cast<uint16_t>(d.chain)));
  if (d.table_full) {  // the datapath finishes it as reinject() does a flow it found no entry for
    note(p.m, TraceEvent::kTableFull, p.in_port, p.net, static_cast<uint32_t>(d.state));
    return flow_found(b, j, FlowMeta{nullptr, d.qos, d.state, false});
  }
  // From here on, what the datapath does with the re-injected packet and its new entry
  // (filled by decide_miss as the policy thread fills it).
  flow_found(b, j, FlowMeta{&fe, kNoSlotWord, d.state, false});
}

void Forwarder::forward_related(Burst& b, uint16_t j, const flow::FlowEntry& fe) noexcept {
  const uint8_t state = static_cast<uint8_t>(fe.state.load(std::memory_order_acquire));
  if (rec_) [[unlikely]] note(b.pkts[j].m, TraceEvent::kRelated, b.pkts[j].in_port, b.pkts[j].net, state, forwards(state) ? 1u : 0u);
  if (!forwards(state)) return drop(b.pkts[j].in_port, b.pkts[j].m, DropReason::kRelatedDenied);
  pmd_.event(Event::kIcmpRelated);
  b.forward[b.n_forward++] = j;
}

bool Forwarder::allow_upcall(uint16_t port) noexcept {
  // Token bucket per port: upcall_rate per second, bursts up to one second's worth.
  return buckets_[port].take(now_tsc_, upcall_rate_, upcall_rate_, ctx_.tsc_hz);
}

void Forwarder::upcall(const Pkt& p, const ParsedPacket& pp, const flow::DirectedKey& dk) noexcept {
  if (!allow_upcall(p.in_port)) return drop(p.in_port, p.m, DropReason::kUpcallRateLimited);
  Upcall u{p.m, p.in_port, p.net, dk.direction, kNoVerdict, 0, pp, dk.key};
  int slot = -1;
  if (rec_) [[unlikely]] {  // a traced packet carries its session and slot up and back
    slot = rec_->slot_of(p.m);
    if (slot >= 0) u.trace = upcall_trace_tag(live_->session.load(std::memory_order_relaxed), static_cast<uint16_t>(slot));
  }
  if (rte_ring_sp_enqueue_elem(upcall_ring_, &u, sizeof(u)) != 0) return drop(p.in_port, p.m, DropReason::kUpcallQueueFull);
  if (slot >= 0) [[unlikely]] {
    note(p.m, TraceEvent::kUpcall, p.in_port, p.net);
    rec_->set_upcalled(static_cast<uint16_t>(slot), true);
  }
  pmd_.event(Event::kUpcalls);
  if (ctx_.policy_wakeup) ctx_.policy_wakeup->notify();
}

void Forwarder::reinject(Upcall* ups, uint16_t n, uint32_t now_s, uint64_t now_tsc) noexcept {
  now_s_ = now_s;
  now_tsc_ = now_tsc;
  route_memo_.valid = route_memo6_.valid = false;
  begin_burst();
  // Packets of a live trace come back tagged with its session: they go on being traced.
  // (Per burst of new flows, not per received burst.)
  const uint8_t session = live_buf_ ? live_->session.load(std::memory_order_acquire) : 0;
  if (session) [[unlikely]] {
    rec_ = live_buf_;
    for (uint16_t i = 0; i < n; ++i)
      if (ups[i].trace && ups[i].trace >> 8 == session) {
        rec_->map(ups[i].mbuf, ups[i].trace & 0xff);
        rec_->set_upcalled(ups[i].trace & 0xff, false);
      }
  }
  while (n > 0) {
    const uint16_t chunk = n > kMaxBurst ? kMaxBurst : n;
    Burst b;
    for (uint16_t i = 0; i < chunk; ++i) {
      Upcall& u = ups[i];
      const bool routed = MacAddr::from(eth_of(u.mbuf)) == tables_->network(u.network).gateway_mac;
      b.pkts[i] = Pkt{u.mbuf, u.in_port, u.network, routed ? Path::kRoute : Path::kSwitch};
      b.pp[i] = u.pp;
      b.keys[i] = flow::DirectedKey{u.key, u.direction};
      b.n = static_cast<uint16_t>(i + 1);
      uint8_t state = u.verdict;
      flow::FlowEntry* fe = nullptr;
      const bool on_chain = flow::on_chain(static_cast<flow::FlowState>(state));
      if (on_chain || (!stages_.at(AttachPoint::kFlow).empty() && u.qos == kNoQos)) {
        // On a chain the packet needs its entry (device ports; its state may have moved
        // on); the stages after the lookup need it too (the QoS guard: the flow's DSCP
        // decision), except when the table refused it: u.qos then carries the decision.
        const flow::FlowKey* k = &u.key;
        ctx_.flows->lookup_bulk(&k, 1, &fe);
        if (fe && on_chain) state = static_cast<uint8_t>(fe->state.load(std::memory_order_acquire));
      }
      const bool from_device = on_chain && fe && u.in_port == fe->chain.device_port[1 - u.direction];
      if (rec_) [[unlikely]] trace_reinjected(u, state, fe);
      flow_found(b, i, FlowMeta{fe, u.qos, state, from_device});
    }
    b.n = chunk;
    after_lookup(b);
    for (uint16_t i = 0; i < chunk; ++i)
      if (b.pkts[i].m) apply_verdict(b, i, b.flow[i].state, b.flow[i].entry);
    stage_forward(b);
    ups += chunk;
    n = static_cast<uint16_t>(n - chunk);
  }
  egress_all();
  if (session) [[unlikely]] {
    rec_->end_burst();
    rec_ = nullptr;
  }
}

void Forwarder::trace_reinjected(const Upcall& u, uint8_t state, const flow::FlowEntry* fe) noexcept {
  if (rec_->slot_of(u.mbuf) < 0) return;
  // The rule and epoch the policy thread installed (a lookup for the record only: the
  // packet is finished with what reinject() found, as an untraced one is).
  if (!fe) {
    const flow::FlowKey* k = &u.key;
    flow::FlowEntry* found = nullptr;
    ctx_.flows->lookup_bulk(&k, 1, &found);
    fe = found;
  }
  note(u.mbuf, TraceEvent::kReinjected, u.in_port, u.network, state, fe ? static_cast<uint32_t>(fe->rule) : UINT32_MAX,
       fe ? fe->epoch : 0, 0, static_cast<uint8_t>(fe != nullptr));
}

void Forwarder::stage_forward(Burst& b) noexcept {
  // Routed packets one by one; switched unicast with one bulk MAC-table lookup of the
  // distinct destinations.
  FdbKey keys[kMaxBurst];
  uint16_t idx[kMaxBurst];
  uint16_t u = 0;
  for (uint16_t t = 0; t < b.n_forward; ++t) {
    const uint16_t j = b.forward[t];
    Pkt& p = b.pkts[j];
    if (p.path == Path::kRoute) {
      // (the key's direction picks the flow's kept ECMP next hop; without an entry no key
      // was necessarily made)
      route(p.in_port, p.net, p.m, b.pp[j], b.flow[j].entry, b.flow[j].entry ? b.keys[j].direction : 0);
      continue;
    }
    keys[u] = fdb_key(p.net, eth_of(p.m));
    idx[u++] = j;
  }
  FdbKey uniq[kMaxBurst];
  const void* uniq_ptrs[kMaxBurst];
  uint16_t slot[kMaxBurst];
  uint64_t vals[kMaxBurst];
  int32_t pos[kMaxBurst];
  const uint16_t nu = dedupe(keys, u, uniq, uniq_ptrs, slot);
  const uint64_t hits = ctx_.fdb->lookup_bulk(uniq_ptrs, nu, vals, pos);
  for (uint16_t t = 0; t < u; ++t) {
    Pkt& p = b.pkts[idx[t]];
    if (!(hits >> slot[t] & 1)) {
      flood(p.net, p.path == Path::kShortcut ? UINT16_MAX : p.in_port, p.in_port, p.m, p.in_port);
      continue;
    }
    const uint16_t out = FdbEntry::decode(vals[slot[t]]).port;
    if (rec_) [[unlikely]] note(p.m, TraceEvent::kSwitched, out, p.net, 0, 0, mac_bits(eth_of(p.m)));
    if (out == p.in_port && p.path != Path::kShortcut) drop(p.in_port, p.m, DropReason::kSamePort);
    else if (p.path == Path::kShortcut || !too_big(p.in_port, p.net, p.m, b.pp[idx[t]], out, gateway_ip(p.net))) emit(out, p.net, p.m, p.in_port);
  }
}

void Forwarder::flush() noexcept {
  // Every emit inside process() and reinject() has passed the egress point already (they
  // end with it); this one is for packets queued anywhere else, so that no emitter can
  // skip the tx taps. Nothing unseen: a test per port.
  egress_all();
  auto& ports = *ctx_.ports;
  for (uint16_t p = 0; p < slots_in_use_; ++p)
    if (!batches_[p].empty()) batches_[p].flush(ports[p], txq_ % ports[p].tx_queues, pc_[p]);
}

}  // namespace ivs::pipeline

namespace ivs::pipeline {

void Forwarder::process_live(uint16_t in_port, rte_mbuf** pkts, uint16_t n, uint32_t now_s, uint64_t now_tsc) noexcept {
  if (in_port != live_->port || !live_buf_) return process_burst(in_port, pkts, n, now_s, now_tsc);
  // The packets this burst gives the session: matching its filter (on the frame as
  // received, as a capture sees it), while the budget lasts.
  const uint64_t lost = live_buf_->lost();
  uint64_t traced = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (live_->filter && !live_->filter->match(pkts[i])) continue;
    if (!live_->claim()) break;
    if (live_buf_->begin(pkts[i], in_port, now_tsc) < 0) {
      pmd_.event(Event::kTraceRecordsLost);  // no packet slot left: its records are lost
      continue;
    }
    ++traced;
  }
  if (!traced) return process_burst(in_port, pkts, n, now_s, now_tsc);
  pmd_.event(Event::kTracePackets, traced);
  rec_ = live_buf_;
  process_burst(in_port, pkts, n, now_s, now_tsc);
  rec_->end_burst();
  rec_ = nullptr;
  if (const uint64_t l = live_buf_->lost() - lost) pmd_.event(Event::kTraceRecordsLost, l);
}

void Forwarder::simulate(TraceBuffer& buf, const Decider& decider, uint16_t in_port, rte_mbuf* m, uint32_t now_s,
                         uint64_t now_tsc) noexcept {
  if (!sim_entry_) sim_entry_ = std::make_unique<flow::FlowEntry>();
  sim_ = &decider;
  rec_ = &buf;
  buf.begin(m, in_port, now_tsc);
  process_burst(in_port, &m, 1, now_s, now_tsc);
  buf.end_burst();
  rec_ = nullptr;
  sim_ = nullptr;
}

}  // namespace ivs::pipeline
