#pragma once
// The policy thread's and the chains' counters, declared once (common/counter_schema.hpp;
// the columns as in pipeline/counter_fields.hpp). Built by control/policy_views.cpp:
// the policy's one row (`pol` the classifier, `hits` its counters, `st` the slow path's
// stats, `entries`/`capacity` the flow table's, `av` the autovalidator or null, `busy_ms`),
// per rule (`r`, `i` its index), per chain (`ch` its config, `st` its stats or null,
// `get(member)` a stats counter or 0, `pending`, `verified`). The policy row is three
// schemas only to keep /metrics' family order as it was (chains come before the busy time).
#include <string_view>

#include "common/counter_schema.hpp"

namespace ivs::policy {

#define IVS_POLICY_HEAD_FIELDS(X)                                                                                             \
  X("epoch", gauge, none, "ivswitch_policy_epoch", no_label, "", "Current policy epoch (bumped by every reload).", pol.epoch()) \
  X("last_convergence_ms", gauge, ms, "ivswitch_policy_convergence_seconds", no_label, "",                                    \
    "Time the last policy change took to revalidate every flow.", ::ivs::policy::slow_path_of(dp).last_convergence_s() * 1e3)                  \
  X("last_reload_in_force_ms", gauge, ms, "ivswitch_reload_in_force_seconds", no_label, "",                                  \
    "Time the last reload took from its request until in force (applied, no datapath thread on the old state, flows revalidated).", \
    ::ivs::policy::slow_path_of(dp).last_in_force_s() * 1e3)                                                                   \
  X("default_hits", counter, none, "", cli_only("ivswitch_policy_rule_hits_total{rule=\"(default)\"}"), "",     \
    "new flows decided by the default action this epoch (in /metrics as rule=\"(default)\")", hits[0].get())

// Rows: the rules; /metrics lists the default action's first, as rule "(default)" (its
// hits are the policy row's default_hits). ivctl's policy table stays written by hand
// (a row number, and the default action's row).
#define IVS_POLICY_RULE_FIELDS(X)                                                                                             \
  X("name", info, none, "", no_label, "", "the rule (policy.rules[].name)", r.name)                                           \
  X("hits", counter, none, "ivswitch_policy_rule_hits_total", no_label, "",                                                   \
    "New flows decided by each rule in the current epoch (rule=\"(default)\": the default action).", hits[i + 1].get())        \
  X("classifier_rows", info, none, "", no_label, "", "classifier rows the rule compiled to (both families)",                  \
    r.acl_rules + r.acl_rules6)                                                                                                \
  X("classifier_rows_ipv6", info, none, "", no_label, "", "of those, rows of the IPv6 classifier (0: the rule matches no IPv6 flow)", \
    r.acl_rules6)

/* slow_path and autovalidator: one series per kind (the JSON's keys). */
#define IVS_POLICY_FLOW_FIELDS(X)                                                                                             \
  X("flows/entries", gauge, none, "ivswitch_flow_entries", no_label, "", "Flows in the flow table.", entries)                 \
  X("flows/capacity", gauge, none, "ivswitch_flow_capacity", no_label, "", "Flow table bound (flows.table_size).", capacity)   \
  X("flows/installed", counter, none, "ivswitch_flow_installed_total", no_label, "", "Flows installed by the policy thread.",  \
    st.installed.get())                                                                                                        \
  X("flows/expired", counter, none, "ivswitch_flow_expired_total", no_label, "", "Flows removed after their idle timeout.",    \
    st.expired.get())                                                                                                          \
  X("flows/refused_table_full", counter, none, "ivswitch_flow_refused_table_full_total", no_label, "",                        \
    "New flows not installed because the table was full.", st.table_full.get())                                                \
  X("flows/restored", counter, none, "ivswitch_flow_restored_total", no_label, "",                                          \
    "Flows of the last clean stop put back at start, each with the verdict this policy gives it (switch.flow_restore).",     \
    st.restored.get())                                                                                                         \
  X("flows/restore_refused", counter, none, "ivswitch_flow_restore_refused_total", no_label, "",                              \
    "Saved flows left out at start: the policy now decides otherwise, their port or network is gone, on a chain, or the "    \
    "table is full.", st.restore_refused.get())                                                                                \
  X("flows/restore_files_refused", counter, none, "ivswitch_flow_restore_files_refused_total", no_label, "",                  \
    "Flow files refused whole at start (corrupt, truncated, another format version): the switch started without them.",      \
    st.restore_files_refused.get())                                                                                            \
  X("slow_path", counter, none, "ivswitch_slow_path_total", key_label("kind"), "", "Policy thread work, by kind.",            \
    slow_path_json(st))                                                                                                        \
  X("autovalidator", counter, none, "ivswitch_autovalidator_total", key_label("kind"), "",                                    \
    "Test mode (flows.autovalidator): flow-cache hits sampled, lost to a full ring, checked against decide(), skipped as "     \
    "changed since served (stale), and mismatches (must stay 0).",                                                             \
    autovalidator_json(av))

#define IVS_POLICY_BUSY_FIELDS(X)                                                                                             \
  X("slow_path_busy_ms", counter, ms, "ivswitch_slow_path_busy_seconds_total", no_label, "",                                  \
    "Time the policy thread spent on new flows (decide, install, re-inject).", busy_ms)

/* /metrics lists the outcomes by name (the order of the JSON's keys). */
#define IVS_CHAIN_FIELDS(X)                                                                                                   \
  X("name", info, none, "", no_label, "CHAIN", "the chain (chains[].name)", ch.name)                                          \
  X("flows/bypassed", counter, none, "ivswitch_chain_flows_total", fixed_label("outcome=\"bypassed\""), "BYPASSED",           \
    "Flows of each chain by outcome (pending: started on the device path).", get(&::ivs::policy::ChainStats::bypassed))                       \
  X("flows/denied", counter, none, "ivswitch_chain_flows_total", fixed_label("outcome=\"denied\""), "DENIED",                 \
    "flows denied: verify timeout or device down, fail-closed", get(&::ivs::policy::ChainStats::denied))                                      \
  X("flows/pending", counter, none, "ivswitch_chain_flows_total", fixed_label("outcome=\"pending\""), "PENDING",              \
    "flows that started on the device path", get(&::ivs::policy::ChainStats::pending))                                                        \
  X("flows/timeouts", counter, none, "ivswitch_chain_flows_total", fixed_label("outcome=\"timeouts\""), "TIMEOUTS",           \
    "flows the device did not pass back in time", get(&::ivs::policy::ChainStats::timeouts))                                                  \
  X("flows/verified", counter, none, "ivswitch_chain_flows_total", fixed_label("outcome=\"verified\""), "VERIFIED",           \
    "flows the tap sensor verified", verified)                                                                                 \
  X("flows/via_device", counter, none, "ivswitch_chain_flows_total", fixed_label("outcome=\"via_device\""), "VIA DEVICE",     \
    "flows kept on the device path: verify timeout, fail-open", get(&::ivs::policy::ChainStats::via_device))                                  \
  X("pending_now", gauge, none, "ivswitch_chain_pending_flows", no_label, "PENDING NOW",                                      \
    "Flows waiting for the chain's device to pass them back.", pending)                                                        \
  X("device", gauge, flag, "ivswitch_chain_device_up", no_label, "DEVICE", "1 while the chain's device ports have link.",      \
    !st || st->healthy ? "up" : "down")                                                                                        \
  X("verify_ms_mean", gauge, ms, "", cli_only("a mean since start"), "VERIFY ms MEAN/MAX",                                   \
    "mean time from a flow's first packet to verified",                                                                        \
    verified ? get(&::ivs::policy::ChainStats::verify_us_sum) / 1e3 / static_cast<double>(verified) : 0.0)                                    \
  X("verify_ms_max", gauge, ms, "ivswitch_chain_verify_seconds_max", no_label, "VERIFY ms MEAN/MAX",                          \
    "Longest time from a flow's first packet to verified.", st ? static_cast<double>(st->verify_us_max) / 1e3 : 0.0)

#define IVS_CHAIN_CONFIG_FIELDS(X)                                                                                            \
  X("out_port", info, none, "", no_label, "OUT PORT", "the port to the device", cfg.ports[ch.out_port].name)                  \
  X("return_port", info, none, "", no_label, "RETURN PORT", "the port back from the device", cfg.ports[ch.return_port].name)   \
  X("inspect", info, none, "", no_label, "INSPECT", "packets inspected per flow (or the handshake)",                           \
    ch.inspect_packets ? nlohmann::json(ch.inspect_packets) : nlohmann::json("handshake"))                                    \
  X("verify_timeout_ms", info, none, "", no_label, "TIMEOUT(ms)", "time the device has to pass a flow back", ch.verify_timeout_ms) \
  X("on_failure", info, none, "", no_label, "ON FAILURE", "open or closed", ch.fail_open ? "open" : "closed")

inline constexpr Field kPolicyHeadFields[] = {IVS_POLICY_HEAD_FIELDS(IVS_FIELD_DECL)};
inline constexpr Field kPolicyRuleFields[] = {IVS_POLICY_RULE_FIELDS(IVS_FIELD_DECL)};
inline constexpr Field kPolicyFlowFields[] = {IVS_POLICY_FLOW_FIELDS(IVS_FIELD_DECL)};
inline constexpr Field kPolicyBusyFields[] = {IVS_POLICY_BUSY_FIELDS(IVS_FIELD_DECL)};
inline constexpr Field kChainFields[] = {IVS_CHAIN_FIELDS(IVS_FIELD_DECL) IVS_CHAIN_CONFIG_FIELDS(IVS_FIELD_DECL)};
inline constexpr RowLabel kPolicyRuleRowLabels[] = {{"rule", "name"}};
inline constexpr RowLabel kChainRowLabels[] = {{"chain", "name"}};
inline constexpr Schema kPolicyHeadSchema{"policy", "", {}, kPolicyHeadFields};
inline constexpr Schema kPolicyRuleSchema{"policy rules", "rules", kPolicyRuleRowLabels, kPolicyRuleFields};
inline constexpr Schema kPolicyFlowSchema{"policy flows", "", {}, kPolicyFlowFields};
inline constexpr Schema kChainSchema{"chains", "chains", kChainRowLabels, kChainFields};
inline constexpr Schema kPolicyBusySchema{"policy busy", "", {}, kPolicyBusyFields};
inline constexpr std::string_view kChainTable[] = {"CHAIN",    "OUT PORT", "RETURN PORT", "INSPECT",  "TIMEOUT(ms)",
                                                   "ON FAILURE", "DEVICE", "PENDING NOW", "PENDING",  "VERIFIED",
                                                   "TIMEOUTS", "DENIED",   "VIA DEVICE",  "BYPASSED", "VERIFY ms MEAN/MAX"};

}  // namespace ivs::policy
