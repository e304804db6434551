// The Forwarder's IPv6 layer-3 work, in networks with a gateway6 (docs/config.md):
// neighbour discovery for the switch's addresses (answered, learned from), ping to them,
// routing between the IPv6-routed networks, and resolving unknown neighbours with
// neighbour solicitations. The IPv4 counterparts are in forwarder_l3.cpp; the stages that
// call these, in forwarder.cpp.
#include <cstring>

#include "common/net_types.hpp"
#include "packet/headers.hpp"
#include "packet/mbuf.hpp"
#include "packet/nd.hpp"
#include "packet/ttl.hpp"
#include "pipeline/forwarder.hpp"
#include "pipeline/nd_reply.hpp"
#include "pipeline/reject.hpp"

namespace ivs::pipeline {

using forward::FdbEntry;
using forward::FdbKey;
using forward::kNoNetwork;
using forward::LearnEvent;
using forward::NeighborEntry;
using namespace ivs::packet;

namespace {
// An IPv6 address as a neighbour-table key. rte_hash's jhash reads a key 4 bytes at a time,
// and an address inside a frame is only 2-byte aligned (after the 14-byte Ethernet
// header): a misaligned load (UBSan's report; on strict CPUs a fault), so it is copied.
struct alignas(8) Ip6Key {
  uint8_t bytes[16];
  explicit Ip6Key(const uint8_t* a) noexcept { std::memcpy(bytes, a, sizeof bytes); }
};
}  // namespace

void Forwarder::learn_neighbor6(uint16_t in_port, int16_t net, const uint8_t* addr, const uint8_t* mac) noexcept {
  // Only the network's own global addresses: a link-local one names a host per network,
  // and the table is keyed by the address alone (as IPv4's: the routed networks share one
  // address space).
  const auto& n = tables_->network(net);
  if (!ctx_.neighbors6 || !n.subnet6 || !n.subnet6->contains(addr) || tables_->is_gateway6(net, addr)) return;
  if ((mac[0] & 1) || MacAddr::from(mac).is_zero()) return;
  uint64_t raw = 0;
  if (const Ip6Key key(addr); ctx_.neighbors6->lookup(key.bytes, raw) >= 0) {
    const NeighborEntry e = NeighborEntry::decode(raw);
    if (e.is_static || e.mac == MacAddr::from(mac)) return;
  }
  LearnEvent ev{LearnEvent::kNeighbor6, {}, 0, static_cast<uint16_t>(net), in_port, 0, {}};
  std::memcpy(ev.mac, mac, 6);
  std::memcpy(ev.ip6, addr, 16);
  queue_learn(ev);
}

bool Forwarder::neighbor_discovery(const Pkt& p, const ParsedPacket& pp) noexcept {
  uint8_t* e = eth_of(p.m);
  const NdMessage nd = parse_nd(e, p.m->data_len, pp);
  if (nd.status == NdMessage::kNotNd) return false;
  if (nd.status == NdMessage::kMalformed) {
    drop(p.in_port, p.m, DropReason::kNdMalformed);
    return true;
  }
  const auto& n = tables_->network(p.net);
  if (nd.type == kNdSolicit) {
    // The sender told its address (RFC 4861 7.2.3); a DAD probe (from ::) tells nothing.
    if (nd.lladdr && !ipv6_is_unspecified(nd.src)) learn_neighbor6(p.in_port, p.net, nd.src, nd.lladdr);
    if (!tables_->is_gateway6(p.net, nd.target)) return false;  // another host's: it goes on as it came
    if (!make_neighbor_advert(p.m, pp, nd, n.gateway_mac)) {
      drop(p.in_port, p.m, DropReason::kLocalUnhandled);
      return true;
    }
    if (rec_) [[unlikely]] note(p.m, TraceEvent::kNdAnswered, p.in_port, p.net);
    pmd_.event(Event::kNdAdverts);
    emit(p.in_port, p.net, p.m, kOriginSwitch);  // a new packet (not a duplicate for mirror dedup)
    return true;
  }
  // An advertisement: its target is at the option's MAC (else the frame's source).
  learn_neighbor6(p.in_port, p.net, nd.target, nd.lladdr ? nd.lladdr : e + 6);
  const bool to_switch = MacAddr::from(e) == n.gateway_mac || tables_->is_gateway6(p.net, e + pp.l3_offset + 24);
  if (!to_switch) return false;  // e.g. unsolicited, to all nodes: flooded as it came
  pmd_.event(Event::kNdConsumed);
  release(p.m);
  return true;
}

void Forwarder::local6(const Pkt& p, const ParsedPacket& pp) noexcept {
  // A fragmented echo request is not answered (the switch does not reassemble).
  if (pp.ip_proto == kProtoIcmpv6 && pp.src_port == kIcmpv6EchoRequest && pp.l4_offset && !pp.is_fragment &&
      make_echo6_reply(p.m, pp, tables_->network(p.net).gateway_mac)) {
    if (rec_) [[unlikely]] note(p.m, TraceEvent::kEchoAnswered, p.in_port, p.net);
    pmd_.event(Event::kEcho6Replies);
    return emit(p.in_port, p.net, p.m, kOriginSwitch);
  }
  drop(p.in_port, p.m, DropReason::kLocalUnhandled);
}

void Forwarder::route6(uint16_t in_port, int16_t in_net, rte_mbuf* m, const ParsedPacket& pp) noexcept {
  uint8_t* e = eth_of(m);
  uint8_t* ip = e + pp.l3_offset;
  const uint8_t* dst = ip + 24;
  if (pp.ttl <= 1) return ttl_expired(in_port, in_net, m, pp, DropReason::kHopLimitExpired);
  // Route, neighbour and output port of the previous routed IPv6 packet of this burst.
  RouteMemo6& rm = route_memo6_;
  if (!rm.valid || std::memcmp(rm.dst, dst, 16) != 0) {
    rm.valid = false;
    std::memcpy(rm.dst, dst, 16);
    rm.out_net = tables_->route6(dst);
    if (rm.out_net == kNoNetwork) {
      pc_[in_port].drops[static_cast<size_t>(DropReason::kNoRoute6)].inc();
      if (rec_) [[unlikely]] note(m, TraceEvent::kDrop, in_port, -1, static_cast<uint32_t>(DropReason::kNoRoute6));
      const auto& gw = tables_->network(in_net).gateway6;
      if (gw && reply_permitted(e, pp, false) && make_no_route_reply(m, pp, gw->bytes.data())) {
        pmd_.event(Event::kUnreachableSent);
        return emit(in_port, in_net, m, kOriginSwitch);
      }
      return release(m);
    }
    uint64_t raw = 0;
    const Ip6Key dst_key(dst);
    const int32_t npos = ctx_.neighbors6->lookup(dst_key.bytes, raw);
    if (npos < 0) {
      if (rec_) [[unlikely]] note(m, TraceEvent::kNeighborUnknown, in_port, rm.out_net, 0u, 6u);
      pc_[in_port].drops[static_cast<size_t>(DropReason::kNeighbor6Unresolved)].inc();
      return send_neighbor_solicit(in_port, rm.out_net, dst, m);
    }
    if (!sim_) ctx_.neighbors6->touch(npos, now_s_);
    rm.mac = NeighborEntry::decode(raw).mac;
    FdbKey key{static_cast<uint16_t>(rm.out_net), {}};
    rm.mac.store(key.mac);
    rm.out_port = ctx_.fdb->lookup(&key, raw) < 0 ? -1 : FdbEntry::decode(raw).port;
    rm.valid = true;
  }
  const int16_t out_net = rm.out_net;
  if (rm.out_port >= 0) [[likely]] {
    if (too_big(in_port, in_net, m, pp, static_cast<uint16_t>(rm.out_port), 0)) return;
  }
  if (rec_) [[unlikely]] {
    uint8_t nb[6];
    rm.mac.store(nb);
    note(m, TraceEvent::kRouted, in_port, out_net, pp.ttl, 6u, mac_bits(nb));
  }
  decrement_ttl(ip, kEtherTypeIpv6);
  rm.mac.store(e);
  tables_->network(out_net).gateway_mac.store(e + 6);
  pmd_.event(Event::kRouted6);
  if (rm.out_port < 0) return flood(out_net, UINT16_MAX, in_port, m, in_port);
  emit(static_cast<uint16_t>(rm.out_port), out_net, m, in_port);
}

void Forwarder::send_neighbor_solicit(uint16_t in_port, int16_t net, const uint8_t* target, rte_mbuf* m) noexcept {
  // As send_arp_request: the unroutable packet's mbuf becomes the solicitation, at most
  // one (ARP or ND) per millisecond per thread.
  if (now_tsc_ < next_arp_tsc_ || m->nb_segs != 1) return release(m);
  const auto& n = tables_->network(net);
  if (!n.gateway6 || !make_neighbor_solicit(m, n.gateway6->bytes.data(), n.gateway_mac, target)) return release(m);
  next_arp_tsc_ = now_tsc_ + ctx_.tsc_hz / 1000;
  pmd_.event(Event::kNdSolicits);
  flood(net, UINT16_MAX, in_port, m, kOriginSwitch);
}

}  // namespace ivs::pipeline
