#pragma once
// Which pcap filters may be judged once per flow: a conservative analysis of the classic
// BPF program libpcap compiles (pcap_compile, DLT_EN10MB), a pure function of the
// instructions. Used by the mirrors (docs/mirrors.md, "Filter modes") to judge a filter
// once per flow direction and keep its verdict (mirror/verdict_cache.hpp).
//
// The claim it proves, for one frame layout L:
//   for every frame that satisfies L's condition (frame_layout() below), the program's
//   verdict (select or not) is a function of L's key bytes alone.
// The key bytes are the flow's constant fields: the IPv4 protocol, addresses and the four
// bytes after a 20-byte header (TCP/UDP/SCTP ports), and for a tagged frame its 802.1Q
// TCI. So two frames of one layout with equal key bytes get the same verdict, whatever
// else differs (length, IP id, flags, TTL, TOS/DSCP, checksums, MACs, TCP flags, payload).
//
// The conditions (checked per packet by the datapath; a frame outside them is judged per
// packet):
//   kUntagged  ethertype 0x0800 at [12]; IPv4 header [14] = 0x45 (no options); neither MF
//              nor a fragment offset ([20:2] & 0x3fff == 0); protocol TCP, UDP or SCTP;
//              the first 38 bytes in the first segment
//   kTagged    one 802.1Q tag (TPID 0x8100 at [12]) carrying 0x0800 at [16]; the same
//              IPv4 conditions 4 bytes further on; the first 42 bytes in the first segment
// IPv6, QinQ (0x88a8, two tags), IPv4 options, fragments and other protocols: per packet.
//
// How: abstract interpretation over the program's instructions (cBPF jumps only forward,
// so one pass in order, joining the states where paths meet). A value is a known constant
// (the condition fixes the ethertype, the TPID, [14] = 0x45, so `ldxb 4*([14]&0xf)` is 20),
// a flow constant (read only from key bytes, or computed from them), libpcap's fragment
// field, or varying. A branch on a known constant is decided (only the taken side is
// explored: the IPv6 half of `tcp port 80` is never reached under kUntagged); a branch or a
// return that depends on a varying value fails the proof, naming what it reads.
//
// The fragment field: libpcap guards every transport-header load with
// `ldh [20]; jset #0x1fff` whose false branch goes on to `ldxb 4*([14]&0xf)`. Under the
// condition (not a fragment) that guard is decided: that exact pattern is accepted. Any
// other read of the flags or fragment offset (`ip[6:2] & 0x1fff != 0`) fails the proof,
// conservatively, even where it too would be constant on the frames the condition admits.
#include <pcap/pcap.h>

#include <cstdint>
#include <string>

namespace ivs::packet {

enum class FrameLayout : uint8_t { kUntagged, kTagged };
inline constexpr unsigned kFrameLayouts = 2;

struct LayoutVerdict {
  bool per_flow = false;
  std::string why;  // when !per_flow: what the program reads that varies within a flow
};

struct FilterAnalysis {
  LayoutVerdict layout[kFrameLayouts];  // by FrameLayout
  const LayoutVerdict& of(FrameLayout l) const { return layout[static_cast<unsigned>(l)]; }
  // What `show mirrors` says: "per flow", "per flow (untagged frames; tagged: ...)" or
  // "per packet: <why>".
  std::string mode() const;
};

LayoutVerdict analyze_filter(const bpf_insn* insns, unsigned n, FrameLayout layout);
FilterAnalysis analyze_filter(const bpf_insn* insns, unsigned n);

}  // namespace ivs::packet
