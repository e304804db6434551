// The analysis that decides whether a mirror's filter may be judged once per flow
// (packet/filter_analysis.hpp), on the programs libpcap really compiles: the issue's
// tricky filters must run per packet, the flow-constant ones per flow, for each frame
// layout (untagged, one 802.1Q tag). Whether the per-flow verdicts are exact is the
// differential test's (mirror_verdict_test.cpp).
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <string>
#include <vector>

#include "packet/filter_analysis.hpp"

using namespace ivs::packet;

namespace {

std::vector<bpf_insn> compile(const std::string& expr) {
  pcap_t* p = pcap_open_dead(DLT_EN10MB, 65535);
  bpf_program prog{};
  EXPECT_EQ(pcap_compile(p, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN), 0) << expr << ": " << pcap_geterr(p);
  std::vector<bpf_insn> v(prog.bf_insns, prog.bf_insns + prog.bf_len);
  pcap_freecode(&prog);
  pcap_close(p);
  return v;
}

LayoutVerdict untagged(const std::string& expr) {
  const auto p = compile(expr);
  return analyze_filter(p.data(), static_cast<unsigned>(p.size()), FrameLayout::kUntagged);
}
LayoutVerdict tagged(const std::string& expr) {
  const auto p = compile(expr);
  return analyze_filter(p.data(), static_cast<unsigned>(p.size()), FrameLayout::kTagged);
}

}  // namespace

TEST(FilterAnalysis, WhatVariesWithinAFlowRunsPerPacket) {
  const struct {
    const char* expr;
    const char* why;
  } cases[] = {
      {"len > 100", "reads the packet length"},
      {"greater 100", "reads the packet length"},
      {"ip[2:2] > 99", "reads the IP total length"},
      {"tcp[13] & 2 != 0", "reads byte 47, past the ports"},
      {"tcp[tcpflags] & tcp-syn != 0", "reads byte 47, past the ports"},
      {"ip[6:2] & 0x1fff != 0", "reads the IP flags/fragment offset"},
      {"ip[6] & 0x20 != 0", "reads the IP flags/fragment offset"},
      {"ip[4:2] == 7", "reads the IP id"},
      {"ip[8] < 5", "reads the TTL"},
      {"ip[1] & 0xfc == 0xb8", "reads the TOS/DSCP"},
      {"ether src 02:00:00:00:01:01", "reads the source MAC"},
      {"ether dst 02:00:00:00:01:01", "reads the destination MAC"},
      {"tcp and tcp[20:4] == 0x47455420", "past the ports"},
      {"udp[4:2] > 100", "past the ports"},  // the UDP length
      {"host 10.0.0.1 and len > 100", "reads the packet length"},
  };
  for (const auto& c : cases) {
    const auto v = untagged(c.expr);
    EXPECT_FALSE(v.per_flow) << c.expr;
    EXPECT_NE(v.why.find(c.why), std::string::npos) << c.expr << ": " << v.why;
  }
  // With a tag the same fields are 4 bytes further on, and still vary.
  for (const char* e : {"vlan and len > 100", "vlan and ip[2:2] > 99", "vlan and tcp[13] & 2 != 0", "vlan and ip[6:2] & 0x1fff != 0",
                        "vlan and ip[1] & 0xfc == 0xb8"})
    EXPECT_FALSE(tagged(e).per_flow) << e;
}

TEST(FilterAnalysis, FlowConstantFiltersArePerFlow) {
  for (const char* e : {"host 10.0.0.1", "tcp port 80", "udp and dst port 53", "net 10.0.1.0/24 and not port 22", "vlan 10 and tcp",
                        "ip", "tcp", "not udp", "src net 10.0.0.0/16 and dst host 10.0.1.12", "udp src portrange 1024-1033",
                        "udp[0:2] < 1034", "tcp dst port 80 or tcp dst port 443", "sctp port 9", "ip proto 47", "arp", "ip6"}) {
    const auto v = untagged(e);
    EXPECT_TRUE(v.per_flow) << e << ": " << v.why;
  }
  // A tagged frame: the TCI is in the verdict's key, the rest as untagged 4 bytes on; a
  // filter without `vlan` rejects every tagged frame (libpcap does not look past a tag).
  for (const char* e : {"vlan 10 and tcp", "vlan and host 10.0.0.1", "vlan 10 and tcp port 80", "tcp port 80", "host 10.0.0.1",
                        "vlan and udp[0:2] < 1034"}) {
    const auto v = tagged(e);
    EXPECT_TRUE(v.per_flow) << e << ": " << v.why;
  }
}

TEST(FilterAnalysis, ModeSaysWhichAndWhy) {
  auto analysis = [](const char* e) {
    const auto p = compile(e);
    return analyze_filter(p.data(), static_cast<unsigned>(p.size()));
  };
  EXPECT_EQ(analysis("tcp port 80").mode(), "per flow");
  EXPECT_EQ(analysis("len > 100").mode(), "per packet: reads the packet length");
  EXPECT_EQ(analysis("tcp[13] & 2 != 0 or vlan").mode().rfind("per packet: reads byte 47", 0), 0u);
}

// Programs libpcap does not emit, built by hand: indirect loads from an unknown offset,
// division by zero, falling off the end, a branch on a memory word that holds the length.
TEST(FilterAnalysis, HandMadeProgramsAreJudgedConservatively) {
  const bpf_insn ind[] = {BPF_STMT(BPF_LDX | BPF_W | BPF_LEN, 0), BPF_STMT(BPF_LD | BPF_B | BPF_IND, 0), BPF_STMT(BPF_RET | BPF_A, 0)};
  EXPECT_FALSE(analyze_filter(ind, 3, FrameLayout::kUntagged).per_flow);
  const bpf_insn mem[] = {BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0), BPF_STMT(BPF_ST, 3), BPF_STMT(BPF_LD | BPF_IMM, 7),
                          BPF_STMT(BPF_LD | BPF_MEM, 3), BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 60, 0, 1), BPF_STMT(BPF_RET | BPF_K, 1),
                          BPF_STMT(BPF_RET | BPF_K, 0)};
  EXPECT_FALSE(analyze_filter(mem, 7, FrameLayout::kUntagged).per_flow);
  const bpf_insn off_end[] = {BPF_STMT(BPF_LD | BPF_IMM, 1)};
  EXPECT_FALSE(analyze_filter(off_end, 1, FrameLayout::kUntagged).per_flow);
  // The ports through memory and X: still the ports.
  const bpf_insn via_x[] = {BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14), BPF_STMT(BPF_LD | BPF_H | BPF_IND, 14), BPF_STMT(BPF_ST, 0),
                            BPF_STMT(BPF_LDX | BPF_MEM, 0), BPF_STMT(BPF_MISC | BPF_TXA, 0),
                            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 80, 0, 1), BPF_STMT(BPF_RET | BPF_K, 1), BPF_STMT(BPF_RET | BPF_K, 0)};
  EXPECT_TRUE(analyze_filter(via_x, 8, FrameLayout::kUntagged).per_flow);
  // ... but not 4 bytes later (the TCP sequence number).
  bpf_insn seq[8];
  std::copy(std::begin(via_x), std::end(via_x), seq);
  seq[1].k = 18;
  EXPECT_FALSE(analyze_filter(seq, 8, FrameLayout::kUntagged).per_flow);
}
