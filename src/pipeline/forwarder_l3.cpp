// The Forwarder's layer-3 and local work: answering ARP and ping for the gateway
// addresses, learning neighbours from ARP, routing between networks, and resolving
// unknown neighbours with ARP requests. The stages that call these are in forwarder.cpp.
#include <rte_ether.h>

#include "packet/checksum.hpp"
#include "packet/headers.hpp"
#include "packet/mbuf.hpp"
#include "packet/ttl.hpp"
#include "pipeline/forwarder.hpp"
#include "pipeline/reject.hpp"

namespace ivs::pipeline {

using forward::FdbEntry;
using forward::FdbKey;
using forward::kNoNetwork;
using forward::LearnEvent;
using forward::NeighborEntry;
using namespace ivs::packet;

namespace {
constexpr uint32_t kEthMinFrame = 60;  // without FCS
}  // namespace

void Forwarder::glean_arp(uint16_t in_port, int16_t net, const ParsedPacket& pp, const uint8_t* eth) noexcept {
  const auto& n = tables_->network(net);
  if (!n.subnet || !n.subnet->contains(Ipv4Addr{pp.src_ip}) || (n.gateway && n.gateway->value == pp.src_ip)) return;
  // An ECMP next hop's ARP reply to the gateway says it is alive (receives and answers).
  // Not its requests: a host that no longer receives still asks for its own neighbours (a
  // router whose ingress died kept itself "up" that way); as Linux, which confirms a
  // neighbour by solicited replies only.
  if (ctx_.next_hops && !sim_ && pp.arp_op == 2 && n.gateway && pp.dst_ip == n.gateway->value)
    tables_->for_each_ecmp_hop_at(pp.src_ip, [&](size_t hop) {
      if (tables_->next_hop(hop).network == net) ctx_.next_hops[hop].heard(now_s_);
    });
  const uint8_t* sha = eth + pp.l3_offset + 8;
  uint64_t raw = 0;
  if (ctx_.neighbors->lookup(&pp.src_ip, raw) >= 0) {
    const NeighborEntry e = NeighborEntry::decode(raw);
    if (e.is_static || e.mac == MacAddr::from(sha)) return;
  }
  LearnEvent ev{LearnEvent::kNeighbor, {}, 0, static_cast<uint16_t>(net), in_port, pp.src_ip};
  std::memcpy(ev.mac, sha, 6);
  queue_learn(ev);
}

void Forwarder::local(const Pkt& p, const ParsedPacket& pp) noexcept {
  // A fragmented echo request is not answered (the switch does not reassemble).
  if (pp.ip_proto == kProtoIcmp && pp.src_port == 8 && pp.l4_offset && !pp.is_fragment && echo_reply(p.net, p.m, pp)) {
    if (rec_) [[unlikely]] note(p.m, TraceEvent::kEchoAnswered, p.in_port, p.net);
    pmd_.event(Event::kEchoReplies);
    return emit(p.in_port, p.net, p.m, kOriginSwitch);  // a new packet (not a duplicate for mirror dedup)
  }
  drop(p.in_port, p.m, DropReason::kLocalUnhandled);
}

void Forwarder::ttl_expired(uint16_t in_port, int16_t in_net, rte_mbuf* m, const ParsedPacket& pp, DropReason why) noexcept {
  pc_[in_port].drops[static_cast<size_t>(why)].inc();
  if (rec_) [[unlikely]] note(m, TraceEvent::kDrop, in_port, -1, static_cast<uint32_t>(why));
  const auto& gw6 = tables_->network(in_net).gateway6;
  if (reply_permitted(eth_of(m), pp, false) &&
      make_time_exceeded_reply(m, pp, gateway_ip(in_net), gw6 ? gw6->bytes.data() : nullptr)) {
    pmd_.event(Event::kTimeExceededSent);
    return emit(in_port, in_net, m, kOriginSwitch);  // back to the sender, from its network's gateway
  }
  release(m);
}

void Forwarder::send_routed(uint16_t in_port, int16_t in_net, rte_mbuf* m, const ParsedPacket& pp, int16_t out_net,
                                   const MacAddr& mac, int32_t out_port) noexcept {
  uint8_t* e = eth_of(m);
  // Too big for the output port and not to be fragmented: answered from the gateway
  // address of the sender's network, before anything is rewritten.
  if (out_port >= 0) [[likely]] {
    if (too_big(in_port, in_net, m, pp, static_cast<uint16_t>(out_port), gateway_ip(in_net))) return;
  }
  if (rec_) [[unlikely]] {
    uint8_t nb[6];
    mac.store(nb);
    note(m, TraceEvent::kRouted, in_port, out_net, pp.ttl, 0, mac_bits(nb));
  }
  decrement_ttl(e + pp.l3_offset, kEtherTypeIpv4);
  mac.store(e);
  tables_->network(out_net).gateway_mac.store(e + 6);
  pmd_.event(Event::kRouted);
  if (out_port < 0) return flood(out_net, UINT16_MAX, in_port, m, in_port);
  emit(static_cast<uint16_t>(out_port), out_net, m, in_port);
}

void Forwarder::route(uint16_t in_port, int16_t in_net, rte_mbuf* m, const ParsedPacket& pp, flow::FlowEntry* fe,
                      uint8_t dir) noexcept {
  if (pp.ethertype == kEtherTypeIpv6) return route6(in_port, in_net, m, pp);
  uint8_t* e = eth_of(m);
  uint8_t* ip = e + pp.l3_offset;
  const uint32_t ihl = (ip[0] & 0x0f) * 4u;
  // Trust a checksum the driver already verified; otherwise check it (20-60 bytes).
  if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_GOOD && !csum_ok(ip, ihl))
    return drop(in_port, m, DropReason::kIpv4BadChecksum);
  if (pp.ttl <= 1) return ttl_expired(in_port, in_net, m, pp, DropReason::kTtlExpired);
  // Route, neighbour and output port of the previous routed packet of this burst: a burst
  // usually carries several packets to the same host, so look them up once.
  RouteMemo& rm = route_memo_;
  if (!rm.valid || rm.dst_ip != pp.dst_ip) {
    rm.valid = false;
    rm.dst_ip = pp.dst_ip;
    const forward::RouteHit hit = tables_->lookup(pp.dst_ip);
    if (!hit.found()) return drop(in_port, m, DropReason::kNoRoute);
    rm.hop = rm.ecmp = -1;
    rm.via_static = hit.route >= 0;
    rm.out_net = hit.network;
    uint32_t target = pp.dst_ip;  // whose MAC the packet goes to: the destination's, or the next hop's
    if (hit.route >= 0) [[unlikely]] {  // a static route (config routes)
      const forward::StaticRoute& r = tables_->static_route(hit.route);
      if (r.count > 1) {
        rm.ecmp = hit.route;  // the next hop is the flow's
        rm.valid = true;
      } else {
        rm.hop = r.first;
        target = tables_->next_hop(r.first).ip.value;
        rm.out_net = tables_->next_hop(r.first).network;
      }
    }
    if (rm.ecmp < 0) {
      uint64_t raw = 0;
      const int32_t npos = ctx_.neighbors->lookup(&target, raw);
      if (npos < 0) {
        if (rec_) [[unlikely]] note(m, TraceEvent::kNeighborUnknown, in_port, rm.out_net, target);
        pc_[in_port].drops[static_cast<size_t>(rm.hop >= 0 ? DropReason::kNextHopUnresolved : DropReason::kNeighborUnresolved)].inc();
        return send_arp_request(in_port, rm.out_net, target, m, now_tsc_);
      }
      if (!sim_) ctx_.neighbors->touch(npos, now_s_);
      rm.mac = NeighborEntry::decode(raw).mac;
      FdbKey key{static_cast<uint16_t>(rm.out_net), {}};
      rm.mac.store(key.mac);
      rm.out_port = ctx_.fdb->lookup(&key, raw) < 0 ? -1 : FdbEntry::decode(raw).port;
      rm.valid = true;
    }
  }
  if (rm.via_static) [[unlikely]] {  // (one test on a connected network's packets)
    if (rm.ecmp >= 0) return route_ecmp(in_port, in_net, m, pp, fe, dir, rm.ecmp);
    pmd_.next_hop_packets[static_cast<size_t>(rm.hop)].inc();
    pmd_.event(Event::kRoutedStatic);
  }
  send_routed(in_port, in_net, m, pp, rm.out_net, rm.mac, rm.out_port);
}

void Forwarder::arp_reply(uint8_t* e, const ParsedPacket& pp, const MacAddr& mac, uint32_t ip) noexcept {
  uint8_t* arp = e + pp.l3_offset;
  // Reply in place: target <- requester, sender <- the answered address.
  std::memcpy(arp + 18, arp + 8, 6);    // tha <- sha
  std::memcpy(arp + 24, arp + 14, 4);   // tpa <- spa
  mac.store(arp + 8);                   // sha
  store_be32(arp + 14, ip);             // spa
  store_be16(arp + 6, 2);               // op = reply
  std::memcpy(e, arp + 18, 6);          // eth dst <- requester
  mac.store(e + 6);
}

bool Forwarder::echo_reply(int16_t net, rte_mbuf* m, const ParsedPacket& pp) noexcept {
  if (rte_pktmbuf_is_contiguous(m) == 0) return false;
  uint8_t* e = eth_of(m);
  uint8_t* ip = e + pp.l3_offset;
  uint8_t* icmp = e + pp.l4_offset;
  const uint32_t ihl = (ip[0] & 0x0f) * 4u;
  std::memcpy(e, e + 6, 6);
  tables_->network(net).gateway_mac.store(e + 6);
  const uint32_t src = load_be32(ip + 12);
  store_be32(ip + 12, load_be32(ip + 16));
  store_be32(ip + 16, src);
  ip[8] = 64;
  store_be16(ip + 10, 0);
  store_be16(ip + 10, csum(ip, ihl));
  const uint16_t old_w = load_be16(icmp);
  icmp[0] = 0;  // echo reply
  store_be16(icmp + 2, csum_update16(load_be16(icmp + 2), old_w, load_be16(icmp)));
  return true;
}

void Forwarder::send_arp_request(uint16_t in_port, int16_t net, uint32_t target_ip, rte_mbuf* m,
                                 uint64_t now_tsc) noexcept {
  // The unroutable packet is dropped; its mbuf becomes the ARP request (no allocation).
  // At most one request per millisecond per thread, so a flood to unknown hosts cannot
  // turn into an ARP storm.
  if (now_tsc < next_arp_tsc_ || m->nb_segs != 1) return release(m);
  next_arp_tsc_ = now_tsc + ctx_.tsc_hz / 1000;
  if (!make_arp_request(m, net, target_ip, nullptr)) return release(m);
  pmd_.event(Event::kArpRequests);
  flood(net, UINT16_MAX, in_port, m, kOriginSwitch);
}

bool Forwarder::make_arp_request(rte_mbuf* m, int16_t net, uint32_t target_ip, const MacAddr* to) noexcept {
  const auto& n = tables_->network(net);
  rte_pktmbuf_reset(m);
  uint8_t* e = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kEthMinFrame));
  if (!e) return false;
  std::memset(e, 0, kEthMinFrame);
  (to ? *to : MacAddr::broadcast()).store(e);
  n.gateway_mac.store(e + 6);
  store_be16(e + 12, kEtherTypeArp);
  uint8_t* arp = e + kEthHeaderLen;
  store_be16(arp, 1);
  store_be16(arp + 2, kEtherTypeIpv4);
  arp[4] = 6;
  arp[5] = 4;
  store_be16(arp + 6, 1);  // request
  n.gateway_mac.store(arp + 8);
  store_be32(arp + 14, n.gateway->value);
  store_be32(arp + 24, target_ip);
  return true;
}

// --- static routes with several next hops (ECMP) -----------------------------------------

static_assert(forward::kMaxNextHops <= kNextHopCounters, "a counter per next hop per thread");
static_assert(forward::kMaxEcmpHops < 255, "a flow keeps its next hop's index + 1 in one byte");

Forwarder::HopState Forwarder::resolve_next_hop(uint16_t in_port, size_t hop, NextHopMac& out) noexcept {
  const forward::NextHop& h = tables_->next_hop(hop);
  uint64_t raw = 0;
  const int32_t npos = ctx_.neighbors->lookup(&h.ip.value, raw);
  if (npos < 0) return HopState::kUnknown;
  if (!sim_) ctx_.neighbors->touch(npos, now_s_);
  out.mac = NeighborEntry::decode(raw).mac;
  FdbKey key{static_cast<uint16_t>(h.network), {}};
  out.mac.store(key.mac);
  out.out_port = ctx_.fdb->lookup(&key, raw) < 0 ? -1 : FdbEntry::decode(raw).port;
  if (!ctx_.next_hops || !h.ecmp) return HopState::kUp;
  // Known, and up unless asked and silent (pipeline/next_hop_liveness.hpp).
  NextHopLiveness& live = ctx_.next_hops[hop];
  const bool down = live.down(now_s_);
  if (!sim_ && live.take_probe(now_s_)) send_liveness_probe(in_port, hop, down ? nullptr : &out);
  return down ? HopState::kDown : HopState::kUp;
}

void Forwarder::send_liveness_probe(uint16_t in_port, size_t hop, const NextHopMac* known) noexcept {
  rte_mbuf* m = rte_pktmbuf_alloc(ctx_.pool);  // from the packet pool, as a flood's copies
  if (!m) return;
  const forward::NextHop& h = tables_->next_hop(hop);
  // While up, to its MAC only (as Linux probes a neighbour it holds); once down, to all
  // (it may have come back with another MAC).
  if (!make_arp_request(m, h.network, h.ip.value, known ? &known->mac : nullptr)) return release(m);
  pmd_.event(Event::kNextHopProbes);
  if (known && known->out_port >= 0) return emit(static_cast<uint16_t>(known->out_port), h.network, m, kOriginSwitch);
  flood(h.network, UINT16_MAX, in_port, m, kOriginSwitch);
}

uint32_t Forwarder::flow_hash(const flow::FlowEntry* fe, int16_t in_net, rte_mbuf* m, const ParsedPacket& pp) const noexcept {
  // The flow key is the same for both directions (flow/flow_key.hpp), so is its hash. A
  // packet without an entry (the flow's first, re-injected; no policy) hashes the key
  // its entry has or would have: the same next hop.
  if (fe) return flow::FlowTable::hash(fe->key);
  flow::DirectedKey dk;
  return zoned_key(eth_of(m), m->data_len, pp, in_net, dk) ? flow::FlowTable::hash(dk.key) : 0;
}

void Forwarder::probe_next_hop(uint16_t in_port, size_t hop) noexcept {
  if (sim_ || now_tsc_ < next_arp_tsc_) return;
  rte_mbuf* m = rte_pktmbuf_alloc(ctx_.pool);  // from the packet pool, as a flood's copies
  if (!m) return;
  const forward::NextHop& h = tables_->next_hop(hop);
  send_arp_request(in_port, h.network, h.ip.value, m, now_tsc_);
}

void Forwarder::route_ecmp(uint16_t in_port, int16_t in_net, rte_mbuf* m, const ParsedPacket& pp, flow::FlowEntry* fe,
                           uint8_t dir, int32_t route) noexcept {
  const forward::StaticRoute& r = tables_->static_route(route);
  NextHopMac nh;
  // This direction's next hop, kept from its first routed packet, while it is known and up.
  const uint8_t kept = fe ? fe->next_hop[dir & 1].load(std::memory_order_relaxed) : 0;
  int32_t chosen = kept && kept <= r.count && resolve_next_hop(in_port, r.first + kept - 1u, nh) == HopState::kUp ? kept - 1 : -1;
  int32_t unresolved = -1;
  if (chosen < 0) {
    // From where the flow's hash points, the first next hop known and up; the ones passed
    // over are counted, and the first unknown one asked for by ARP (a down one is asked by
    // resolve_next_hop, once a second).
    const uint16_t start = forward::ecmp_pick(flow_hash(fe, in_net, m, pp), r.count);
    int32_t down = -1;
    NextHopMac down_nh;
    for (uint16_t k = 0; k < r.count; ++k) {
      const uint16_t i = static_cast<uint16_t>((start + k) % r.count);
      const HopState st = resolve_next_hop(in_port, r.first + i, nh);
      if (st == HopState::kUp) {
        chosen = i;
        break;
      }
      pmd_.event(Event::kEcmpHopSkipped);
      if (st == HopState::kUnknown && unresolved < 0) unresolved = i;
      if (st == HopState::kDown && down < 0) down = i, down_nh = nh;
    }
    if (chosen >= 0) {
      if (fe && !sim_) fe->next_hop[dir & 1].store(static_cast<uint8_t>(chosen + 1), std::memory_order_relaxed);
    } else if (down >= 0) {
      // Every known next hop is down: the first of them, rather than nothing (not kept, so
      // the flow takes a live one as soon as there is one).
      chosen = down;
      nh = down_nh;
    } else {  // none known: as a destination never seen, the packet becomes the ARP request
      const forward::NextHop& h = tables_->next_hop(r.first + start);
      if (rec_) [[unlikely]] note(m, TraceEvent::kNeighborUnknown, in_port, h.network, h.ip.value);
      pc_[in_port].drops[static_cast<size_t>(DropReason::kNextHopUnresolved)].inc();
      return send_arp_request(in_port, h.network, h.ip.value, m, now_tsc_);
    }
  }
  const size_t hop = r.first + static_cast<size_t>(chosen);
  pmd_.next_hop_packets[hop].inc();
  pmd_.event(Event::kRoutedStatic);
  send_routed(in_port, in_net, m, pp, tables_->next_hop(hop).network, nh.mac, nh.out_port);
  if (unresolved >= 0) probe_next_hop(in_port, r.first + static_cast<size_t>(unresolved));  // (after the packet)
}

}  // namespace ivs::pipeline
