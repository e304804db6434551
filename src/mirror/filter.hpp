#pragma once
// A pcap-filter expression (the tcpdump language) compiled by libpcap into classic BPF,
// converted by DPDK (rte_bpf_convert) and loaded as eBPF, JIT-compiled where DPDK can
// (x86-64, arm64): the same selection tcpdump would make, run on the datapath per packet.
// Programs with the IPv4 header-length load (BPF_LDX|BPF_MSH: every `tcp[...]`, `udp[...]`,
// `icmp[...]` expression) run on libpcap's own interpreter instead: DPDK 22.11 converts
// that instruction wrongly (its interpreter gave wrong answers for `tcp[tcpflags] &
// tcp-syn != 0` and its JIT crashed; tests/unit/mirror_test.cpp compares every filter
// with libpcap's selection). Programs with a jset run on DPDK's interpreter, not its JIT,
// which crashes on them (`multicast`: filter.cpp).
#include <pcap/pcap.h>
#include <rte_bpf.h>
#include <rte_mbuf.h>

#include <expected>
#include <memory>
#include <string>
#include <vector>

namespace ivs::mirror {

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

 private:
  PacketFilter() = default;
  std::string expr_;
  rte_bpf* bpf_ = nullptr;
  uint64_t (*jit_)(void*) = nullptr;
  std::vector<bpf_insn> cbpf_;  // set: run by libpcap's bpf_filter instead
};

}  // namespace ivs::mirror
