// Inspect-then-shortcut in the datapath (docs/chains.md): packets of flows whose rule
// said `inspect`. A packet of direction d comes from side d of the flow and goes to side
// 1-d; the device reaches side s through port device_port[s].
//
//   from a VM, PENDING or VIA-DEVICE   -> out, unmodified, to the device port on its side
//   from the device (it arrived on the device port of the side it goes to), PENDING
//                                      -> tap sensor: remember where the device delivered
//                                         it (network, destination MAC); enough passed
//                                         back -> VERIFIED; the packet is delivered as is
//   from a VM, VERIFIED                -> shortcut: destination MAC = that side's VM,
//                                         source MAC = the switch's MAC on its network,
//                                         TTL - 1 between networks; switched there
//   from the device, any other state   -> delivered as is (stragglers)
#include "packet/headers.hpp"
#include "packet/mbuf.hpp"
#include "packet/ttl.hpp"
#include "pipeline/forwarder.hpp"

namespace ivs::pipeline {

using flow::FlowState;
using namespace ivs::packet;

void Forwarder::chain_step(Burst& b, uint16_t j, flow::FlowEntry& fe, uint8_t state) noexcept {
  const Pkt& p = b.pkts[j];
  const uint8_t d = b.keys[j].direction;
  flow::ChainPath& c = fe.chain;
  const auto st = static_cast<FlowState>(state);
  if (p.in_port == c.device_port[1 - d]) {  // came back from the device
    if (rec_) [[unlikely]] note(p.m, TraceEvent::kChainFromDevice, p.in_port, p.net, state, fe.chain.returned.load(std::memory_order_relaxed));
    if (!sim_ && st == FlowState::kPending) chain_sense(fe, p, b.pp[j], d);
    b.forward[b.n_forward++] = j;
    return;
  }
  if (st == FlowState::kVerified) return shortcut(b, j, fe);
  if (rec_) [[unlikely]] note(p.m, TraceEvent::kChainToDevice, c.device_port[d], p.net, state, 0, c.to_device[0].get() + c.to_device[1].get());
  if (!sim_) c.to_device[d].inc();
  pmd_.event(Event::kChainToDevice);
  emit(c.device_port[d], p.net, p.m, p.in_port);
}

// The tap sensor. Runs on the thread that polls the device port; the only writer of the
// returned side's network and MAC, published to other threads by the state change.
void Forwarder::chain_sense(flow::FlowEntry& fe, const Pkt& p, const ParsedPacket& pp, uint8_t d) noexcept {
  flow::ChainPath& c = fe.chain;
  const int to = 1 - d;
  if (c.side_net[to].load(std::memory_order_relaxed) < 0) {
    std::memcpy(c.side_mac[to], eth_of(p.m), 6);
    c.side_net[to].store(p.net, std::memory_order_release);
  }
  pmd_.event(Event::kChainReturned);
  // acq_rel: the thread that completes verification (maybe another device port's) sees
  // the side recorded here, and publishes it with the state change.
  const uint16_t returned = static_cast<uint16_t>(c.returned.fetch_add(1, std::memory_order_acq_rel) + 1);
  bool done;
  if (c.inspect_packets == 0 && pp.ip_proto == kProtoTcp) {
    // Until the handshake: the initiator's SYN and ACK and the responder's SYN+ACK have
    // all been passed back by the device.
    c.returned_flags[d].fetch_or(pp.tcp_flags & (flow::kTcpSyn | flow::kTcpAck), std::memory_order_acq_rel);
    const uint8_t ini = c.returned_flags[fe.initiator].load(std::memory_order_relaxed);
    const uint8_t resp = c.returned_flags[1 - fe.initiator].load(std::memory_order_relaxed);
    done = (ini & flow::kTcpSyn) && (ini & flow::kTcpAck) && (resp & (flow::kTcpSyn | flow::kTcpAck)) == (flow::kTcpSyn | flow::kTcpAck);
  } else {
    done = returned >= (c.inspect_packets ? c.inspect_packets : 1);
  }
  if (!done || c.side_net[0].load(std::memory_order_acquire) < 0 || c.side_net[1].load(std::memory_order_acquire) < 0) return;
  const uint64_t us = now_tsc_ > c.pending_tsc ? (now_tsc_ - c.pending_tsc) * 1'000'000 / ctx_.tsc_hz : 0;
  c.verify_us.store(static_cast<uint32_t>(us), std::memory_order_relaxed);
  FlowState expected = FlowState::kPending;
  if (fe.state.compare_exchange_strong(expected, FlowState::kVerified, std::memory_order_acq_rel))
    pmd_.event(Event::kChainVerified);
}

void Forwarder::shortcut(Burst& b, uint16_t j, flow::FlowEntry& fe) noexcept {
  Pkt& p = b.pkts[j];
  const ParsedPacket& pp = b.pp[j];
  const uint8_t d = b.keys[j].direction;
  flow::ChainPath& c = fe.chain;
  const int to = 1 - d;
  const int16_t net = c.side_net[to].load(std::memory_order_relaxed);  // ordered by the state's acquire
  uint8_t* e = eth_of(p.m);
  if (net != p.net) {  // between networks, as a router would: TTL / hop limit - 1
    if (pp.ttl <= 1) return drop(p.in_port, p.m, DropReason::kChainTtlExpired);
    decrement_ttl(e + pp.l3_offset, pp.ethertype);
  }
  std::memcpy(e, c.side_mac[to], 6);
  tables_->network(net).gateway_mac.store(e + 6);
  if (rec_) [[unlikely]] note(p.m, TraceEvent::kChainShortcut, p.in_port, net, pp.ttl, 0, mac_bits(c.side_mac[to]), 0, static_cast<uint8_t>(net != p.net));
  if (!sim_) c.shortcut[d].inc();
  pmd_.event(Event::kChainShortcut);
  p.net = net;
  p.path = Path::kShortcut;
  b.forward[b.n_forward++] = j;
}

}  // namespace ivs::pipeline
