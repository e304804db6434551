// Fuzz target: the mirror filter compiler (a pcap-filter expression from the config,
// `ivctl mirror add` or `ivctl capture --filter`) -> libpcap -> rte_bpf (JIT), and the
// compiled program run on a frame.
//
// Input: the expression, then optionally a NUL byte and a frame. Without a frame the
// program runs on a few fixed ones (TCP, UDP, ICMP, VLAN-tagged, IPv6, ARP).
//
// Checked besides memory safety: PacketFilter selects exactly what libpcap's own
// interpreter selects on the same program (the promise of packet/pcap_filter.hpp), on single-
// and two-segment mbufs.
//
// The expression is bounded (kMaxExpr): issue 14 item 5 is that libpcap's optimizer takes
// minutes on a filter of thousands of terms. Long runs (bench/fuzz_long.sh) keep the same
// bound and report slow inputs as timeouts.
#include <pcap/pcap.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "packet/pcap_filter.hpp"
#include "support/fuzz_eal.hpp"

using ivs::fuzz::HeapMbuf;

namespace {
constexpr size_t kMaxExpr = 256;
constexpr size_t kMaxFrame = 2048;

std::vector<uint8_t> hex(const char* s) {
  std::vector<uint8_t> out;
  for (; s[0] && s[1]; s += 2) out.push_back(static_cast<uint8_t>(std::stoi(std::string(s, 2), nullptr, 16)));
  return out;
}

// A few frames every expression is tried on when the input brings none.
const std::vector<std::vector<uint8_t>>& fixed_frames() {
  static const std::vector<std::vector<uint8_t>> frames = {
      // TCP SYN 10.0.1.11:40000 -> 10.0.2.13:5432
      hex("02000000000202000000000108004500002800010000400600000a00010b0a00020d9c401538000000000000000050022000000000000000"),
      // UDP 10.0.1.11:5353 -> 224.0.0.251:5353, VLAN 10
      hex("01005e0000fb0200000000018100000a080045000024000100004011000" "00a00010be00000fb14e914e90010000068656c6c6f0000"),
      // ICMP echo request, IP options (IHL 6)
      hex("0200000000020200000000010800460000240001000040010000c0a80001c0a8000201010000080000000001000100000000"),
      // IPv6 TCP ::1 -> ::2 port 22
      hex("02000000000202000000000186dd6000000000140640000000000000000000000000000000010000000000000000000000000000000"
          "2c35000160000000000000000500220000000000"),
      // ARP request
      hex("ffffffffffff020000000001080600010800060400010200000000010a00010b0000000000000a00010d"),
  };
  return frames;
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "filter_fuzz: %s\n", what.c_str());
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ivs::fuzz::eal_up();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const size_t expr_len = nul ? static_cast<size_t>(nul - data) : size;
  if (expr_len > kMaxExpr) return -1;
  const std::string expr(reinterpret_cast<const char*>(data), expr_len);
  std::vector<std::vector<uint8_t>> frames;
  if (nul) {
    if (size - expr_len - 1 > kMaxFrame) return -1;
    frames.emplace_back(nul + 1, data + size);
  } else {
    frames = fixed_frames();
  }

  auto f = ivs::packet::PacketFilter::compile(expr);
  if (!f) {  // refused, with a message: fine
    if (std::getenv("FUZZ_VERBOSE")) std::fprintf(stderr, "refused: %s\n", f.error().c_str());
    return 0;
  }
  if (std::getenv("FUZZ_VERBOSE"))
    std::fprintf(stderr, "'%s': %s\n", expr.c_str(), (*f)->on_libpcap() ? "libpcap" : (*f)->jitted() ? "rte_bpf JIT" : "rte_bpf");

  // libpcap's interpreter on the same program: the reference.
  pcap_t* p = pcap_open_dead(DLT_EN10MB, 65535);
  bpf_program prog{};
  if (pcap_compile(p, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) fail("compiles once, not twice: " + expr);
  for (const auto& frame : frames) {
    const bool want = bpf_filter(prog.bf_insns, frame.data(), static_cast<u_int>(frame.size()), static_cast<u_int>(frame.size())) != 0;
    HeapMbuf one(frame);
    if ((*f)->match(one.get()) != want)
      fail("'" + expr + "' selects differently from libpcap (" + ((*f)->on_libpcap() ? "libpcap" : (*f)->jitted() ? "rte_bpf JIT" : "rte_bpf") +
           ") on a frame of " + std::to_string(frame.size()) + " bytes");
    if (frame.size() > 20 && !(*f)->on_libpcap()) {  // the datapath's mbufs may be chains
      const std::array<uint32_t, 1> cut{static_cast<uint32_t>(frame.size() / 2)};
      HeapMbuf two(frame, cut);
      if ((*f)->match(two.get()) != want) fail("'" + expr + "' selects differently on a two-segment mbuf");
    }
  }
  pcap_freecode(&prog);
  pcap_close(p);
  return 0;
}
