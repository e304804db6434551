#include "mirror/filter.hpp"

#include <fmt/format.h>
#include <pcap/pcap.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "config/mirror_reader.hpp"

namespace ivs::mirror {

std::expected<std::unique_ptr<PacketFilter>, std::string> PacketFilter::compile(const std::string& expr) {
  std::unique_ptr<PacketFilter> f(new PacketFilter());
  f->expr_ = expr;
  // The same bounds as the config check: never hand libpcap an expression that could hold
  // the control thread for minutes.
  if (auto why = config::filter_cost_error(expr)) return std::unexpected(fmt::format("filter: {}", *why));
  pcap_t* p = pcap_open_dead(DLT_EN10MB, 65535);
  if (!p) return std::unexpected("libpcap: cannot open a dead handle");
  bpf_program prog{};
  if (pcap_compile(p, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    std::string err = pcap_geterr(p);
    pcap_close(p);
    return std::unexpected(fmt::format("filter '{}': {}", expr, err));
  }
  for (u_int i = 0; i < prog.bf_len; ++i)
    if (prog.bf_insns[i].code == (BPF_LDX | BPF_MSH | BPF_B)) {
      f->cbpf_.assign(prog.bf_insns, prog.bf_insns + prog.bf_len);
      pcap_freecode(&prog);
      pcap_close(p);
      return f;
    }
  // DPDK 22.11's x86 JIT crashes (SEGV in the generated code, on any packet) on programs
  // with a jset, e.g. `multicast`, `ether[0] & 1 = 0`; its interpreter runs them right.
  // Found by tests/fuzz/filter_fuzz.cpp, reproduced with DPDK and libpcap alone.
  bool has_jset = false;
  for (u_int i = 0; i < prog.bf_len; ++i)
    has_jset |= BPF_CLASS(prog.bf_insns[i].code) == BPF_JMP && BPF_OP(prog.bf_insns[i].code) == BPF_JSET;
  rte_bpf_prm* prm = rte_bpf_convert(&prog);
  pcap_freecode(&prog);
  pcap_close(p);
  if (!prm) return std::unexpected(fmt::format("filter '{}': DPDK cannot convert it ({})", expr, rte_strerror(rte_errno)));
  f->bpf_ = rte_bpf_load(prm);
  rte_free(prm);
  if (!f->bpf_) return std::unexpected(fmt::format("filter '{}': DPDK cannot load it ({})", expr, rte_strerror(rte_errno)));
  rte_bpf_jit jit{};
  if (!has_jset && rte_bpf_get_jit(f->bpf_, &jit) == 0 && jit.func) f->jit_ = jit.func;
  return f;
}

PacketFilter::~PacketFilter() {
  if (bpf_) rte_bpf_destroy(bpf_);
}

}  // namespace ivs::mirror
