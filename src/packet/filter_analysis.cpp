#include "packet/filter_analysis.hpp"

#include <fmt/format.h>

#include <array>
#include <optional>
#include <vector>

namespace ivs::packet {

namespace {

// Where the IPv4 header starts, and what the layout's condition fixes, per layout.
struct Layout {
  unsigned ip;        // offset of the IPv4 header
  unsigned min_len;   // bytes the condition guarantees (through the ports)
  bool tagged;
};
Layout layout_of(FrameLayout l) {
  return l == FrameLayout::kTagged ? Layout{18, 42, true} : Layout{14, 38, false};
}

// What a byte of a frame that satisfies the layout's condition is.
enum class Byte : uint8_t { kKnown, kKey, kFrag, kVaries };
struct ByteClass {
  Byte what;
  uint8_t value = 0;  // kKnown
};
ByteClass classify(const Layout& L, uint32_t off) {
  if (off < 12) return {Byte::kVaries};                     // MACs
  if (off == 12) return {Byte::kKnown, static_cast<uint8_t>(L.tagged ? 0x81 : 0x08)};
  if (off == 13) return {Byte::kKnown, 0x00};
  if (L.tagged && off < 16) return {Byte::kKey};            // the TCI: in the verdict's key
  if (L.tagged && off == 16) return {Byte::kKnown, 0x08};
  if (L.tagged && off == 17) return {Byte::kKnown, 0x00};
  if (off >= L.min_len) return {Byte::kVaries};
  const uint32_t r = off - L.ip;                            // within the IPv4 header and ports
  if (r == 0) return {Byte::kKnown, 0x45};
  if (r == 6 || r == 7) return {Byte::kFrag};
  if (r == 9 || r >= 12) return {Byte::kKey};               // protocol, addresses, ports
  return {Byte::kVaries};                                   // TOS, length, id, TTL, checksum
}

// A reason a value varies: a byte offset read, or one of these.
enum : int32_t { kWhyLength = -1, kWhyIndirect = -2, kWhyDivZero = -3, kWhyFragUse = -4, kWhyUnknown = -5 };

std::string describe(const Layout& L, int32_t why) {
  switch (why) {
    case kWhyLength: return "reads the packet length";
    case kWhyIndirect: return "loads at an offset it cannot prove constant";
    case kWhyDivZero: return "divides by zero";
    case kWhyFragUse: return "reads the IP flags/fragment offset";
    case kWhyUnknown: return "an instruction the analysis does not know";
    default: break;
  }
  const uint32_t off = static_cast<uint32_t>(why);
  if (off < 6) return "reads the destination MAC";
  if (off < 12) return "reads the source MAC";
  if (off >= L.min_len) return fmt::format("reads byte {}, past the ports (other transport fields, TCP flags, payload)", off);
  switch (off - L.ip) {
    case 1: return "reads the TOS/DSCP (the QoS guard rewrites it)";
    case 2: case 3: return "reads the IP total length";
    case 4: case 5: return "reads the IP id";
    case 6: case 7: return "reads the IP flags/fragment offset";
    case 8: return "reads the TTL";
    case 10: case 11: return "reads the IP header checksum";
    default: return fmt::format("reads byte {}", off);
  }
}

struct Val {
  enum Kind : uint8_t { kConst, kFlow, kFrag, kVaries } kind = kConst;
  uint32_t v = 0;      // kConst
  int32_t why = 0;     // kVaries
  static Val known(uint32_t x) { return {kConst, x, 0}; }
  static Val varies(int32_t w) { return {kVaries, 0, w}; }
  bool operator==(const Val&) const = default;
};

Val join(const Val& a, const Val& b) {
  if (a == b) return a;
  if (a.kind == Val::kVaries) return a;
  if (b.kind == Val::kVaries) return b;
  if (a.kind == Val::kFrag || b.kind == Val::kFrag) return Val::varies(kWhyFragUse);
  return {Val::kFlow, 0, 0};  // two constants, or a constant and a flow constant
}
// What an operation on a and b gives, when it is not computed (not both known).
Val combine(const Val& a, const Val& b) {
  if (a.kind == Val::kVaries) return a;
  if (b.kind == Val::kVaries) return b;
  if (a.kind == Val::kFrag || b.kind == Val::kFrag) return Val::varies(kWhyFragUse);
  return {Val::kFlow, 0, 0};
}

struct State {
  Val a, x;
  std::array<Val, BPF_MEMWORDS> m{};
};
State join(const State& s, const State& t) {
  State r;
  r.a = join(s.a, t.a);
  r.x = join(s.x, t.x);
  for (size_t i = 0; i < r.m.size(); ++i) r.m[i] = join(s.m[i], t.m[i]);
  return r;
}

Val load(const Layout& L, uint64_t off, unsigned size) {
  if (off + size > 0xffff) return Val::varies(kWhyIndirect);
  const bool frag_half = size == 2 && off == L.ip + 6;
  uint32_t v = 0;
  bool all_known = true;
  for (unsigned i = 0; i < size; ++i) {
    const ByteClass c = classify(L, static_cast<uint32_t>(off + i));
    switch (c.what) {
      case Byte::kVaries: return Val::varies(static_cast<int32_t>(off + i));
      case Byte::kFrag:
        if (!frag_half) return Val::varies(kWhyFragUse);
        all_known = false;
        break;
      case Byte::kKey: all_known = false; break;
      case Byte::kKnown: v = v << 8 | c.value; break;
    }
  }
  if (frag_half) return {Val::kFrag, 0, 0};
  return all_known ? Val::known(v) : Val{Val::kFlow, 0, 0};
}

std::optional<uint32_t> alu(uint16_t op, uint32_t a, uint32_t b) {
  switch (op) {
    case BPF_ADD: return a + b;
    case BPF_SUB: return a - b;
    case BPF_MUL: return a * b;
    case BPF_DIV: if (!b) return std::nullopt; return a / b;
    case BPF_MOD: if (!b) return std::nullopt; return a % b;
    case BPF_AND: return a & b;
    case BPF_OR: return a | b;
    case BPF_XOR: return a ^ b;
    case BPF_LSH: return b < 32 ? a << b : 0;
    case BPF_RSH: return b < 32 ? a >> b : 0;
    case BPF_NEG: return 0u - a;
    default: return std::nullopt;
  }
}

}  // namespace

LayoutVerdict analyze_filter(const bpf_insn* insns, unsigned n, FrameLayout layout) {
  const Layout L = layout_of(layout);
  auto fail = [&](int32_t why) { return LayoutVerdict{false, describe(L, why)}; };
  if (n == 0) return fail(kWhyUnknown);
  std::vector<std::optional<State>> at(n);
  at[0] = State{};
  auto flow_to = [&](uint64_t target, const State& s) -> bool {
    if (target >= n) return false;
    at[target] = at[target] ? join(*at[target], s) : s;
    return true;
  };
  for (unsigned pc = 0; pc < n; ++pc) {
    if (!at[pc]) continue;  // unreachable under the condition
    State s = *at[pc];
    const bpf_insn& in = insns[pc];
    const uint16_t cls = BPF_CLASS(in.code);
    bool falls_through = true;
    switch (cls) {
      case BPF_LD:
      case BPF_LDX: {
        Val v;
        const unsigned size = BPF_SIZE(in.code) == BPF_W ? 4 : BPF_SIZE(in.code) == BPF_H ? 2 : 1;
        switch (BPF_MODE(in.code)) {
          case BPF_IMM: v = Val::known(in.k); break;
          case BPF_MEM:
            if (in.k >= BPF_MEMWORDS) return fail(kWhyUnknown);
            v = s.m[in.k];
            break;
          case BPF_LEN: v = Val::varies(kWhyLength); break;
          case BPF_ABS:
            if (cls != BPF_LD) return fail(kWhyUnknown);
            v = load(L, in.k, size);
            break;
          case BPF_IND:
            if (cls != BPF_LD) return fail(kWhyUnknown);
            if (s.x.kind == Val::kConst) v = load(L, uint64_t{s.x.v} + in.k, size);
            else v = s.x.kind == Val::kVaries ? s.x : Val::varies(kWhyIndirect);
            break;
          case BPF_MSH: {  // ldxb 4*([k]&0xf): the IPv4 header length
            if (cls != BPF_LDX) return fail(kWhyUnknown);
            const Val b = load(L, in.k, 1);
            v = b.kind == Val::kConst ? Val::known(4 * (b.v & 0xf)) : b;
            break;
          }
          default: return fail(kWhyUnknown);
        }
        (cls == BPF_LD ? s.a : s.x) = v;
        break;
      }
      case BPF_ST:
      case BPF_STX:
        if (in.k >= BPF_MEMWORDS) return fail(kWhyUnknown);
        s.m[in.k] = cls == BPF_ST ? s.a : s.x;
        break;
      case BPF_ALU: {
        const uint16_t op = BPF_OP(in.code);
        const Val b = BPF_SRC(in.code) == BPF_X ? s.x : Val::known(in.k);
        if (op == BPF_NEG) {
          if (s.a.kind == Val::kConst) s.a = Val::known(0u - s.a.v);
          else s.a = combine(s.a, s.a);
          break;
        }
        if (s.a.kind == Val::kConst && b.kind == Val::kConst) {
          const auto r = alu(op, s.a.v, b.v);
          if (!r) return fail(op == BPF_DIV || op == BPF_MOD ? kWhyDivZero : kWhyUnknown);
          s.a = Val::known(*r);
        } else {
          if (!alu(op, 1, 1)) return fail(kWhyUnknown);
          s.a = combine(s.a, b);
        }
        break;
      }
      case BPF_JMP: {
        falls_through = false;
        const uint16_t op = BPF_OP(in.code);
        const uint64_t next = uint64_t{pc} + 1;
        if (op == BPF_JA) {
          if (!flow_to(next + in.k, s)) return fail(kWhyUnknown);
          break;
        }
        const uint64_t jt = next + in.jt, jf = next + in.jf;
        const Val b = BPF_SRC(in.code) == BPF_X ? s.x : Val::known(in.k);
        // libpcap's guard before a transport header (`ldh [ip+6]; jset #0x1fff`, the false
        // branch going on to `ldxb 4*([ip]&0xf)`): decided false, the condition admits no
        // fragment.
        if (s.a.kind == Val::kFrag && op == BPF_JSET && BPF_SRC(in.code) == BPF_K && in.k == 0x1fff && jf < n &&
            insns[jf].code == (BPF_LDX | BPF_MSH | BPF_B) && insns[jf].k == L.ip) {
          if (!flow_to(jf, s)) return fail(kWhyUnknown);
          break;
        }
        if (s.a.kind == Val::kVaries || s.a.kind == Val::kFrag) return fail(s.a.kind == Val::kFrag ? kWhyFragUse : s.a.why);
        if (b.kind == Val::kVaries || b.kind == Val::kFrag) return fail(b.kind == Val::kFrag ? kWhyFragUse : b.why);
        if (op != BPF_JEQ && op != BPF_JGT && op != BPF_JGE && op != BPF_JSET) return fail(kWhyUnknown);
        if (s.a.kind == Val::kConst && b.kind == Val::kConst) {
          const uint32_t x = s.a.v, y = b.v;
          const bool taken = op == BPF_JEQ ? x == y : op == BPF_JGT ? x > y : op == BPF_JGE ? x >= y : (x & y) != 0;
          if (!flow_to(taken ? jt : jf, s)) return fail(kWhyUnknown);
        } else if (!flow_to(jt, s) || !flow_to(jf, s)) {
          return fail(kWhyUnknown);
        }
        break;
      }
      case BPF_RET: {
        falls_through = false;
        const uint16_t src = BPF_RVAL(in.code);
        if (src == BPF_K) break;
        const Val& v = src == BPF_A ? s.a : s.x;
        if (src != BPF_A && src != BPF_X) return fail(kWhyUnknown);
        if (v.kind == Val::kVaries) return fail(v.why);
        if (v.kind == Val::kFrag) return fail(kWhyFragUse);
        break;
      }
      case BPF_MISC:
        if (BPF_MISCOP(in.code) == BPF_TAX) s.x = s.a;
        else if (BPF_MISCOP(in.code) == BPF_TXA) s.a = s.x;
        else return fail(kWhyUnknown);
        break;
      default: return fail(kWhyUnknown);
    }
    if (falls_through && !flow_to(uint64_t{pc} + 1, s)) return fail(kWhyUnknown);  // ran off the end
  }
  return {true, {}};
}

FilterAnalysis analyze_filter(const bpf_insn* insns, unsigned n) {
  FilterAnalysis a;
  a.layout[static_cast<unsigned>(FrameLayout::kUntagged)] = analyze_filter(insns, n, FrameLayout::kUntagged);
  a.layout[static_cast<unsigned>(FrameLayout::kTagged)] = analyze_filter(insns, n, FrameLayout::kTagged);
  return a;
}

std::string FilterAnalysis::mode() const {
  const auto& u = of(FrameLayout::kUntagged);
  const auto& t = of(FrameLayout::kTagged);
  if (u.per_flow && t.per_flow) return "per flow";
  if (u.per_flow) return fmt::format("per flow (tagged frames per packet: {})", t.why);
  if (t.per_flow) return fmt::format("per packet: {} (tagged frames per flow)", u.why);
  return fmt::format("per packet: {}", u.why);
}

}  // namespace ivs::packet
