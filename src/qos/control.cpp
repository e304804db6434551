// The QoS guard's view (ivctl show qos, /metrics): what is assigned, what each VM sent by
// DSCP and how often it did not match, what the meters did, how each scheduled port's
// class queues fared, and the flows that mismatched most recently (observed vs assigned).
// The QoS module's control part (qos/module.hpp): `show.qos` and its /metrics families.
#include <fmt/format.h>
#include <rte_cycles.h>

#include <algorithm>

#include "config/model.hpp"
#include "common/dscp.hpp"
#include "common/counter_metrics.hpp"
#include "common/params.hpp"
#include "pipeline/datapath.hpp"
#include "policy/module.hpp"
#include "qos/counter_fields.hpp"
#include "qos/flow_state.hpp"
#include "qos/module.hpp"

namespace ivs::qos {

using nlohmann::json;

namespace {
constexpr const char* kColours[3] = {"green", "yellow", "red"};

json action_json(const config::MeterAction& a) {
  if (a.kind == config::MeterAction::kRemark) return {{"remark", dscp_name(a.dscp)}};
  return a.kind == config::MeterAction::kDrop ? "drop" : "transmit";
}
}  // namespace

json QosModule::view(size_t mismatch_limit) const {
  const pipeline::Datapath& dp = *dp_;
  const auto cfg_snapshot = dp.config();  // qos.assign as the last reload left it
  const config::Config& cfg = *cfg_snapshot;
  if (!cfg.qos.enabled) return {{"enabled", false}};
  const GuardSums sums = this->sums();  // the guard's counters (the module's stages)
  const EgressSums snap = egress_sums();  // the way out: the egress stages' and the schedulers'
  json out{{"enabled", true}};

  json assign = json::array();
  for (const auto& a : cfg.qos.assign)
    assign.push_back({{"name", a.name},
                      {"from", a.from},
                      {"to", a.to},
                      {"network", a.network.empty() ? "any" : a.network},
                      {"dscp", a.dscp == config::kNoDscp ? json(nullptr) : json(dscp_name(a.dscp))},
                      {"mode", std::string(config::qos_mode_name(a.mode))},
                      {"meter", a.meter.empty() ? json(nullptr) : json(a.meter)}});
  out["assign"] = assign;

  json vms = json::array();
  for (size_t v = 0; v < sums.vms.size(); ++v) {
    const auto& s = sums.vms[v];
    json seen = json::object();
    uint64_t total = 0;
    for (size_t d = 0; d < 64; ++d)
      if (s.seen[d]) {
        seen[dscp_name(static_cast<uint8_t>(d))] = s.seen[d];
        total += s.seen[d];
      }
    const bool not_a_vm = v + 1 == sums.vms.size();  // (and VMs added after those of the start)
    if (not_a_vm && total == 0) continue;  // the "not a VM" slot, unused
    const std::string name = !not_a_vm && v < cfg.vms.size() ? cfg.vms[v].name : "(not a VM)";
    json row = json::object();
    IVS_QOS_VM_FIELDS(IVS_FIELD_JSON)
    vms.push_back(std::move(row));
  }
  out["vms"] = vms;

  json meters = json::array();
  const auto& mi = tables().meters();
  for (size_t m = 0; m < mi.size(); ++m) {
    const auto& c = mi[m].cfg;
    const auto& s = sums.meters[m];
    json row = json::object();
    IVS_QOS_METER_FIELDS(IVS_FIELD_JSON)
    meters.push_back(std::move(row));
  }
  out["meters"] = meters;

  json classes = json::array();
  const auto& ci = tables().classes();
  for (size_t k = 0; k < ci.size(); ++k) {
    json dscps = json::array();
    for (uint8_t d = 0; d < 64; ++d)
      if (tables().class_of(d) == k) dscps.push_back(dscp_name(d));
    const std::string scheduling =
        ci[k].strict ? fmt::format("strict priority {}", ci[k].priority) : fmt::format("weight {}", ci[k].weight);
    const json meter = ci[k].meter >= 0 ? json(mi[static_cast<size_t>(ci[k].meter)].cfg.name) : json(nullptr);
    json row = json::object();
    IVS_QOS_CLASS_FIELDS(IVS_FIELD_JSON)
    classes.push_back(std::move(row));
  }
  out["classes"] = classes;

  json egress = json::array();
  for (const auto& e : snap.ports) {
    json qs = json::array();
    for (size_t k = 0; k < e.classes.size() && k < ci.size(); ++k) {
      const auto& q = e.classes[k];
      json row = json::object();
      IVS_QOS_QUEUE_FIELDS(IVS_FIELD_JSON)
      qs.push_back(std::move(row));
    }
    egress.push_back({{"port", e.port}, {"rate_kbit", e.rate_bps / 1000}, {"backlog", e.backlog}, {"queues", qs}});
  }
  out["egress"] = egress;

  // The most recent mismatching flows, from the samples the datapath keeps in each flow.
  struct Row {
    uint32_t when;
    json j;
  };
  std::vector<Row> rows;
  const uint32_t now = static_cast<uint32_t>(rte_rdtsc() / rte_get_tsc_hz());
  uint64_t mismatching_flows = 0;
  policy::slow_path_of(dp).with_flows([&](const flow::FlowTable& table, const policy::Classifier& pol) {
    table.for_each([&](const flow::FlowEntry& e) {
      for (uint8_t d = 0; d < 2; ++d) {
        const uint64_t n = qos::flow_mismatches(e, d);
        if (!n) continue;
        ++mismatching_flows;
        const qos::Decision dec = qos::flow_decision(e, d);
        const qos::MismatchSample sample = qos::flow_mismatch(e, d);
        const char* proto = e.key.proto == 6 ? "tcp" : e.key.proto == 17 ? "udp" : e.key.proto == 1 ? "icmp" : "ip";
        const auto& as = pol.qos().assignments();
        rows.push_back({sample.last_s,
                        {{"proto", proto},
                         {"src", flow::endpoint(e.key, d)},
                         {"dst", flow::endpoint(e.key, 1 - d)},
                         {"sender", dec.vm >= 0 && static_cast<size_t>(dec.vm) < cfg.vms.size() ? cfg.vms[static_cast<size_t>(dec.vm)].name : "-"},
                         {"observed", dscp_name(sample.observed)},
                         {"assigned", dec.dscp == config::kNoDscp ? json(nullptr) : json(dscp_name(dec.dscp))},
                         {"assignment", dec.assignment >= 0 && static_cast<size_t>(dec.assignment) < as.size() ? as[static_cast<size_t>(dec.assignment)].name : "-"},
                         {"mode", std::string(config::qos_mode_name(dec.mode))},
                         {"action", dec.mode == config::QosMode::kEnforce ? "rewritten" : "counted"},
                         {"mismatched_packets", n},
                         {"last_seen_s_ago", now - sample.last_s}}});
      }
    });
  });
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.when > b.when; });
  json mism = json::array();
  for (size_t i = 0; i < rows.size() && i < mismatch_limit; ++i) mism.push_back(rows[i].j);
  out["recent_mismatches"] = mism;
  json& row = out;
  IVS_QOS_FIELDS(IVS_FIELD_JSON)
  return out;
}

void QosModule::add_control_methods(const pipeline::AddControlMethod& add) {
  if (!dp_) return;  // the unit rig: no datapath to read
  add("show.qos", [this](const json& p) -> Result<json> {
    const auto limit = control::Params(p).integer("limit", 20, 0, kMaxMismatchLimit);
    if (!limit) return std::unexpected(limit.error());
    return view(static_cast<size_t>(*limit));
  });
}

std::string QosModule::metrics() const {
  if (!dp_ || !dp_->config()->qos.enabled) return "";
  const json v = view(0);
  std::string out;
  for (const ivs::Schema* q : {&kQosVmSchema, &kQosMeterSchema, &kQosClassSchema, &kQosQueueSchema, &kQosSchema})
    control::append_metrics(out, *q, v);
  return out;
}

}  // namespace ivs::qos
