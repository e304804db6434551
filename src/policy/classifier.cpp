#include "policy/classifier.hpp"

#include <fmt/format.h>
#include <rte_acl.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <set>

namespace ivs::policy {
namespace {

// What rte_acl reads for one IPv4 flow: network byte order, grouped in 4-byte words after
// the first byte (rte_acl's input layout rule).
struct AclInput {
  uint8_t proto;
  uint8_t pad[3];
  uint32_t src;
  uint32_t dst;
  uint16_t sport;
  uint16_t dport;
  uint32_t network;  // ingress network index + 1
};

enum { kFProto, kFSrc, kFDst, kFSport, kFDport, kFNet, kFields };
RTE_ACL_RULE_DEF(AclRule, kFields);

rte_acl_config acl_config() {
  rte_acl_config c{};
  c.num_categories = 1;
  c.num_fields = kFields;
  c.defs[kFProto] = {RTE_ACL_FIELD_TYPE_BITMASK, 1, kFProto, 0, offsetof(AclInput, proto)};
  c.defs[kFSrc] = {RTE_ACL_FIELD_TYPE_MASK, 4, kFSrc, 1, offsetof(AclInput, src)};
  c.defs[kFDst] = {RTE_ACL_FIELD_TYPE_MASK, 4, kFDst, 2, offsetof(AclInput, dst)};
  c.defs[kFSport] = {RTE_ACL_FIELD_TYPE_RANGE, 2, kFSport, 3, offsetof(AclInput, sport)};
  c.defs[kFDport] = {RTE_ACL_FIELD_TYPE_RANGE, 2, kFDport, 3, offsetof(AclInput, dport)};
  c.defs[kFNet] = {RTE_ACL_FIELD_TYPE_RANGE, 4, kFNet, 4, offsetof(AclInput, network)};
  return c;
}

// The same for one IPv6 flow: each address is four 32-bit fields (rte_acl's fields are at
// most 4 bytes wide), a prefix spread over them (a /64: /32, /32, /0, /0).
struct AclInput6 {
  uint8_t proto;
  uint8_t pad[3];
  uint8_t src[16];
  uint8_t dst[16];
  uint16_t sport;
  uint16_t dport;
  uint32_t network;  // ingress network index + 1
};

enum { k6Proto, k6Src, k6Dst = k6Src + 4, k6Sport = k6Dst + 4, k6Dport, k6Net, k6Fields };
RTE_ACL_RULE_DEF(AclRule6, k6Fields);

rte_acl_config acl_config6() {
  rte_acl_config c{};
  c.num_categories = 1;
  c.num_fields = k6Fields;
  c.defs[k6Proto] = {RTE_ACL_FIELD_TYPE_BITMASK, 1, k6Proto, 0, offsetof(AclInput6, proto)};
  for (uint32_t w = 0; w < 4; ++w) {
    c.defs[k6Src + w] = {RTE_ACL_FIELD_TYPE_MASK, 4, static_cast<uint8_t>(k6Src + w), static_cast<uint8_t>(1 + w),
                         static_cast<uint32_t>(offsetof(AclInput6, src) + 4 * w)};
    c.defs[k6Dst + w] = {RTE_ACL_FIELD_TYPE_MASK, 4, static_cast<uint8_t>(k6Dst + w), static_cast<uint8_t>(5 + w),
                         static_cast<uint32_t>(offsetof(AclInput6, dst) + 4 * w)};
  }
  c.defs[k6Sport] = {RTE_ACL_FIELD_TYPE_RANGE, 2, k6Sport, 9, offsetof(AclInput6, sport)};
  c.defs[k6Dport] = {RTE_ACL_FIELD_TYPE_RANGE, 2, k6Dport, 9, offsetof(AclInput6, dport)};
  c.defs[k6Net] = {RTE_ACL_FIELD_TYPE_RANGE, 4, k6Net, 10, offsetof(AclInput6, network)};
  return c;
}

// An IPv6 prefix into the four 32-bit MASK fields starting at `f`: values in host order
// (rte_acl's rule convention), each word's prefix length the part of `len` it covers.
template <typename Row>
void set_prefix6(Row& row, int f, const IpPrefix& p) {
  for (int w = 0; w < 4; ++w) {
    const int bits = std::clamp(static_cast<int>(p.len) - 32 * w, 0, 32);
    uint32_t be;
    std::memcpy(&be, p.bytes.data() + 4 * w, 4);
    row.field[f + w].value.u32 = __builtin_bswap32(be);
    row.field[f + w].mask_range.u32 = static_cast<uint32_t>(bits);
  }
}

// The fields a row of either family shares: protocol, ports, network, priority.
template <typename Row>
void set_common(Row& a, const CompiledRule& r, size_t i, int f_proto, int f_sport, int f_dport, int f_net, const PortRange& sp,
                const PortRange& dp) {
  a.data.category_mask = 1;
  a.data.priority = static_cast<int32_t>(RTE_ACL_MAX_PRIORITY - i);
  a.data.userdata = static_cast<uint32_t>(i + 1);
  a.field[f_proto].value.u8 = r.proto;
  a.field[f_proto].mask_range.u8 = r.proto ? 0xff : 0;
  a.field[f_sport].value.u16 = sp.lo;
  a.field[f_sport].mask_range.u16 = sp.hi;
  a.field[f_dport].value.u16 = dp.lo;
  a.field[f_dport].mask_range.u16 = dp.hi;
  a.field[f_net].value.u32 = r.network < 0 ? 0 : static_cast<uint32_t>(r.network + 1);
  a.field[f_net].mask_range.u32 = r.network < 0 ? UINT32_MAX : static_cast<uint32_t>(r.network + 1);
}

// Creates and builds one trie of `rows` (none: nullptr, every flow of that family gets
// the default action).
template <typename Row>
std::expected<rte_acl_ctx*, std::string> build_trie(const std::vector<Row>& rows, const char* family, rte_acl_config cfg,
                                                    uint32_t fields) {
  if (rows.empty()) return nullptr;
  static std::atomic<unsigned> seq{0};
  const std::string name = fmt::format("ivs_acl_{}_{}", family, seq++);
  rte_acl_param param{};
  param.name = name.c_str();
  param.socket_id = static_cast<int>(rte_socket_id());
  param.rule_size = RTE_ACL_RULE_SZ(fields);
  param.max_rule_num = static_cast<uint32_t>(rows.size());
  rte_acl_ctx* ctx = rte_acl_create(&param);
  if (!ctx) return std::unexpected(fmt::format("policy: cannot create the {} classifier: {}", family, rte_strerror(rte_errno)));
  if (rte_acl_add_rules(ctx, reinterpret_cast<const rte_acl_rule*>(rows.data()), static_cast<uint32_t>(rows.size())) != 0) {
    rte_acl_free(ctx);
    return std::unexpected(fmt::format("policy: cannot add the rules to the {} classifier", family));
  }
  if (int rc = rte_acl_build(ctx, &cfg); rc != 0) {
    rte_acl_free(ctx);
    return std::unexpected(fmt::format("policy: cannot build the {} classifier ({} rows): {}", family, rows.size(), rte_strerror(-rc)));
  }
  return ctx;
}

}  // namespace

std::expected<std::unique_ptr<Classifier>, std::string> Classifier::compile(const config::Config& cfg, uint32_t epoch,
                                                                           const PortSlotOf& port_slot) {
  std::unique_ptr<Classifier> c(new Classifier());
  c->epoch_ = epoch;
  c->default_ = cfg.policy.default_action;
  c->qos_ = qos::QosPlan::compile(cfg);
  for (const auto& vm : cfg.vms)
    if (vm.ip)
      c->vms_by_ip_[vm.ip->value] = {static_cast<int16_t>(cfg.find_network(vm.network) - cfg.networks.data()), vm.mac};
  for (const auto& ch : cfg.chains) {
    auto port_index = [&](const std::string& name) {
      return static_cast<uint16_t>(port_slot ? port_slot(name) : cfg.find_port(name) - cfg.ports.data());
    };
    auto access_net = [&](const std::string& port) {
      const auto* p = cfg.find_port(port);
      const auto* n = p->access_network.empty() ? nullptr : cfg.find_network(p->access_network);
      return static_cast<int16_t>(n ? n - cfg.networks.data() : -1);
    };
    c->chains_.push_back({ch.name, port_index(ch.out_port), port_index(ch.return_port), access_net(ch.out_port),
                          access_net(ch.return_port), ch.inspect_packets, ch.verify_timeout_ms, ch.fail_open});
  }
  for (const auto& r : cfg.policy.rules) {
    CompiledRule cr{CompiledMatch::compile(cfg, r), r.name, r.action, r.persist, -1, 0};
    if (r.action == PolicyAction::kInspect) cr.chain = static_cast<int16_t>(cfg.find_chain(r.chain));
    c->rules_.push_back(std::move(cr));
  }

  // rte_acl: one trie per family for all rules; a rule expands into src x dst x sport x
  // dport rows in each family it can match (a side with no endpoint of a family: none).
  // Priority decreases with rule order (first match wins); userdata = rule index + 1.
  std::vector<AclRule> rows;
  std::vector<AclRule6> rows6;
  const std::vector<PortRange> all{PortRange{}};
  for (size_t i = 0; i < c->rules_.size(); ++i) {
    auto& r = c->rules_[i];
    const auto& sports = r.src_ports.empty() ? all : r.src_ports;
    const auto& dports = r.dst_ports.empty() ? all : r.dst_ports;
    // (A protocol is matched by its number in both families, as the reference does: an
    // IPv6 packet may carry protocol 1, and a rule dropping ICMP must drop it too.)
    const std::vector<Ipv4Prefix> any{Ipv4Prefix{}};
    for (const auto& s : r.src_any ? any : r.src)
      for (const auto& d : r.dst_any ? any : r.dst)
        for (const auto& sp : sports)
          for (const auto& dp : dports) {
            AclRule a{};
            set_common(a, r, i, kFProto, kFSport, kFDport, kFNet, sp, dp);
            a.field[kFSrc].value.u32 = s.addr.value;
            a.field[kFSrc].mask_range.u32 = s.len;
            a.field[kFDst].value.u32 = d.addr.value;
            a.field[kFDst].mask_range.u32 = d.len;
            rows.push_back(a);
            ++r.acl_rules;
          }
    const std::vector<IpPrefix> any6{IpPrefix{6, 0, {}}};
    for (const auto& s : r.src_any ? any6 : r.src6)
      for (const auto& d : r.dst_any ? any6 : r.dst6)
        for (const auto& sp : sports)
          for (const auto& dp : dports) {
            AclRule6 a{};
            set_common(a, r, i, k6Proto, k6Sport, k6Dport, k6Net, sp, dp);
            set_prefix6(a, k6Src, s);
            set_prefix6(a, k6Dst, d);
            rows6.push_back(a);
            ++r.acl_rules6;
          }
  }
  c->acl_count_ = rows.size();
  c->acl6_count_ = rows6.size();
  auto acl4 = build_trie(rows, "IPv4", acl_config(), kFields);
  if (!acl4) return std::unexpected(acl4.error());
  c->acl_ = *acl4;
  auto acl6 = build_trie(rows6, "IPv6", acl_config6(), k6Fields);
  if (!acl6) return std::unexpected(acl6.error());
  c->acl6_ = *acl6;
  return c;
}

std::optional<std::string> Classifier::trace_name(std::string_view kind, int64_t index, uint32_t epoch) const {
  if (index < 0) return std::nullopt;
  const auto i = static_cast<size_t>(index);
  if (kind == "rule" && epoch == epoch_ && i < rules_.size()) return rules_[i].name;
  if (kind == "chain" && epoch == epoch_ && i < chains_.size()) return chains_[i].name;
  if (kind == "assignment" && i < qos_.assignments().size()) return qos_.assignments()[i].name;
  if (kind == "policy_action" && i <= static_cast<size_t>(config::PolicyAction::kInspect))
    return std::string(config::policy_action_name(static_cast<config::PolicyAction>(i)));
  if (kind == "qos_mode" && i <= static_cast<size_t>(config::QosMode::kTrust)) return std::string(config::qos_mode_name(static_cast<config::QosMode>(i)));
  return std::nullopt;
}

Classifier::~Classifier() {
  if (acl_) rte_acl_free(acl_);
  if (acl6_) rte_acl_free(acl6_);
}

Verdict Classifier::classify(const FlowTuple& t) const {
  uint32_t result = 0;
  if (t.ipv6) {
    if (!acl6_) return Verdict{default_, -1};
    AclInput6 in{};
    in.proto = t.proto;
    std::memcpy(in.src, t.src6.data(), 16);
    std::memcpy(in.dst, t.dst6.data(), 16);
    in.sport = __builtin_bswap16(t.src_port);
    in.dport = __builtin_bswap16(t.dst_port);
    in.network = __builtin_bswap32(static_cast<uint32_t>(t.network + 1));
    const uint8_t* data[1] = {reinterpret_cast<const uint8_t*>(&in)};
    rte_acl_classify(acl6_, data, &result, 1, 1);
  } else {
    if (!acl_) return Verdict{default_, -1};
    AclInput in{};
    in.proto = t.proto;
    in.src = __builtin_bswap32(t.src_ip);
    in.dst = __builtin_bswap32(t.dst_ip);
    in.sport = __builtin_bswap16(t.src_port);
    in.dport = __builtin_bswap16(t.dst_port);
    in.network = __builtin_bswap32(static_cast<uint32_t>(t.network + 1));
    const uint8_t* data[1] = {reinterpret_cast<const uint8_t*>(&in)};
    rte_acl_classify(acl_, data, &result, 1, 1);
  }
  if (result == 0) return Verdict{default_, -1};
  const int32_t idx = static_cast<int32_t>(result - 1);
  return Verdict{rules_[static_cast<size_t>(idx)].action, idx, rules_[static_cast<size_t>(idx)].chain};
}

Verdict Classifier::classify_reference(const FlowTuple& t) const {
  for (size_t i = 0; i < rules_.size(); ++i)
    if (rules_[i].matches(t)) return Verdict{rules_[i].action, static_cast<int32_t>(i), rules_[i].chain};
  return Verdict{default_, -1};
}

}  // namespace ivs::policy
