#include "pipeline/forwarder.hpp"

#include <rte_ether.h>
#include <rte_ring_elem.h>

#include "packet/checksum.hpp"
#include "packet/headers.hpp"

namespace ivs::pipeline {

using forward::FdbEntry;
using forward::FdbKey;
using forward::kNoNetwork;
using forward::LearnEvent;
using forward::Membership;
using forward::NeighborEntry;
using namespace ivs::packet;

namespace {
constexpr uint32_t kEthMinFrame = 60;  // without FCS

uint8_t* eth_of(rte_mbuf* m) { return rte_pktmbuf_mtod(m, uint8_t*); }

FdbKey fdb_key(int16_t net, const uint8_t* mac) {
  FdbKey k{static_cast<uint16_t>(net), {}};
  std::memcpy(k.mac, mac, 6);
  return k;
}
}  // namespace

Forwarder::Forwarder(const DatapathContext& ctx, uint16_t tx_queue, PmdCounters& pmd, std::vector<PortCounters>& ports)
    : ctx_(ctx), tables_(*ctx.tables), txq_(tx_queue), pmd_(pmd), pc_(ports), batches_(ctx.tables->port_count()) {}

void Forwarder::drop(uint16_t port, rte_mbuf* m, DropReason r) noexcept {
  pc_[port].drops[static_cast<size_t>(r)].inc();
  rte_pktmbuf_free(m);
}

void Forwarder::emit(uint16_t port, int16_t net, rte_mbuf* m) noexcept {
  if (tables_.membership(port, net) == Membership::kTagged) {
    // rte_vlan_insert reads the TCI from the mbuf; PCP is not carried between networks.
    m->vlan_tci = tables_.network(net).vlan;
    if (rte_vlan_insert(&m) != 0) return drop(port, m, DropReason::kCopyFailed);
  }
  if (batches_[port].push(m)) batches_[port].flush((*ctx_.ports)[port], txq_ % (*ctx_.ports)[port].tx_queues, pc_[port]);
}

void Forwarder::flood(int16_t net, uint16_t except_port, uint16_t in_port, rte_mbuf* m) noexcept {
  const auto& members = tables_.network(net).ports;
  int last = -1;
  for (size_t i = 0; i < members.size(); ++i)
    if (members[i] != except_port) last = static_cast<int>(i);
  if (last < 0) return drop(in_port, m, DropReason::kFloodEmpty);
  pmd_.event(Event::kFlooded);
  for (int i = 0; i < last; ++i) {
    if (members[i] == except_port) continue;
    // A full copy, not a clone: each output may push its own VLAN tag.
    rte_mbuf* copy = rte_pktmbuf_copy(m, ctx_.pool, 0, UINT32_MAX);
    if (!copy) {
      pc_[in_port].drops[static_cast<size_t>(DropReason::kCopyFailed)].inc();
      continue;
    }
    emit(members[i], net, copy);
  }
  emit(members[last], net, m);
}

void Forwarder::queue_learn(const LearnEvent& ev) noexcept {
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

void Forwarder::process(uint16_t in_port, rte_mbuf** pkts, uint16_t n, uint32_t now_s, uint64_t now_tsc) noexcept {
  if (n > kMaxBurst) {  // the PMD polls 32 at a time; larger bursts are split
    process(in_port, pkts, kMaxBurst, now_s, now_tsc);
    return process(in_port, pkts + kMaxBurst, static_cast<uint16_t>(n - kMaxBurst), now_s, now_tsc);
  }
  now_s_ = now_s;
  now_tsc_ = now_tsc;
  PortCounters& in = pc_[in_port];
  in.rx_packets.add(n);

  // Stage 1: parse, check the source MAC, find the network, pop the VLAN tag.
  ParsedPacket meta[kMaxBurst];
  int16_t nets[kMaxBurst];
  rte_mbuf* live[kMaxBurst];
  FdbKey keys[kMaxBurst];
  const void* key_ptrs[kMaxBurst];
  uint64_t bytes = 0;
  uint16_t k = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    bytes += m->pkt_len;
    ParsedPacket& pp = meta[k];
    if (auto err = parse(eth_of(m), m->data_len, m->pkt_len, pp)) {
      drop(in_port, m, *err);
      continue;
    }
    const uint8_t* eth = eth_of(m);
    if ((eth[6] & 1) || MacAddr::from(eth + 6).is_zero()) {
      drop(in_port, m, DropReason::kBadSrcMac);
      continue;
    }
    const int16_t net = tables_.ingress_network(in_port, pp.has_vlan && pp.vlan_id != 0, pp.vlan_id);
    if (net == kNoNetwork) {
      drop(in_port, m, DropReason::kVlanNotAllowed);
      continue;
    }
    if (pp.has_vlan) {  // frames travel untagged inside the switch; egress tags them
      rte_vlan_strip(m);
      pp.l3_offset -= kVlanTagLen;
      if (pp.l4_offset) pp.l4_offset -= kVlanTagLen;
    }
    live[k] = m;
    nets[k] = net;
    keys[k] = fdb_key(net, eth_of(m) + 6);
    key_ptrs[k] = &keys[k];
    ++k;
  }
  in.rx_bytes.add(bytes);

  // Stage 2: source MACs in one bulk lookup. Known on this port: stamp it. New or
  // moved: learn event. A configured VM's MAC on another port: dropped.
  uint64_t vals[kMaxBurst];
  int32_t pos[kMaxBurst];
  uint64_t hits = ctx_.fdb->lookup_bulk(key_ptrs, k, vals, pos);
  const FdbKey* last_queued = nullptr;
  for (uint16_t j = 0; j < k; ++j) {
    if (hits >> j & 1) {
      const FdbEntry e = FdbEntry::decode(vals[j]);
      if (e.port == in_port) {
        if (pos[j] >= 0) ctx_.fdb->touch(pos[j], now_s_);
        continue;
      }
      if (e.is_static) {
        drop(in_port, live[j], DropReason::kSrcMacSpoofed);
        live[j] = nullptr;
        continue;
      }
    }
    queue_mac_learn(in_port, keys[j], last_queued);
  }

  // Stage 3: frames for the switch itself, routed frames and floods are handled here;
  // unicast destinations are collected for one more bulk lookup.
  uint16_t unicast[kMaxBurst];
  uint16_t u = 0;
  for (uint16_t j = 0; j < k; ++j) {
    rte_mbuf* m = live[j];
    if (!m) continue;
    const int16_t net = nets[j];
    const ParsedPacket& pp = meta[j];
    uint8_t* e = eth_of(m);
    const auto& netinfo = tables_.network(net);
    if (pp.ethertype == kEtherTypeArp) {
      glean_arp(in_port, net, pp, e);
      if (pp.arp_op == 1 && netinfo.gateway && pp.dst_ip == netinfo.gateway->value) {
        arp_reply(net, e, pp);
        pmd_.event(Event::kArpReplies);
        emit(in_port, net, m);
        continue;
      }
      if (MacAddr::from(e) == netinfo.gateway_mac) {  // e.g. the answer to our ARP request
        pmd_.event(Event::kArpConsumed);
        rte_pktmbuf_free(m);
        continue;
      }
    }
    if (MacAddr::from(e) == netinfo.gateway_mac) {
      to_gateway(in_port, net, m, pp);
      continue;
    }
    if (e[0] & 1) {  // broadcast / multicast
      flood(net, in_port, in_port, m);
      continue;
    }
    keys[u] = fdb_key(net, e);  // stage 2 is done with keys[]: reused (u <= j)
    key_ptrs[u] = &keys[u];
    unicast[u++] = j;
  }

  // Stage 4: unicast destinations in one bulk lookup: one port, or flood when unknown.
  hits = ctx_.fdb->lookup_bulk(key_ptrs, u, vals, pos);
  for (uint16_t t = 0; t < u; ++t) {
    const uint16_t j = unicast[t];
    if (!(hits >> t & 1)) {
      flood(nets[j], in_port, in_port, live[j]);
      continue;
    }
    const uint16_t out = FdbEntry::decode(vals[t]).port;
    if (out == in_port) drop(in_port, live[j], DropReason::kSamePort);
    else emit(out, nets[j], live[j]);
  }
}

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

void Forwarder::to_gateway(uint16_t in_port, int16_t net, rte_mbuf* m, const ParsedPacket& pp) noexcept {
  const auto& netinfo = tables_.network(net);
  if (pp.ethertype != kEtherTypeIpv4 || !netinfo.gateway) return drop(in_port, m, DropReason::kNotRoutable);
  if (tables_.gateway_network(pp.dst_ip) != kNoNetwork) {  // for the switch itself
    if (pp.ip_proto == kProtoIcmp && pp.src_port == 8 && pp.l4_offset && echo_reply(net, m, pp)) {
      pmd_.event(Event::kEchoReplies);
      return emit(in_port, net, m);
    }
    return drop(in_port, m, DropReason::kLocalUnhandled);
  }
  route(in_port, m, pp);
}

void Forwarder::route(uint16_t in_port, rte_mbuf* m, const ParsedPacket& pp) noexcept {
  uint8_t* e = eth_of(m);
  uint8_t* ip = e + pp.l3_offset;
  const uint32_t ihl = (ip[0] & 0x0f) * 4u;
  // Trust a checksum the driver already verified; otherwise check it (20-60 bytes).
  if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_GOOD && !csum_ok(ip, ihl))
    return drop(in_port, m, DropReason::kIpv4BadChecksum);
  if (pp.ttl <= 1) return drop(in_port, m, DropReason::kTtlExpired);
  const int16_t out_net = tables_.route(pp.dst_ip);
  if (out_net == kNoNetwork) return drop(in_port, m, DropReason::kNoRoute);
  uint64_t raw = 0;
  const int32_t npos = ctx_.neighbors->lookup(&pp.dst_ip, raw);
  if (npos < 0) {
    pc_[in_port].drops[static_cast<size_t>(DropReason::kNeighborUnresolved)].inc();
    return send_arp_request(in_port, out_net, pp.dst_ip, m, now_tsc_);
  }
  ctx_.neighbors->touch(npos, now_s_);
  const NeighborEntry nb = NeighborEntry::decode(raw);
  // TTL and protocol share one 16-bit word: update it and the checksum incrementally.
  const uint16_t old_w = load_be16(ip + 8);
  ip[8] = static_cast<uint8_t>(pp.ttl - 1);
  store_be16(ip + 10, csum_update16(load_be16(ip + 10), old_w, load_be16(ip + 8)));
  nb.mac.store(e);
  tables_.network(out_net).gateway_mac.store(e + 6);
  pmd_.event(Event::kRouted);
  const FdbKey key = fdb_key(out_net, e);
  if (ctx_.fdb->lookup(&key, raw) < 0) return flood(out_net, UINT16_MAX, in_port, m);
  emit(FdbEntry::decode(raw).port, out_net, m);
}

void Forwarder::arp_reply(int16_t net, uint8_t* e, const ParsedPacket& pp) noexcept {
  const auto& n = tables_.network(net);
  uint8_t* arp = e + pp.l3_offset;
  // Reply in place: target <- requester, sender <- the gateway.
  std::memcpy(arp + 18, arp + 8, 6);    // tha <- sha
  std::memcpy(arp + 24, arp + 14, 4);   // tpa <- spa
  n.gateway_mac.store(arp + 8);         // sha
  store_be32(arp + 14, n.gateway->value);  // spa
  store_be16(arp + 6, 2);               // op = reply
  std::memcpy(e, arp + 18, 6);          // eth dst <- requester
  n.gateway_mac.store(e + 6);
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
  if (now_tsc < next_arp_tsc_ || m->nb_segs != 1) return rte_pktmbuf_free(m);
  next_arp_tsc_ = now_tsc + ctx_.tsc_hz / 1000;
  const auto& n = tables_.network(net);
  rte_pktmbuf_reset(m);
  uint8_t* e = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kEthMinFrame));
  if (!e) return rte_pktmbuf_free(m);
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
  flood(net, UINT16_MAX, in_port, m);
}

void Forwarder::flush() noexcept {
  auto& ports = *ctx_.ports;
  for (size_t p = 0; p < batches_.size(); ++p)
    if (!batches_[p].empty()) batches_[p].flush(ports[p], txq_ % ports[p].tx_queues, pc_[p]);
}

}  // namespace ivs::pipeline
