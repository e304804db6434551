// Host-VM channel: the message format, the config's expansion into channel networks, and
// the datapath's checks on real mbufs: a message from the host end goes out of the VM's
// port on its VLAN and the answer back to the channel port; every attack of the
// isolation rules is dropped with its own reason; the agent's ARP for the channel IP is
// answered; the per-channel rate holds; port security still holds on the VMs' ordinary
// network (a path of its own when the config has channels).
#include <gtest/gtest.h>

#include "portsec/reasons.hpp"

#include "channel/frame.hpp"
#include "channel/reasons.hpp"
#include "config/loader.hpp"
#include "support/forwarder_rig.hpp"
#include "support/packet_builder.hpp"

using namespace ivs;
using namespace ivs::test;

namespace {

const char* kHost = R"(
ports:
  - {name: vm1, type: ring, network: lan}
  - {name: vm2, type: ring, network: lan}
networks:
  - {name: lan, vlan: 10, subnet: 10.0.1.0/24}
vms:
  - {name: vm1, port: vm1, mac: "02:00:00:00:01:01", ip: 10.0.1.11}
  - {name: vm2, port: vm2, mac: "02:00:00:00:01:02", ip: 10.0.1.12}
channels:
  rate_pps: 1
  burst: 10
  map:
    - {vm: vm1, id: 101, vlan: 3001, agent_mac: "02:00:00:00:a1:01", agent_ip: 169.254.77.11}
    - {vm: vm2, id: 102, vlan: 3002, agent_mac: "02:00:00:00:a1:02", agent_ip: 169.254.77.12}
)";

const MacAddr kChanMac{{0x02, 0x49, 0x56, 0xff, 0xff, 0xfe}};
const Ipv4Addr kChanIp{0xa9fe4d01};
const MacAddr kAgent1{{0x02, 0, 0, 0, 0xa1, 0x01}}, kAgent2{{0x02, 0, 0, 0, 0xa1, 0x02}};
const Ipv4Addr kAgentIp1{0xa9fe4d0b}, kAgentIp2{0xa9fe4d0c};
constexpr uint16_t kVm1 = 0, kVm2 = 1, kChan = 2;  // the loader appends the channel port

Bytes message(uint16_t vlan, channel::Endpoint src, channel::Endpoint dst, uint32_t id, const std::string& text = "ping") {
  channel::Header h{channel::MsgType::kData, 0, id, 7, 0};
  return channel::build_frame(vlan, src, dst, h, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, 1);
}
channel::Endpoint chan() { return {kChanMac, kChanIp, 7077}; }
channel::Endpoint agent1() { return {kAgent1, kAgentIp1, 7077}; }
channel::Endpoint agent2() { return {kAgent2, kAgentIp2, 7077}; }

}  // namespace

TEST(ChannelWire, FrameRoundTripsAndGarbageIsRefused) {
  channel::Header h{channel::MsgType::kData, channel::kFlagAckRequested, 101, 5, 4};
  const std::string text = "hello";
  auto f = channel::build_frame(3001, chan(), agent1(), h, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, 9);
  auto p = channel::parse_frame(f);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->vlan, 3001);
  EXPECT_EQ(p->src.mac, kChanMac);
  EXPECT_EQ(p->dst.ip, kAgentIp1);
  EXPECT_EQ(p->header.id, 101u);
  EXPECT_EQ(p->header.seq, 5u);
  EXPECT_EQ(p->header.reply_to, 4u);
  EXPECT_TRUE(p->header.ack_requested());
  EXPECT_EQ(std::string(p->payload.begin(), p->payload.end()), text);
  // The IPv4 header checksum verifies.
  EXPECT_TRUE(packet::csum_ok(f.data() + 18, 20));
  for (size_t cut = 0; cut < f.size(); ++cut) EXPECT_FALSE(channel::parse_frame({f.data(), cut})) << cut;
  auto bad = f;
  bad[18 + 20 + 8] = 'X';  // magic
  std::string why;
  EXPECT_FALSE(channel::parse_frame(bad, &why));
  EXPECT_EQ(why, "bad channel header");
}

TEST(ChannelConfig, ChannelsBecomeNetworksCarriedByTheirPorts) {
  auto cfg = config::load_string(kHost, "host.yaml");
  ASSERT_TRUE(cfg) << cfg.error().front();
  const auto* net = cfg->find_network("channel-vm1");
  ASSERT_TRUE(net);
  EXPECT_EQ(net->vlan, 3001);
  EXPECT_EQ(net->channel, 0);
  const auto* vm1 = cfg->find_port("vm1");
  EXPECT_EQ(vm1->access_network, "lan");
  EXPECT_EQ(vm1->trunk_networks, std::vector<std::string>{"channel-vm1"});
  const auto* ch = cfg->find_port("channel");
  ASSERT_TRUE(ch);
  EXPECT_EQ(ch->type, config::PortType::kChannel);
  EXPECT_EQ(ch->trunk_networks, (std::vector<std::string>{"channel-vm1", "channel-vm2"}));
  EXPECT_EQ(cfg->channel.socket, "/run/ivswitch/ivswitch-channel.sock");

  auto guest = config::load_string(R"(
ports:
  - {name: uplink, type: ring}
  - {name: agent, type: ring}
channels:
  role: guest
  uplink: uplink
  map: [{id: 101, vlan: 3001, port: agent, agent_mac: "02:00:00:00:a1:01", agent_ip: 169.254.77.11}]
)", "guest.yaml");
  ASSERT_TRUE(guest) << guest.error().front();
  EXPECT_EQ(guest->find_port("uplink")->trunk_networks, std::vector<std::string>{"channel-101"});
  EXPECT_EQ(guest->find_port("agent")->access_network, "channel-101");
  EXPECT_FALSE(guest->find_port("channel"));
}

class ChannelDatapath : public ::testing::Test {
 protected:
  ForwarderRig rig_{kHost};
};

TEST_F(ChannelDatapath, MessageGoesOutTheVmPortOnItsVlanAndTheAnswerComesBack) {
  rig_.send(kChan, message(3001, chan(), agent1(), 101));
  auto out = rig_.take(kVm1);
  ASSERT_EQ(out.size(), 1u);
  auto p = channel::parse_frame(out[0]);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->vlan, 3001);
  EXPECT_EQ(p->dst.mac, kAgent1);
  EXPECT_TRUE(rig_.take(kVm2).empty());
  rig_.send(kVm1, message(3001, agent1(), chan(), 101, "pong"));
  auto back = rig_.take(kChan);
  ASSERT_EQ(back.size(), 1u);
  p = channel::parse_frame(back[0]);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->vlan, 3001);  // the service tells the channels apart by VLAN
  EXPECT_EQ(std::string(p->payload.begin(), p->payload.end()), "pong");
}

TEST_F(ChannelDatapath, EveryIsolationRuleDropsAndCounts) {
  // vm2 on vm1's channel VLAN: its port does not carry it.
  rig_.send(kVm2, message(3001, agent2(), chan(), 101));
  EXPECT_EQ(rig_.drops(kVm2, channel::kDrops(channel::Drop::kWrongPort)), 1u);
  // vm2 claims vm1's metadata id on its own VLAN.
  rig_.send(kVm2, message(3002, agent2(), chan(), 101));
  EXPECT_EQ(rig_.drops(kVm2, channel::kDrops(channel::Drop::kWrongId)), 1u);
  // vm2 claims vm1's agent address on its own VLAN.
  rig_.send(kVm2, message(3002, agent1(), chan(), 102));
  rig_.send(kVm2, message(3002, {kAgent2, kAgentIp1, 7077}, chan(), 102));
  EXPECT_EQ(rig_.drops(kVm2, channel::kDrops(channel::Drop::kSpoofed)), 2u);
  // Not a channel message on the channel's VLAN: another UDP port, TCP.
  rig_.send(kVm2, message(3002, agent2(), {kChanMac, kChanIp, 53}, 102));
  auto tcp = ipv4({kChanMac, kAgent2}, kAgentIp2.value, kChanIp.value, packet::kProtoTcp, ivs::test::tcp(1000, 7077, 0x02));
  tcp.insert(tcp.begin() + 12, {0x81, 0x00, 0x0b, 0xba});  // VLAN 3002
  rig_.send(kVm2, tcp);
  EXPECT_EQ(rig_.drops(kVm2, channel::kDrops(channel::Drop::kNotMessage)), 2u);
  // A short header.
  auto runt = message(3002, agent2(), chan(), 102, "");
  runt.resize(runt.size() - 4);
  runt[18 + 3] -= 4;  // IPv4 total length
  runt[18 + 20 + 5] -= 4;  // UDP length
  rig_.send(kVm2, runt);
  EXPECT_EQ(rig_.drops(kVm2, channel::kDrops(channel::Drop::kBadHeader)), 1u);
  // Ordinary (untagged) traffic to the channel address.
  auto plain = ipv4({kChanMac, MacAddr{{0x02, 0, 0, 0, 1, 2}}}, 0x0a00010c, kChanIp.value, packet::kProtoUdp, udp(40000, 7077));
  rig_.send(kVm2, plain);
  EXPECT_EQ(rig_.drops(kVm2, channel::kDrops(channel::Drop::kAddressReserved)), 1u);
  // vm2 posing as the host end to vm1's agent over the ordinary network.
  auto posing = ipv4({MacAddr{{0x02, 0, 0, 0, 1, 1}}, MacAddr{{0x02, 0, 0, 0, 1, 2}}}, kChanIp.value, kAgentIp1.value, packet::kProtoUdp,
                     udp(7077, 7077));
  rig_.send(kVm2, posing);
  auto to_agent = ipv4({MacAddr{{0x02, 0, 0, 0, 1, 1}}, MacAddr{{0x02, 0, 0, 0, 1, 2}}}, 0x0a00010c, kAgentIp1.value, packet::kProtoUdp,
                       udp(7077, 7077));
  rig_.send(kVm2, to_agent);
  EXPECT_EQ(rig_.drops(kVm2, channel::kDrops(channel::Drop::kAddressReserved)), 3u);
  // None of it reached the host end or vm1.
  EXPECT_TRUE(rig_.take(kChan).empty());
  EXPECT_TRUE(rig_.take(kVm1).empty());
}

TEST_F(ChannelDatapath, TheAgentsArpForTheChannelIpIsAnswered) {
  auto req = arp({MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, kAgent1}, 1, kAgent1, kAgentIp1.value, MacAddr{}, kChanIp.value);
  req.insert(req.begin() + 12, {0x81, 0x00, 0x0b, 0xb9});  // VLAN 3001
  rig_.send(kVm1, req);
  auto out = rig_.take(kVm1);
  ASSERT_EQ(out.size(), 1u);
  const uint8_t* a = out[0].data() + 18;  // tagged on the way out, like the request
  EXPECT_EQ(packet::load_be16(out[0].data() + 14) & 0xfff, 3001);
  EXPECT_EQ(packet::load_be16(a + 6), 2);  // reply
  EXPECT_EQ(MacAddr::from(a + 8), kChanMac);
  EXPECT_EQ(packet::load_be32(a + 14), kChanIp.value);
  EXPECT_TRUE(rig_.take(kChan).empty());
}

TEST_F(ChannelDatapath, TheAgentIsHeldToTheChannelsRate) {
  const auto f = message(3001, agent1(), chan(), 101);
  rig_.send(kVm1, f);  // installs the flow (one token)
  rig_.take(kChan);
  rig_.burst(kVm1, f, 30, rte_rdtsc() + rte_get_tsc_hz());  // burst 10: 9 tokens left, 1/s refill
  EXPECT_GE(rig_.drops(kVm1, channel::kDrops(channel::Drop::kRateLimited)), 20u);
  EXPECT_LE(rig_.drops(kVm1, channel::kDrops(channel::Drop::kRateLimited)), 21u);
  EXPECT_EQ(rig_.take(kChan).size() + rig_.drops(kVm1, channel::kDrops(channel::Drop::kRateLimited)), 30u);
}

// With a channels section the forwarder runs port security after the modules' ingress
// stages (Forwarder::ingress_staged), not in the parse pass that every other test reaches:
// without this test, losing that block would switch port security off on every port of a
// switch with channels. On the ordinary network a VM is held to its own MAC and addresses;
// on its channel's VLAN the channel's own rules apply instead (the agent's addresses are
// not the VM's); traffic to the channel's reserved addresses is refused by the channel
// stage, which runs first, even when its source is spoofed too.
TEST_F(ChannelDatapath, PortSecurityStillHoldsOnTheOrdinaryNetwork) {
  const MacAddr vm1 = mac("02:00:00:00:01:01"), vm2 = mac("02:00:00:00:01:02"), other = mac("02:00:00:00:01:99");
  auto from_vm1 = [&](MacAddr src_mac, const char* src_ip, uint32_t dst_ip = ip4("10.0.1.12"),
                      MacAddr dst_mac = MacAddr{{0x02, 0, 0, 0, 1, 2}}) {
    return ipv4({dst_mac, src_mac}, ip4(src_ip), dst_ip, packet::kProtoUdp, udp(1000, 2000));
  };
  // The VM's own frame passes: port security is on, not dropping everything.
  rig_.send(kVm1, from_vm1(vm1, "10.0.1.11"));
  EXPECT_EQ(rig_.take(kVm2).size(), 1u);
  // A spoofed source IP (vm2's, then one off the subnet) and a spoofed source MAC.
  rig_.send(kVm1, from_vm1(vm1, "10.0.1.12"));
  rig_.send(kVm1, from_vm1(vm1, "192.168.7.7"));
  EXPECT_EQ(rig_.drops(kVm1, portsec::kDrops(portsec::Drop::kIp)), 2u);
  rig_.send(kVm1, from_vm1(other, "10.0.1.11"));
  rig_.send(kVm1, from_vm1(vm2, "10.0.1.12"));  // another VM's MAC is not vm1's either
  EXPECT_EQ(rig_.drops(kVm1, portsec::kDrops(portsec::Drop::kMac)), 2u);
  // ARP claiming vm2's address.
  rig_.send(kVm1, arp({MacAddr::broadcast(), vm1}, 2, vm1, ip4("10.0.1.12"), vm2, ip4("10.0.1.12")));
  EXPECT_EQ(rig_.drops(kVm1, portsec::kDrops(portsec::Drop::kArp)), 1u);
  EXPECT_TRUE(rig_.take(kVm2).empty());
  for (const auto& ev : rig_.learned()) EXPECT_NE(MacAddr::from(ev.mac), other);  // dropped before learning

  // The channel's VLAN: the agent's MAC and IP are not vm1's, and the message passes
  // (port security does not judge it); a spoofed one is the channel's own drop.
  rig_.send(kVm1, message(3001, agent1(), chan(), 101));
  EXPECT_EQ(rig_.take(kChan).size(), 1u);
  rig_.send(kVm1, message(3001, {kAgent1, kAgentIp2, 7077}, chan(), 101));
  EXPECT_EQ(rig_.drops(kVm1, channel::kDrops(channel::Drop::kSpoofed)), 1u);
  EXPECT_TRUE(rig_.take(kChan).empty());

  // The ordinary network to the channel's address with a spoofed source IP, then a spoofed
  // source MAC: the channel stage runs first and counts its reason, not port security's.
  rig_.send(kVm1, from_vm1(vm1, "10.0.1.12", kChanIp.value, kChanMac));
  rig_.send(kVm1, from_vm1(other, "10.0.1.11", kChanIp.value, kChanMac));
  EXPECT_EQ(rig_.drops(kVm1, channel::kDrops(channel::Drop::kAddressReserved)), 2u);
  EXPECT_EQ(rig_.drops(kVm1, portsec::kDrops(portsec::Drop::kIp)), 2u);
  EXPECT_EQ(rig_.drops(kVm1, portsec::kDrops(portsec::Drop::kMac)), 2u);
  EXPECT_TRUE(rig_.take(kChan).empty());
  EXPECT_TRUE(rig_.take(kVm2).empty());
}
