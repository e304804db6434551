#pragma once
// A pcap-filter expression (the tcpdump language) compiled by libpcap into classic BPF,
// converted by DPDK (rte_bpf_convert) and loaded as eBPF, JIT-compiled where DPDK can
// (x86-64, arm64): the same selection tcpdump would make, run on the datapath per packet.
// Programs with the IPv4 header-length load (BPF_LDX|BPF_MSH: every `tcp[...]`, `udp[...]`,
// `icmp[...]` expression) run on libpcap's own interpreter instead: DPDK 22.11 converts
// that instruction wrongly (its interpreter gave wrong answers for `tcp[tcpflags] &
// tcp-syn != 0` and its JIT crashed; tests/unit/mirror_test.cpp compares every filter
// with libpcap's selection). Programs with a jset run on DPDK's interpreter, not its JIT,
// which crashes on them (`multicast`: pcap_filter.cpp).
//
// Here, in the core's packet area, because the core uses it too: the selection of the
// packets a live trace takes (ivctl trace --live --filter), beside the mirrors' filters.
#include <pcap/pcap.h>
#include <rte_bpf.h>
#include <rte_mbuf.h>

#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "packet/filter_analysis.hpp"

namespace ivs::packet {

// libpcap's optimizer is far worse than linear in the number of terms (measured on this
// machine: 100 `host` terms 0.4 s, 200 terms 2.7 s, 400 terms 22 s, on the control thread),
// so an expression is bounded before libpcap sees it, and its program after (the config's
// check, config/mirror_reader.hpp, and compile() below).
inline constexpr size_t kMaxFilterBytes = 1024;
inline constexpr size_t kMaxFilterTerms = 64;       // and/or/not-joined primitives
inline constexpr unsigned kMaxFilterInsns = 4096;   // classic BPF instructions (BPF_MAXINSNS)
// nullopt when `expr` is within the bounds above (checked without compiling it).
std::optional<std::string> filter_cost_error(const std::string& expr);


class PacketFilter {
 public:
  static std::expected<std::unique_ptr<PacketFilter>, std::string> compile(const std::string& expr);
  ~PacketFilter();
  PacketFilter(const PacketFilter&) = delete;
  PacketFilter& operator=(const PacketFilter&) = delete;

  // The frame as on the wire (Ethernet first); any thread.
  bool match(rte_mbuf* m) const noexcept {
    if (!cbpf_.empty()) [[unlikely]]
      return bpf_filter(cbpf_.data(), rte_pktmbuf_mtod(m, const u_char*), m->pkt_len, m->data_len) != 0;
    return (jit_ ? jit_(m) : rte_bpf_exec(bpf_, m)) != 0;
  }
  bool jitted() const { return jit_ != nullptr; }
  bool on_libpcap() const { return !cbpf_.empty(); }
  const std::string& expression() const { return expr_; }
  // Whether its verdict may be judged once per flow, per frame layout (filter_analysis.hpp).
  const FilterAnalysis& analysis() const { return analysis_; }

 private:
  PacketFilter() = default;
  std::string expr_;
  FilterAnalysis analysis_;
  rte_bpf* bpf_ = nullptr;
  uint64_t (*jit_)(void*) = nullptr;
  std::vector<bpf_insn> cbpf_;  // set: run by libpcap's bpf_filter instead
};

}  // namespace ivs::packet
