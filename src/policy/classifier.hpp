#pragma once
// The policy compiled from the configuration: ordered rules, first match wins, default
// action otherwise. Two evaluators over the same rules:
//  - classify(): DPDK rte_acl, two multi-bit tries built once per policy, one per IP
//    family (a rule has rows in each family its endpoints can match, policy/match.hpp);
//  - classify_reference(): a plain linear scan, the definition of what a rule means. It
//    is the oracle of the differential tests (IPv4 and IPv6).
// Immutable after compile(); used only by the policy (slow path) thread and by trace.
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/net_types.hpp"
#include "config/model.hpp"
#include "policy/match.hpp"
#include "qos/qos_plan.hpp"

struct rte_acl_ctx;

namespace ivs::policy {

using config::PolicyAction;

struct Verdict {
  PolicyAction action = PolicyAction::kAllow;
  int32_t rule = -1;   // index into rules(); -1 = the default action
  int16_t chain = -1;  // action inspect: index into chains()
  bool operator==(const Verdict&) const = default;
};

// A chain with its ports resolved to port indices.
struct CompiledChain {
  std::string name;
  uint16_t out_port = 0, return_port = 0;
  int16_t out_net = -1, return_net = -1;  // the ports' access networks (-1: trunk)
  uint32_t inspect_packets = 1;  // 0 = until the TCP handshake completes
  uint32_t verify_timeout_ms = 2000;
  bool fail_open = false;
  bool operator==(const CompiledChain&) const = default;
};

struct CompiledRule : CompiledMatch {
  std::string name;
  PolicyAction action;
  bool persist;
  int16_t chain = -1;                    // action inspect: index into chains()
  size_t acl_rules = 0;                  // how many rte_acl rows it expanded into: IPv4 trie
  size_t acl_rules6 = 0;                 // ... and IPv6 trie (0: the rule never matches IPv6)
};

class Classifier {
 public:
  // Resolves groups/VMs/CIDRs and builds the rte_acl tries. Errors: rte_acl failures.
  // `port_slot`: a port's slot in the port table (its index in the forwarding tables),
  // which the chains' ports are resolved to; nullptr: the ports in config order (the
  // tests' tables, made from the config, and the start's).
  using PortSlotOf = std::function<int(const std::string& port)>;
  static std::expected<std::unique_ptr<Classifier>, std::string> compile(const config::Config& cfg, uint32_t epoch,
                                                                         const PortSlotOf& port_slot = nullptr);
  ~Classifier();

  Verdict classify(const FlowTuple& t) const;
  Verdict classify_reference(const FlowTuple& t) const;

  uint32_t epoch() const { return epoch_; }
  PolicyAction default_action() const { return default_; }
  const std::vector<CompiledRule>& rules() const { return rules_; }
  const std::vector<CompiledChain>& chains() const { return chains_; }
  // The QoS assignments of this epoch: decided per flow with the verdict, revalidated
  // with it on a reload (one epoch over verdicts and DSCP decisions).
  const qos::QosPlan& qos() const { return qos_; }
  // The name `ivctl trace` shows (the policy's namer, pipeline/trace_event.hpp): a rule
  // or chain only of this epoch (`epoch`: the record's; under another its index may mean
  // another now), a QoS assignment whatever the epoch (its decision lives in flow entries
  // across epochs: named from this snapshot). nullopt: not known here.
  std::optional<std::string> trace_name(std::string_view kind, int64_t index, uint32_t epoch) const;
  // A configured VM by IPv4 address (host order): its network index and MAC. Lets a
  // fail-open chain whose device is down route the flow itself.
  struct VmEndpoint {
    int16_t network;
    MacAddr mac;
  };
  const VmEndpoint* vm_at(uint32_t ip) const {
    auto it = vms_by_ip_.find(ip);
    return it == vms_by_ip_.end() ? nullptr : &it->second;
  }
  size_t acl_rule_count() const { return acl_count_ + acl6_count_; }  // rows of both tries
  size_t acl6_rule_count() const { return acl6_count_; }

 private:
  Classifier() = default;
  std::vector<CompiledRule> rules_;
  std::vector<CompiledChain> chains_;
  qos::QosPlan qos_;
  std::unordered_map<uint32_t, VmEndpoint> vms_by_ip_;
  PolicyAction default_ = PolicyAction::kAllow;
  uint32_t epoch_ = 0;
  rte_acl_ctx* acl_ = nullptr;   // IPv4 rows; nullptr when there are none
  rte_acl_ctx* acl6_ = nullptr;  // IPv6 rows; nullptr when there are none
  size_t acl_count_ = 0, acl6_count_ = 0;
};

}  // namespace ivs::policy
