#include "policy/classifier.hpp"

#include <fmt/format.h>
#include <rte_acl.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <atomic>
#include <algorithm>
#include <set>

namespace ivs::policy {
namespace {

// What rte_acl reads for one flow: network byte order, grouped in 4-byte words after the
// first byte (rte_acl's input layout rule).
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

}  // namespace

std::expected<std::unique_ptr<Classifier>, std::string> Classifier::compile(const config::Config& cfg, uint32_t epoch) {
  std::unique_ptr<Classifier> c(new Classifier());
  c->epoch_ = epoch;
  c->default_ = cfg.policy.default_action;
  c->qos_ = qos::QosPlan::compile(cfg);
  for (const auto& vm : cfg.vms)
    if (vm.ip)
      c->vms_by_ip_[vm.ip->value] = {static_cast<int16_t>(cfg.find_network(vm.network) - cfg.networks.data()), vm.mac};
  for (const auto& ch : cfg.chains) {
    auto port_index = [&](const std::string& name) { return static_cast<uint16_t>(cfg.find_port(name) - cfg.ports.data()); };
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

  // rte_acl: one trie for all rules; a rule expands into src x dst x sport x dport rows.
  // Priority decreases with rule order (first match wins); userdata = rule index + 1.
  static std::atomic<unsigned> seq{0};
  const std::string name = fmt::format("ivs_acl{}", seq++);
  size_t total = 0;
  for (const auto& r : c->rules_) {
    const size_t ns = r.src_any ? 1 : r.src.size(), nd = r.dst_any ? 1 : r.dst.size();
    total += ns * nd * std::max<size_t>(1, r.src_ports.size()) * std::max<size_t>(1, r.dst_ports.size());
  }
  rte_acl_param param{};
  param.name = name.c_str();
  param.socket_id = static_cast<int>(rte_socket_id());
  param.rule_size = RTE_ACL_RULE_SZ(kFields);
  param.max_rule_num = static_cast<uint32_t>(std::max<size_t>(total, 1));
  c->acl_ = rte_acl_create(&param);
  if (!c->acl_) return std::unexpected(fmt::format("policy: cannot create the classifier: {}", rte_strerror(rte_errno)));
  std::vector<AclRule> rows;
  rows.reserve(total);
  for (size_t i = 0; i < c->rules_.size(); ++i) {
    auto& r = c->rules_[i];
    const std::vector<Ipv4Prefix> any{Ipv4Prefix{}};
    const std::vector<PortRange> all{PortRange{}};
    for (const auto& s : r.src_any ? any : r.src)
      for (const auto& d : r.dst_any ? any : r.dst)
        for (const auto& sp : r.src_ports.empty() ? all : r.src_ports)
          for (const auto& dp : r.dst_ports.empty() ? all : r.dst_ports) {
            AclRule a{};
            a.data.category_mask = 1;
            a.data.priority = static_cast<int32_t>(RTE_ACL_MAX_PRIORITY - i);
            a.data.userdata = static_cast<uint32_t>(i + 1);
            a.field[kFProto].value.u8 = r.proto;
            a.field[kFProto].mask_range.u8 = r.proto ? 0xff : 0;
            a.field[kFSrc].value.u32 = s.addr.value;
            a.field[kFSrc].mask_range.u32 = s.len;
            a.field[kFDst].value.u32 = d.addr.value;
            a.field[kFDst].mask_range.u32 = d.len;
            a.field[kFSport].value.u16 = sp.lo;
            a.field[kFSport].mask_range.u16 = sp.hi;
            a.field[kFDport].value.u16 = dp.lo;
            a.field[kFDport].mask_range.u16 = dp.hi;
            a.field[kFNet].value.u32 = r.network < 0 ? 0 : static_cast<uint32_t>(r.network + 1);
            a.field[kFNet].mask_range.u32 = r.network < 0 ? UINT32_MAX : static_cast<uint32_t>(r.network + 1);
            rows.push_back(a);
            ++r.acl_rules;
          }
  }
  c->acl_count_ = rows.size();
  if (!rows.empty()) {
    if (rte_acl_add_rules(c->acl_, reinterpret_cast<const rte_acl_rule*>(rows.data()), static_cast<uint32_t>(rows.size())) != 0)
      return std::unexpected("policy: cannot add the rules to the classifier");
    rte_acl_config cfg_acl = acl_config();
    if (int rc = rte_acl_build(c->acl_, &cfg_acl); rc != 0)
      return std::unexpected(fmt::format("policy: cannot build the classifier ({} rows): {}", rows.size(), rte_strerror(-rc)));
  }
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
}

Verdict Classifier::classify(const FlowTuple& t) const {
  if (t.ipv6) return classify_reference(t);
  if (acl_count_ == 0) return Verdict{default_, -1};
  AclInput in{};
  in.proto = t.proto;
  in.src = __builtin_bswap32(t.src_ip);
  in.dst = __builtin_bswap32(t.dst_ip);
  in.sport = __builtin_bswap16(t.src_port);
  in.dport = __builtin_bswap16(t.dst_port);
  in.network = __builtin_bswap32(static_cast<uint32_t>(t.network + 1));
  const uint8_t* data[1] = {reinterpret_cast<const uint8_t*>(&in)};
  uint32_t result = 0;
  rte_acl_classify(acl_, data, &result, 1, 1);
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
