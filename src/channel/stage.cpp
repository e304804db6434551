// The host-VM channel's checks on ingress (docs/channels.md), the channel module's stage at
// AttachPoint::kIngress (pipeline/module.hpp), made only when the config has channels. A channel is a network of
// its own (its VLAN) with two members: the agent side and the host side. Only channel
// messages between the agent's and the channel's addresses, carrying the channel's
// metadata id, pass; everything else on the channel's VLAN is dropped with its reason.
// What passes then goes through the flow cache and policy like any other IP flow, and is
// switched by VLAN + destination MAC (static entries for both ends). Outside the channels'
// networks nothing may come from, or go to, the channel's address or an agent's.
//
// Thread: one ChannelStage per Forwarder (its token buckets are the thread's).
#include "channel/stage.hpp"

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "channel/reasons.hpp"
#include "channel/wire.hpp"
#include "packet/headers.hpp"
#include "pipeline/forwarder.hpp"

namespace ivs::channel {

using namespace ivs::packet;
using pipeline::Event;

ChannelStage::ChannelStage(size_t channels) : buckets_(channels) {}

void ChannelStage::run(pipeline::Forwarder& f, pipeline::Burst& b) noexcept {
  const auto& tables = f.tables();
  const auto& ca = tables.channel_address();
  for (uint16_t j = 0; j < b.n; ++j) {
    pipeline::Pkt& p = b.pkts[j];
    const ParsedPacket& pp = b.pp[j];
    const uint8_t* eth = rte_pktmbuf_mtod(p.m, const uint8_t*);
    if (tables.network(p.net).channel >= 0) {
      if (!admit(f, p.in_port, p.net, p.m, pp)) p.m = nullptr;
    } else if (pp.dst_ip == ca.ip || pp.src_ip == ca.ip || MacAddr::from(eth) == ca.mac || MacAddr::from(eth + 6) == ca.mac ||
               tables.is_agent_ip(pp.dst_ip)) {
      // A VM posing as the host end to another VM's agent.
      f.drop(p.in_port, p.m, kDrops(Drop::kAddressReserved));
      p.m = nullptr;
    }
  }
}

bool ChannelStage::tokens(const pipeline::Forwarder& f, size_t channel) noexcept {
  const auto& addr = f.tables().channel_address();
  return buckets_[channel].take(f.now_tsc(), addr.rate_pps, addr.burst, f.tsc_hz());
}

bool ChannelStage::admit(pipeline::Forwarder& f, uint16_t in_port, int16_t net, rte_mbuf* m, const ParsedPacket& pp) noexcept {
  const auto& tables = f.tables();
  const auto& addr = tables.channel_address();
  const size_t ci = static_cast<size_t>(tables.network(net).channel);
  const forward::ChannelRoute& ch = tables.channels()[ci];
  pipeline::TraceBuffer* rec = f.recording();
  uint8_t* e = rte_pktmbuf_mtod(m, uint8_t*);
  const bool from_agent = in_port == ch.agent_port;
  const MacAddr dst = MacAddr::from(e), src = MacAddr::from(e + 6);
  auto refuse = [&](Drop r) {
    f.drop(in_port, m, kDrops(r));
    return false;
  };
  if (pp.ethertype == kEtherTypeArp) {
    // The agent's kernel asks for the channel IP: answer for the channel (proxy ARP).
    if (!from_agent || pp.arp_op != 1 || pp.dst_ip != addr.ip) return refuse(Drop::kNotMessage);
    if (src != ch.agent_mac || pp.src_ip != ch.agent_ip) return refuse(Drop::kSpoofed);
    pipeline::Forwarder::arp_reply(e, pp, addr.mac, addr.ip);
    if (rec) [[unlikely]] rec->record(m, kTraceEvents(Trace::kArpAnswered), in_port, net, ch.id);
    f.event(Event::kArpReplies);
    f.emit(in_port, net, m, pipeline::kOriginSwitch);  // made by the switch (not a duplicate for mirror dedup)
    return false;
  }
  if (pp.ethertype != kEtherTypeIpv4 || pp.ip_proto != kProtoUdp || pp.l4_offset == 0 || pp.is_fragment)
    return refuse(Drop::kNotMessage);
  if (from_agent) {
    if (dst != addr.mac || pp.dst_ip != addr.ip || pp.dst_port != addr.udp_port) return refuse(Drop::kNotMessage);
    if (src != ch.agent_mac || pp.src_ip != ch.agent_ip) return refuse(Drop::kSpoofed);
  } else {
    if (dst != ch.agent_mac || pp.dst_ip != ch.agent_ip) return refuse(Drop::kNotMessage);
    if (src != addr.mac || pp.src_ip != addr.ip || pp.src_port != addr.udp_port) return refuse(Drop::kSpoofed);
  }
  // The UDP payload, as long as the UDP header says (not the frame: Ethernet padding).
  const uint32_t off = pp.l4_offset + 8u;
  const uint32_t udp_len = m->data_len >= pp.l4_offset + 8u ? load_be16(e + pp.l4_offset + 4) : 0;
  if (udp_len < 8 || m->data_len < pp.l4_offset + udp_len || !channel::header_valid(e + off, udp_len - 8))
    return refuse(Drop::kBadHeader);
  if (channel::header_id(e + off) != ch.id) return refuse(Drop::kWrongId);
  if (from_agent && !f.simulating() && !tokens(f, ci)) return refuse(Drop::kRateLimited);
  if (rec) [[unlikely]] {
    uint8_t am[6];
    ch.agent_mac.store(am);
    rec->record(m, kTraceEvents(Trace::kAdmitted), in_port, net, ch.id, ch.vlan, pipeline::mac_bits(am), ch.agent_ip, static_cast<uint8_t>(from_agent));
  }
  return true;
}

}  // namespace ivs::channel
