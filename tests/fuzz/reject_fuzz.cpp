// Fuzz target: the reject reply builder (pipeline/reject.cpp), which turns a packet of a
// rejected flow into a TCP RST or an ICMP unreachable in place, on odd packets: IP
// options, fragments, short or padded frames, lengths that disagree, VLAN tags (stripped
// first, as the forwarder does), little or no tailroom, chained mbufs.
//
// Input: byte 0 = tailroom behind the frame (bit 7: a two-segment mbuf, cut at byte 1),
// byte 1 = the cut, then the frame. Only what the forwarder would hand over is built:
// frames that parse, IPv4/IPv6 with a flow key.
//
// Checked besides memory safety: a reply is one IPv4 packet back to the sender (addresses
// swapped), at least 60 bytes, that parses, with a valid IP checksum; a TCP RST with the
// ports swapped and a valid TCP checksum, or an ICMP unreachable (3/13) with a valid ICMP
// checksum; never a reply to a RST, an ICMP error or IPv6.
#include <rte_ether.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "flow/flow_key.hpp"
#include "packet/checksum.hpp"
#include "packet/headers.hpp"
#include "packet/parse.hpp"
#include "pipeline/reject.hpp"
#include "support/fuzz_eal.hpp"

using namespace ivs;
using namespace ivs::packet;

namespace {
constexpr size_t kMaxFrame = 9216;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "reject_fuzz: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size - 2 > kMaxFrame) return -1;
  const uint16_t tailroom = data[0] & 0x7f;
  const bool chained = data[0] & 0x80;
  const std::vector<uint8_t> frame(data + 2, data + size);
  const std::vector<uint32_t> cuts = chained ? std::vector<uint32_t>{data[1]} : std::vector<uint32_t>{};
  fuzz::HeapMbuf hm(frame, cuts, RTE_PKTMBUF_HEADROOM, tailroom);
  rte_mbuf* m = hm.get();

  ParsedPacket pp;
  if (parse(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, m->pkt_len, pp)) return 0;
  if (!flow::make_key(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, pp)) return 0;  // not IP: never reaches the policy
  if (pp.has_vlan) {  // the forwarder strips the tag before the policy stage
    if (rte_vlan_strip(m) != 0) fail("rte_vlan_strip refused a tagged frame");
    pp.l3_offset -= kVlanTagLen;
    if (pp.l4_offset) pp.l4_offset -= kVlanTagLen;
  }
  const bool is_rst = pp.ip_proto == kProtoTcp && pp.l4_offset && (pp.tcp_flags & 0x04);
  // ICMP errors (RFC 792/1122: unreachable, source quench, redirect, time exceeded,
  // parameter problem) and types no RFC defines: never answered. Echo request and reply,
  // timestamps and the like are not errors and may get the unreachable.
  const uint16_t icmp_type = pp.src_port;
  const bool is_icmp_error = pp.ip_proto == kProtoIcmp && pp.l4_offset &&
                             (icmp_type == 3 || icmp_type == 4 || icmp_type == 5 || icmp_type == 11 || icmp_type == 12 || icmp_type > 18);
  const uint32_t orig_src = pp.src_ip, orig_dst = pp.dst_ip;
  const uint16_t orig_sport = pp.src_port, orig_dport = pp.dst_port;
  const bool tcp = pp.ip_proto == kProtoTcp && pp.l4_offset;

  // As the Forwarder does: the gate first (who may be answered at all), then the reply.
  if (pipeline::reply_blocked(rte_pktmbuf_mtod(m, const uint8_t*), pp) != pipeline::ReplyBlock::kNone) return 0;
  if (!pipeline::make_reject_reply(m, pp)) return 0;
  if (pp.ethertype != kEtherTypeIpv4) fail("answered a non-IPv4 packet");
  if (m->nb_segs != 1) fail("answered in a chained mbuf");
  if (is_rst) fail("answered a RST");
  if (is_icmp_error) fail("answered an ICMP error");

  const std::vector<uint8_t> out = hm.bytes();
  if (out.size() < 60) fail("reply shorter than 60 bytes");
  ParsedPacket r;
  if (parse(out.data(), static_cast<uint32_t>(out.size()), r)) fail("the reply does not parse");
  if (r.ethertype != kEtherTypeIpv4 || r.has_vlan) fail("the reply is not untagged IPv4");
  if (r.src_ip != orig_dst || r.dst_ip != orig_src) fail("the reply does not go back to the sender");
  const uint8_t* ip = out.data() + r.l3_offset;
  if (!csum_ok(ip, 20)) fail("bad IP checksum in the reply");
  const uint32_t total = load_be16(ip + 2);
  if (tcp) {
    if (r.ip_proto != kProtoTcp || !(r.tcp_flags & 0x04)) fail("a TCP packet answered without a RST");
    if (r.src_port != orig_dport || r.dst_port != orig_sport) fail("RST ports not swapped");
    uint8_t pseudo[12];
    std::memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = kProtoTcp;
    store_be16(pseudo + 10, static_cast<uint16_t>(total - 20));
    if (csum_fold(csum_partial(ip + 20, total - 20, csum_partial(pseudo, 12))) != 0xffff) fail("bad TCP checksum in the RST");
  } else {
    if (r.ip_proto != kProtoIcmp || r.src_port != 3 || r.dst_port != 13) fail("not an ICMP unreachable (3/13)");
    if (!csum_ok(ip + 20, total - 20)) fail("bad ICMP checksum in the unreachable");
  }
  return 0;
}
