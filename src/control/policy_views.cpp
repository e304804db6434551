// Views of flows and policy (ivctl show flows / show policy, /metrics) and the policy
// reload used by `ivctl policy reload` and SIGHUP.
#include <fmt/format.h>
#include <rte_cycles.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "config/core_specs.hpp"
#include "config/loader.hpp"
#include "config/runtime_changes.hpp"
#include "control/views.hpp"
#include "flowexport/module.hpp"
#include "policy/counter_fields.hpp"
#include "policy/module.hpp"

namespace ivs::control {

using nlohmann::json;

namespace {
std::string rule_name(const policy::Classifier& pol, int32_t rule) {
  return rule < 0 ? "(default)" : pol.rules()[static_cast<size_t>(rule)].name;
}
}  // namespace

Result<json> view_flows(const pipeline::Datapath& dp, size_t limit) {
  // What the flow records say of each direction: the flow_export module's recorder (always
  // registered; without collectors it sends nothing).
  const auto* fe = dynamic_cast<const flowexport::FlowExportModule*>(dp.module(flowexport::FlowExportModule::kName));
  if (!fe) return fail(ErrorCode::kInternal, "show flows: the flow_export module is not registered");
  const flowexport::EntryRecorder& recorder = fe->recorder();
  json flows = json::array();
  size_t total = 0;
  const uint32_t now = static_cast<uint32_t>(rte_rdtsc() / rte_get_tsc_hz());
  const auto cfg_snapshot = dp.config();  // (a reload may swap it meanwhile)
  const config::Config& cfg = *cfg_snapshot;
  const flow::IdleTimeouts timeouts = config::idle_timeouts(cfg.flows);
  policy::slow_path_of(dp).with_flows([&](const flow::FlowTable& table, const policy::Classifier& pol) {
    total = table.size();
    table.for_each([&](const flow::FlowEntry& e) {
      if (flows.size() >= limit) return;
      const int src = e.initiator, dst = 1 - e.initiator;
      const char* proto = e.key.proto == 6 ? "tcp" : e.key.proto == 17 ? "udp" : e.key.proto == 1 ? "icmp" : e.key.proto == 58 ? "icmp6" : "ip";
      flows.push_back({{"proto", proto},
                       {"protocol_number", e.key.proto},
                       {"src", flow::endpoint(e.key, src)},
                       {"dst", flow::endpoint(e.key, dst)},
                       {"network", e.network >= 0 ? cfg.networks[static_cast<size_t>(e.network)].name : "-"},
                       {"state", std::string(flow::flow_state_name(e.state.load()))},
                       // A flow kept by persist keeps an older policy's rule index: shown as
                       // a number and said to be older, never as the rule with that index now.
                       {"rule", e.rule < 0 ? "(default)" : (!e.persisted && e.epoch == pol.epoch() && static_cast<size_t>(e.rule) < pol.rules().size() ? rule_name(pol, e.rule) : fmt::format("#{}", e.rule))},
                       {"rule_of_older_policy", e.persisted && e.rule >= 0},
                       {"epoch", e.epoch},
                       {"persisted", e.persisted},
                       {"packets", {{"forward", e.packets[src].get()}, {"reverse", e.packets[dst].get()}}},
                       {"bytes", {{"forward", e.bytes[src].get()}, {"reverse", e.bytes[dst].get()}}},
                       {"tcp_flags_seen", {{"forward", e.tcp_flags[src].load()}, {"reverse", e.tcp_flags[dst].load()}}},
                       {"age_s", now - e.created_s},
                       {"idle_s", now - e.last_used_s.load()},
                       {"timeout_s", flow::idle_timeout(e, timeouts)}});
      {  // what the flow records say of each direction (flowexport::EntryRecorder::describe)
        const auto& cfg_ports = cfg.ports;
        auto port_name = [&](uint32_t i) { return i > 0 && i <= cfg_ports.size() ? json(cfg_ports[i - 1].name) : json(nullptr); };
        auto dscp = [](uint8_t v) { return v == config::kNoDscp ? json(nullptr) : json(v); };
        json dirs;
        uint8_t action = 0;
        for (const auto& [name, d] : {std::pair{"forward", src}, std::pair{"reverse", dst}}) {
          const flowexport::FlowRecord r = recorder.describe(e, static_cast<uint8_t>(d), pol);
          action = r.action;
          dirs[name] = {{"in_port", port_name(r.in_if)}, {"out_port", port_name(r.out_if)}, {"vlan", r.vlan},
                        {"dscp_assigned", dscp(r.dscp_assigned)}, {"dscp_observed", dscp(r.dscp_observed)},
                        {"mirrors", r.mirrors}};
        }
        flows.back()["directions"] = dirs;
        flows.back()["action"] = std::string(config::policy_action_name(static_cast<config::PolicyAction>(action)));
      }
      const flow::ChainPath& c = e.chain;
      if (c.chain >= 0) {
        const bool known = static_cast<size_t>(c.chain) < pol.chains().size();
        flows.back()["chain"] = {{"name", known ? pol.chains()[static_cast<size_t>(c.chain)].name : fmt::format("#{}", c.chain)},
                                 {"to_device", {{"forward", c.to_device[src].get()}, {"reverse", c.to_device[dst].get()}}},
                                 {"shortcut", {{"forward", c.shortcut[src].get()}, {"reverse", c.shortcut[dst].get()}}},
                                 {"returned_by_device", c.returned.load()},
                                 {"verify_ms", e.state.load() == flow::FlowState::kVerified && c.returned.load() > 0 ? json(c.verify_us.load() / 1e3) : json(nullptr)},
                                 {"bypassed", e.state.load() == flow::FlowState::kVerified && c.returned.load() == 0}};
      }
    });
  });
  return json{{"flows", flows}, {"total", total}, {"shown", flows.size()}};
}

namespace {
json slow_path_json(const policy::SlowPathStats& st) {
  return {{"upcalls", st.upcalls.get()},         {"already_known", st.already_known.get()},
          {"reinjected", st.reinjected.get()},   {"reinject_queue_full", st.reinject_full.get()},
          {"revalidated", st.revalidated.get()}, {"changed_on_reload", st.changed.get()},
          {"kept_by_persist", st.persisted.get()}, {"removed_on_reload", st.removed_on_change.get()}};
}
// Test mode (flows.autovalidator): cache hits sampled, lost to a full ring, checked
// against decide(), skipped because their entry changed since, and mismatches; no key
// without it.
json autovalidator_json(const policy::Autovalidator* av) {
  if (!av) return json(json::value_t::discarded);
  const auto& a = av->stats();
  return {{"sampled", a.sampled.load()}, {"ring_full", a.ring_full.load()}, {"checked", a.checked.load()},
          {"stale", a.stale.load()},     {"mismatch", a.mismatch.load()}};
}
}  // namespace

json view_policy(const pipeline::Datapath& dp) {
  json rules = json::array();
  json row = json::object();
  policy::slow_path_of(dp).with_policy([&](const policy::Classifier& pol, const std::vector<Counter>& hits) {
    for (size_t i = 0; i < pol.rules().size(); ++i) {
      const auto& r = pol.rules()[i];
      json rule{{"action", std::string(config::policy_action_name(r.action))}, {"on_change", r.persist ? "persist" : "reevaluate"}};
      {
        json& row = rule;
        IVS_POLICY_RULE_FIELDS(IVS_FIELD_JSON)
      }
      rules.push_back(std::move(rule));
    }
    row["default"] = std::string(config::policy_action_name(pol.default_action()));
    row["classifier_rows"] = pol.acl_rule_count();
    row["classifier_rows_ipv6"] = pol.acl6_rule_count();
    IVS_POLICY_HEAD_FIELDS(IVS_FIELD_JSON)
  });
  const auto& st = policy::slow_path_of(dp).stats();
  row["rules"] = rules;
  size_t entries = 0, capacity = 0;
  policy::slow_path_of(dp).with_flows([&](const flow::FlowTable& t, const policy::Classifier&) {
    entries = t.size();
    capacity = t.capacity();
  });
  const policy::Autovalidator* av = policy::slow_path_of(dp).autovalidator();
  IVS_POLICY_FLOW_FIELDS(IVS_FIELD_JSON)
  const double busy_ms = static_cast<double>(st.busy_cycles.get()) * 1e3 / static_cast<double>(rte_get_tsc_hz());
  IVS_POLICY_BUSY_FIELDS(IVS_FIELD_JSON)
  return row;
}

// /metrics: policy, rule hits (the default action's first), flows, chains, busy time.
std::string policy_metrics(const json& policy, const json& chains) {
  json hits{{"rules", json::array({{{"name", "(default)"}, {"hits", policy["default_hits"]}}})}};
  for (const auto& r : policy["rules"]) hits["rules"].push_back(r);
  std::string out;
  append_metrics(out, policy::kPolicyHeadSchema, policy);
  append_metrics(out, policy::kPolicyRuleSchema, hits);
  append_metrics(out, policy::kPolicyFlowSchema, policy);
  append_metrics(out, policy::kChainSchema, chains);
  append_metrics(out, policy::kPolicyBusySchema, policy);
  return out;
}

json view_chains(const pipeline::Datapath& dp) {
  json chains = json::array();
  const auto cfg_snapshot = dp.config();  // (a reload may swap it meanwhile)
  const config::Config& cfg = *cfg_snapshot;
  policy::slow_path_of(dp).with_flows([&](const flow::FlowTable&, const policy::Classifier& pol) {
    policy::slow_path_of(dp).with_chains_locked([&](const policy::ChainTracker& tracker) {
      const std::vector<uint64_t> pending = tracker.pending_by_chain(pol);
      for (size_t i = 0; i < pol.chains().size(); ++i) {
        const auto& ch = pol.chains()[i];
        const auto it = tracker.stats().find(ch.name);
        const policy::ChainStats* st = it == tracker.stats().end() ? nullptr : &it->second;
        auto get = [&](const Counter policy::ChainStats::*c) { return st ? (st->*c).get() : 0; };
        const uint64_t verified = get(&policy::ChainStats::verified);
        const uint64_t pending_now = pending[i];
        json row = json::object();
        {
          const uint64_t pending = pending_now;
          IVS_CHAIN_FIELDS(IVS_FIELD_JSON)
          IVS_CHAIN_CONFIG_FIELDS(IVS_FIELD_JSON)
        }
        chains.push_back(std::move(row));
      }
    });
  });
  return {{"chains", chains}};
}

namespace {
constexpr std::chrono::milliseconds kReloadWait{10000};  // longest a reload answer waits for revalidation
}  // namespace

Result<config::Config> read_config_for_reload(const std::string& file) {
  auto next = config::load_file(file);
  if (!next)
    return fail(ErrorCode::kInvalidConfig, fmt::format("{} error(s), nothing changed:\n{}", next.error().size(), fmt::join(next.error(), "\n")),
                next.error().empty() ? "" : config_path_of(next.error().front()));
  return std::move(*next);
}

Result<json> reload_policy(pipeline::Datapath& dp) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string file = dp.config()->file;
  auto next = read_config_for_reload(file);
  if (!next) return std::unexpected(next.error());
  auto epoch = dp.reload_policy(*next, config::stage_runtime_changes);
  if (!epoch) return fail(ErrorCode::kRefused, epoch.error() + "; nothing changed");
  // In force when no datapath thread sees the old state any more (an RCU grace period:
  // the static entries, port security and the mirrors were swapped before it) and the
  // policy thread has revalidated every flow under the new epoch (bounded wait); its time
  // is this epoch's, never the previous one's. The answer comes only then.
  dp.synchronize();
  const auto done = policy::slow_path_of(dp).wait_converged(*epoch, kReloadWait);
  const double in_force_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (done) policy::slow_path_of(dp).note_in_force(in_force_ms / 1e3);
  if (done) spdlog::info("reload from {}: epoch {} in force after {:.3f} ms (flows revalidated in {:.3f} ms)", file, *epoch, in_force_ms, done->seconds * 1e3);
  else spdlog::warn("reload from {}: epoch {} published; flows still being revalidated after {:.0f} ms", file, *epoch, in_force_ms);
  json r{{"epoch", *epoch}, {"applied", done.has_value()}, {"rules", next->policy.rules.size()}, {"vms", next->vms.size()}};
  if (done) {
    r["convergence_ms"] = done->seconds * 1e3;
    r["in_force_ms"] = in_force_ms;
  } else {
    r["pending_after_ms"] = kReloadWait.count();
  }
  return r;
}

}  // namespace ivs::control
