// Fuzz target: ERSPAN (type II and III) and VXLAN encapsulation of mirror copies
// (mirror/encap.cpp) on odd frames: empty, runts, jumbo (cut to the tunnel MTU), VLAN-
// tagged, chained mbufs, too little headroom, any tool settings the config reader
// accepts and any tap metadata.
//
// Input (FuzzedDataProvider): tool, metadata, headroom, tailroom, an optional cut into two
// segments, then the frame.
//
// Checked besides memory safety: it succeeds exactly when the headroom holds the outer
// headers (and a chain needs no cut); then the result is one outer IPv4 packet of at most
// 1500 bytes with a valid header checksum, GRE/ERSPAN or UDP/VXLAN headers as configured
// (ERSPAN's T bit iff the copy was cut), and the original frame's first bytes behind them.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "mirror/encap.hpp"
#include "packet/checksum.hpp"
#include "packet/headers.hpp"
#include "packet/parse.hpp"
#include "support/fuzz_eal.hpp"

using namespace ivs;
using namespace ivs::packet;

namespace {
constexpr size_t kMaxFrame = 9216;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "encap_fuzz: %s\n", what);
  std::abort();
}

MacAddr mac(FuzzedDataProvider& in) {
  MacAddr m;
  for (auto& b : m.bytes) b = in.ConsumeIntegral<uint8_t>();
  return m;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  config::MirrorTool t;
  t.kind = in.ConsumeBool() ? config::MirrorTool::kVxlan : config::MirrorTool::kErspan;
  t.erspan_version = in.ConsumeBool() ? 3 : 2;             // the reader's range: 2..3
  t.session = in.ConsumeIntegralInRange<uint32_t>(0, 1023);
  t.vni = in.ConsumeIntegralInRange<uint32_t>(0, (1u << 24) - 1);
  t.udp_port = in.ConsumeIntegralInRange<uint32_t>(1, 65535);
  t.remote_ip = Ipv4Addr{in.ConsumeIntegral<uint32_t>()};
  t.local_ip = Ipv4Addr{in.ConsumeIntegral<uint32_t>()};
  t.remote_mac = mac(in);
  t.local_mac = mac(in);
  mirror::EncapMeta meta{};
  meta.orig_len = in.ConsumeIntegral<uint32_t>();
  meta.port = in.ConsumeIntegral<uint16_t>();
  meta.egress = in.ConsumeBool();
  meta.time_ns = in.ConsumeIntegral<uint64_t>();
  meta.sequence = in.ConsumeIntegral<uint32_t>();
  meta.flow_hash = in.ConsumeIntegral<uint32_t>();
  // Even: mbuf data starts 2-byte aligned (a pool's headroom is 128, tunnel headers are even),
  // and the Ethernet header is read as a 2-aligned struct.
  const uint16_t headroom = in.ConsumeIntegralInRange<uint16_t>(0, RTE_PKTMBUF_HEADROOM / 2) * 2;
  const uint16_t tailroom = in.ConsumeIntegralInRange<uint16_t>(0, 64);
  const bool chained = in.ConsumeBool();
  const uint32_t cut = in.ConsumeIntegral<uint16_t>();
  const std::vector<uint8_t> frame = in.ConsumeRemainingBytes<uint8_t>();
  if (frame.size() > kMaxFrame) return -1;

  const std::vector<uint32_t> cuts = chained ? std::vector<uint32_t>{cut} : std::vector<uint32_t>{};
  fuzz::HeapMbuf hm(frame, cuts, headroom, tailroom);
  rte_mbuf* m = hm.get();
  const uint32_t overhead = mirror::encap_overhead(t);
  const uint32_t max_inner = mirror::kTunnelIpMtu + 14 - overhead;
  const bool multi = m->nb_segs > 1;
  const bool should = headroom >= overhead && !(multi && frame.size() > max_inner);
  const bool ok = mirror::encapsulate(m, t, meta);
  if (ok != should) fail(ok ? "encapsulated without room for it" : "refused a copy it had room for");
  if (!ok) return 0;

  const uint32_t inner_len = std::min<uint32_t>(static_cast<uint32_t>(frame.size()), max_inner);
  const bool truncated = frame.size() > max_inner || meta.orig_len > frame.size();
  if (m->pkt_len != overhead + inner_len) fail("wrong length after encapsulation");
  const std::vector<uint8_t> out = hm.bytes();
  if (!std::equal(frame.begin(), frame.begin() + inner_len, out.begin() + overhead)) fail("the inner frame changed");
  ParsedPacket pp;
  if (parse(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, m->pkt_len, pp)) fail("the outer packet does not parse");
  const uint8_t* ip = out.data() + 14;
  const uint32_t total = load_be16(ip + 2);
  if (pp.ethertype != kEtherTypeIpv4 || total != m->pkt_len - 14 || total > mirror::kTunnelIpMtu) fail("bad outer IPv4 length");
  if (!csum_ok(ip, 20)) fail("bad outer IPv4 checksum");
  if (pp.src_ip != t.local_ip.value || pp.dst_ip != t.remote_ip.value) fail("outer addresses are not the tool's");
  const uint8_t* l4 = ip + 20;
  if (t.kind == config::MirrorTool::kVxlan) {
    if (pp.ip_proto != kProtoUdp || pp.dst_port != t.udp_port || load_be16(l4 + 4) != total - 20) fail("bad VXLAN UDP header");
    if (load_be32(l4 + 8) != 0x08000000u || load_be32(l4 + 12) != t.vni << 8) fail("bad VXLAN header");
  } else {
    if (pp.ip_proto != 47) fail("ERSPAN not in GRE");
    if (load_be16(l4 + 2) != (t.erspan_version == 3 ? 0x22EB : 0x88BE)) fail("wrong GRE protocol for the ERSPAN type");
    if (load_be32(l4 + 4) != meta.sequence) fail("GRE sequence is not the tool's");
    const uint16_t w = load_be16(l4 + 10);
    if ((w & 0x3ff) != t.session) fail("wrong ERSPAN session");
    if (((w >> 10) & 1) != truncated) fail("ERSPAN T bit does not say whether the copy was cut");
  }
  return 0;
}
