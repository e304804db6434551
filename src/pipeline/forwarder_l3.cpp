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
  const auto& n = tables_.network(net);
  if (!n.subnet || !n.subnet->contains(Ipv4Addr{pp.src_ip}) || (n.gateway && n.gateway->value == pp.src_ip)) return;
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
  const auto& gw6 = tables_.network(in_net).gateway6;
  if (reply_permitted(eth_of(m), pp, false) &&
      make_time_exceeded_reply(m, pp, gateway_ip(in_net), gw6 ? gw6->bytes.data() : nullptr)) {
    pmd_.event(Event::kTimeExceededSent);
    return emit(in_port, in_net, m, kOriginSwitch);  // back to the sender, from its network's gateway
  }
  release(m);
}

void Forwarder::route(uint16_t in_port, int16_t in_net, rte_mbuf* m, const ParsedPacket& pp) noexcept {
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
    rm.out_net = tables_.route(pp.dst_ip);
    if (rm.out_net == kNoNetwork) return drop(in_port, m, DropReason::kNoRoute);
    uint64_t raw = 0;
    const int32_t npos = ctx_.neighbors->lookup(&pp.dst_ip, raw);
    if (npos < 0) {
      if (rec_) [[unlikely]] note(m, TraceEvent::kNeighborUnknown, in_port, rm.out_net, pp.dst_ip);
      pc_[in_port].drops[static_cast<size_t>(DropReason::kNeighborUnresolved)].inc();
      return send_arp_request(in_port, rm.out_net, pp.dst_ip, m, now_tsc_);
    }
    if (!sim_) ctx_.neighbors->touch(npos, now_s_);
    rm.mac = NeighborEntry::decode(raw).mac;
    FdbKey key{static_cast<uint16_t>(rm.out_net), {}};
    rm.mac.store(key.mac);
    rm.out_port = ctx_.fdb->lookup(&key, raw) < 0 ? -1 : FdbEntry::decode(raw).port;
    rm.valid = true;
  }
  const int16_t out_net = rm.out_net;
  // Too big for the output port and not to be fragmented: answered from the gateway
  // address of the sender's network, before anything is rewritten.
  if (rm.out_port >= 0) [[likely]] {
    if (too_big(in_port, in_net, m, pp, static_cast<uint16_t>(rm.out_port), gateway_ip(in_net))) return;
  }
  if (rec_) [[unlikely]] {
    uint8_t nb[6];
    rm.mac.store(nb);
    note(m, TraceEvent::kRouted, in_port, out_net, pp.ttl, 0, mac_bits(nb));
  }
  decrement_ttl(ip, kEtherTypeIpv4);
  rm.mac.store(e);
  tables_.network(out_net).gateway_mac.store(e + 6);
  pmd_.event(Event::kRouted);
  if (rm.out_port < 0) return flood(out_net, UINT16_MAX, in_port, m, in_port);
  emit(static_cast<uint16_t>(rm.out_port), out_net, m, in_port);
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
  tables_.network(net).gateway_mac.store(e + 6);
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
  const auto& n = tables_.network(net);
  rte_pktmbuf_reset(m);
  uint8_t* e = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kEthMinFrame));
  if (!e) return release(m);
  std::memset(e, 0, kEthMinFrame);
  MacAddr::broadcast().store(e);
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
  pmd_.event(Event::kArpRequests);
  flood(net, UINT16_MAX, in_port, m, kOriginSwitch);
}

}  // namespace ivs::pipeline
