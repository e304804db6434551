#include "packet/pcap_filter.hpp"

#include <fmt/format.h>
#include <pcap/pcap.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include <cctype>
#include <string_view>

namespace ivs::packet {

std::optional<std::string> filter_cost_error(const std::string& expr) {
  if (expr.size() > kMaxFilterBytes)
    return fmt::format("the expression has {} bytes; at most {} are accepted", expr.size(), kMaxFilterBytes);
  // Terms: one more than the boolean operators (words and/or/not, symbols && || !).
  size_t ops = 0;
  for (size_t i = 0; i < expr.size(); ++i) {
    const char c = expr[i];
    if (c == '!' && (i + 1 >= expr.size() || expr[i + 1] != '=')) ++ops;
    else if ((c == '&' || c == '|') && i + 1 < expr.size() && expr[i + 1] == c) ++ops, ++i;
    else if (std::isalpha(static_cast<unsigned char>(c)) && (i == 0 || !std::isalnum(static_cast<unsigned char>(expr[i - 1])))) {
      size_t j = i;
      while (j < expr.size() && std::isalnum(static_cast<unsigned char>(expr[j]))) ++j;
      const std::string_view w(expr.data() + i, j - i);
      if (w == "and" || w == "or" || w == "not") ++ops;
      i = j - 1;
    }
  }
  if (ops + 1 > kMaxFilterTerms)
    return fmt::format("the expression has {} terms; at most {} are accepted (libpcap's compile time grows much faster than the terms)",
                       ops + 1, kMaxFilterTerms);
  return std::nullopt;
}

std::expected<std::unique_ptr<PacketFilter>, std::string> PacketFilter::compile(const std::string& expr) {
  std::unique_ptr<PacketFilter> f(new PacketFilter());
  f->expr_ = expr;
  // The same bounds as the config check: never hand libpcap an expression that could hold
  // the control thread for minutes.
  if (auto why = filter_cost_error(expr)) return std::unexpected(fmt::format("filter: {}", *why));
  pcap_t* p = pcap_open_dead(DLT_EN10MB, 65535);
  if (!p) return std::unexpected("libpcap: cannot open a dead handle");
  bpf_program prog{};
  if (pcap_compile(p, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    std::string err = pcap_geterr(p);
    pcap_close(p);
    return std::unexpected(fmt::format("filter '{}': {}", expr, err));
  }
  f->analysis_ = analyze_filter(prog.bf_insns, prog.bf_len);
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

}  // namespace ivs::packet
