// Fuzz target: the packet parser and the flow key, on bytes a guest or the network sends
// (Ethernet, VLAN, IPv4 with options and fragments, IPv6 with whatever follows, ARP, L4).
//
// Input: 2 bytes `split`, then the frame. split = 0 (or >= the frame's length): one
// segment; else the frame arrives in an mbuf chain whose first segment holds `split`
// bytes: parse(data, first segment, whole frame), as the forwarder calls it. The first
// segment is copied into a heap block of exactly its size, so any read past it is an ASan
// report.
//
// Checked besides memory safety (abort = finding):
//  - a parsed frame's offsets lie inside the first segment, its L4 header whole there;
//  - what parses in a first segment of `split` bytes parses the same in one segment;
//  - the flow key is the same for both directions of a TCP/UDP flow (addresses and ports
//    swapped), with the direction flipped.
// It calls ivs::packet::parse and ivs::flow::make_key only, so it follows the parser as it
// grows (IPv6 extension headers, fragments).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "flow/flow_key.hpp"
#include "packet/headers.hpp"
#include "packet/parse.hpp"

using namespace ivs;
using namespace ivs::packet;

namespace {
constexpr size_t kMaxFrame = 9216;  // a jumbo frame

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "packet_fuzz: %s\n", what);
  std::abort();
}

bool same(const ParsedPacket& a, const ParsedPacket& b) {
  return a.vlan_id == b.vlan_id && a.has_vlan == b.has_vlan && a.vlan_pcp == b.vlan_pcp && a.ethertype == b.ethertype &&
         a.l3_offset == b.l3_offset && a.l4_offset == b.l4_offset && a.ip_proto == b.ip_proto && a.ttl == b.ttl &&
         a.dscp == b.dscp && a.tcp_flags == b.tcp_flags && a.src_port == b.src_port && a.dst_port == b.dst_port &&
         a.src_ip == b.src_ip && a.dst_ip == b.dst_ip && a.arp_op == b.arp_op && a.is_fragment == b.is_fragment &&
         a.ipv4_has_options == b.ipv4_has_options;
}

struct Parsed {
  std::optional<DropReason> drop;
  ParsedPacket pp;
  std::optional<flow::DirectedKey> key;
};

// Parses `frame` with its first `seg` bytes in the first segment, from a block of exactly
// `seg` bytes; the key as the forwarder makes it (first segment only).
Parsed parse_split(const std::vector<uint8_t>& frame, uint32_t seg) {
  std::vector<uint8_t> first(frame.begin(), frame.begin() + seg);
  first.shrink_to_fit();
  Parsed r;
  r.drop = parse(first.data(), seg, static_cast<uint32_t>(frame.size()), r.pp);
  if (r.drop) return r;
  const ParsedPacket& pp = r.pp;
  if (pp.l3_offset > seg) fail("l3_offset beyond the first segment");
  if (pp.has_vlan != (pp.l3_offset == 18)) fail("l3_offset does not match the VLAN tag");
  if (pp.l4_offset) {
    if (pp.l4_offset < pp.l3_offset + 20u) fail("l4_offset inside the IP header");
    const uint32_t need = pp.ip_proto == kProtoTcp ? 20 : pp.ip_proto == kProtoUdp ? 8 : 4;
    if ((pp.ip_proto == kProtoTcp || pp.ip_proto == kProtoUdp || pp.ip_proto == kProtoIcmp || pp.ip_proto == kProtoIcmpv6) &&
        pp.l4_offset + need > seg)
      fail("L4 header not whole in the first segment");
  }
  r.key = flow::make_key(first.data(), seg, pp);
  if (r.key.has_value() != (pp.ethertype == kEtherTypeIpv4 || pp.ethertype == kEtherTypeIpv6)) fail("make_key: IP iff keyed");
  return r;
}

// The same frame sent the other way: addresses and TCP/UDP ports swapped.
std::vector<uint8_t> reversed(std::vector<uint8_t> f, const ParsedPacket& pp) {
  const bool v4 = pp.ethertype == kEtherTypeIpv4;
  const uint32_t a = pp.l3_offset + (v4 ? 12u : 8u), n = v4 ? 4u : 16u;
  uint8_t tmp[16];
  std::memcpy(tmp, &f[a], n);
  std::memmove(&f[a], &f[a + n], n);
  std::memcpy(&f[a + n], tmp, n);
  std::swap(f[pp.l4_offset], f[pp.l4_offset + 2]);
  std::swap(f[pp.l4_offset + 1], f[pp.l4_offset + 3]);
  return f;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size - 2 > kMaxFrame) return -1;
  const uint32_t split = uint32_t{data[0]} << 8 | data[1];
  std::vector<uint8_t> frame(data + 2, data + size);
  const uint32_t n = static_cast<uint32_t>(frame.size());
  const uint32_t seg = split == 0 || split >= n ? n : split;

  const Parsed r = parse_split(frame, seg);
  if (seg < n) {  // what parses from the first segment parses the same from the whole frame
    const Parsed whole = parse_split(frame, n);
    if (!r.drop && whole.drop) fail("parses split, not whole");
    if (!r.drop && !same(r.pp, whole.pp)) fail("split and whole parse differ");
    if (!r.drop && r.key.has_value() != whole.key.has_value()) fail("split and whole differ in having a key");
    // Except an ICMP echo whose identifier is cut off by the segment end: keyed by type and
    // code then (flow_key.cpp). Unreachable with today's ports (a first segment holds at
    // least 2 KB or the whole frame); noted in docs/fuzzing.md.
    const bool echo_id_cut = (r.pp.ip_proto == kProtoIcmp || r.pp.ip_proto == kProtoIcmpv6) && r.pp.l4_offset && r.pp.l4_offset + 6u > seg;
    if (!r.drop && r.key && !echo_id_cut && !(r.key->key == whole.key->key && r.key->direction == whole.key->direction))
      fail("split and whole keys differ");
  }
  if (r.drop || !r.key || !r.pp.l4_offset || (r.pp.ip_proto != kProtoTcp && r.pp.ip_proto != kProtoUdp)) return 0;

  // Both directions of a flow: one key, opposite directions (unless both ends are equal).
  const Parsed back = parse_split(reversed(frame, r.pp), seg);
  if (back.drop || !back.key) fail("the reversed frame does not parse");
  if (!(back.key->key == r.key->key)) fail("the two directions have different keys");
  const bool symmetric = back.key->key.port[0] == back.key->key.port[1] &&
                         std::memcmp(back.key->key.addr[0], back.key->key.addr[1], 16) == 0;
  if (!symmetric && back.key->direction == r.key->direction) fail("the two directions have the same direction");
  return 0;
}
