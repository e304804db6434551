#include "config/qos_reader.hpp"

#include <fmt/format.h>

#include <set>

#include "common/dscp.hpp"
#include "config/policy_reader.hpp"

namespace ivs::config {
namespace {

std::optional<uint8_t> read_dscp_scalar(const YAML::Node& n) {
  return n.IsScalar() ? parse_dscp(n.Scalar()) : std::nullopt;
}

constexpr const char* kDscpHelp = "a DSCP name (EF, AF11..AF43, CS0..CS7, BE, LE, VA) or a number 0..63";

// transmit | drop | {remark: DSCP}
void read_meter_action(MapReader& m, const char* key, MeterAction& out, Diagnostics& d) {
  auto n = m.child(key);
  if (!n) return;
  if (n->IsScalar() && n->Scalar() == "transmit") out = {MeterAction::kTransmit, 0};
  else if (n->IsScalar() && n->Scalar() == "drop") out = {MeterAction::kDrop, 0};
  else if (n->IsMap() && n->size() == 1 && n->begin()->first.Scalar() == "remark") {
    if (auto v = read_dscp_scalar(n->begin()->second)) out = {MeterAction::kRemark, *v};
    else d.error(*n, fmt::format("{}.{}: remark needs {}", m.path(), key, kDscpHelp));
  } else {
    d.error(*n, fmt::format("{}.{}: expected transmit, drop or {{remark: DSCP}}", m.path(), key));
  }
}

template <class F>
void for_each_item(MapReader& top, const char* key, Diagnostics& d, F fn) {
  auto list = top.child(key);
  if (!list) return;
  if (!list->IsSequence()) {
    d.error(*list, fmt::format("qos.{}: expected a list", key));
    return;
  }
  for (size_t i = 0; i < list->size(); ++i) {
    MapReader r((*list)[i], fmt::format("qos.{}[{}]", key, i), d);
    fn(r);
    r.finish();
  }
}


}  // namespace

void read_qos(const YAML::Node& node, QosConfig& q, Diagnostics& d) {
  q.enabled = true;
  if (node.IsNull()) return;  // `qos:` alone: count DSCPs per VM, assign nothing
  MapReader top(node, "qos", d);
  for_each_item(top, "assign", d, [&](MapReader& r) {
    QosAssignment a;
    r.string("name", a.name, true);
    read_match(r, a, d);
    std::string mode = "enforce";
    r.choice("mode", mode, {"enforce", "audit", "trust"});
    a.mode = mode == "audit" ? QosMode::kAudit : mode == "trust" ? QosMode::kTrust : QosMode::kEnforce;
    if (auto n = r.child("dscp")) {
      if (auto v = read_dscp_scalar(*n)) a.dscp = *v;
      else r.error_at_key("dscp", fmt::format("expected {}", kDscpHelp));
    } else if (a.mode != QosMode::kTrust && r.valid()) {
      r.error(r.node(), fmt::format("{}: 'dscp' is required (unless mode is trust)", r.path()));
    }
    r.string("meter", a.meter);
    q.assign.push_back(std::move(a));
  });
  for_each_item(top, "classes", d, [&](MapReader& r) {
    QosClass c;
    r.string("name", c.name, true);
    if (auto n = r.child("dscp")) {
      std::vector<YAML::Node> items;
      if (n->IsSequence()) for (const auto& i : *n) items.push_back(i);
      else items.push_back(*n);
      for (const auto& i : items) {
        if (auto v = read_dscp_scalar(i)) c.dscp.push_back(*v);
        else d.error(i, fmt::format("{}.dscp: '{}' is not {}", r.path(), i.IsScalar() ? i.Scalar() : "(not a scalar)", kDscpHelp));
      }
    }
    uint32_t prio = 0;
    if (r.u32("priority", prio, 0, 11)) c.priority = prio;
    r.u32("weight", c.weight, 1, 254);
    if (c.priority && r.has("weight")) r.error_at_key("weight", "a class is either strict (priority) or weighted (weight), not both");
    if (!c.priority && !r.has("weight") && r.valid()) r.error(r.node(), fmt::format("{}: give 'priority' (0..11, strict) or 'weight' (1..254)", r.path()));
    r.string("meter", c.meter);
    q.classes.push_back(std::move(c));
  });
  top.string("default_class", q.default_class);
  for_each_item(top, "meters", d, [&](MapReader& r) {
    MeterConfig m;
    r.string("name", m.name, true);
    uint32_t cir = 0, pir = 0;
    r.u32("cir_kbit", cir, 8, 100'000'000, true);
    r.u32("pir_kbit", pir, 8, 100'000'000, true);
    m.cir_bps = uint64_t{cir} * 1000;
    m.pir_bps = uint64_t{pir} * 1000;
    m.cbs_bytes = m.pbs_bytes = 16384;
    r.u32("cbs_bytes", m.cbs_bytes, 64, 1u << 30);
    r.u32("pbs_bytes", m.pbs_bytes, 64, 1u << 30);
    if (cir && pir && cir > pir) r.error_at_key("pir_kbit", fmt::format("the peak rate ({} kbit/s) is below the committed rate ({} kbit/s)", pir, cir));
    read_meter_action(r, "yellow", m.yellow, d);
    read_meter_action(r, "red", m.red, d);
    q.meters.push_back(std::move(m));
  });
  for_each_item(top, "egress", d, [&](MapReader& r) {
    QosEgress e;
    r.string("port", e.port, true);
    uint32_t rate = 0;
    if (r.u32("rate_kbit", rate, 1000, 400'000'000, true)) e.rate_bps = uint64_t{rate} * 1000;
    if (r.u32("queue_packets", e.queue_packets, 4, 4096) && (e.queue_packets & (e.queue_packets - 1)) != 0)
      r.error_at_key("queue_packets", fmt::format("{} is not a power of two (4, 8, ... 4096)", e.queue_packets));
    q.egress.push_back(std::move(e));
  });
  top.finish();
}

void check_qos(const Config& cfg, const YAML::Node& node, Diagnostics& d) {
  const QosConfig& q = cfg.qos;
  if (!q.enabled || !node.IsMap()) return;
  auto items = [&](const char* key) {
    std::vector<YAML::Node> out;
    if (node[key].IsSequence())
      for (const auto& i : node[key]) out.push_back(i);
    return out;
  };
  const auto assign_nodes = items("assign"), class_nodes = items("classes"), meter_nodes = items("meters"),
             egress_nodes = items("egress");
  std::set<std::string> names;
  for (size_t i = 0; i < q.meters.size() && i < meter_nodes.size(); ++i)
    if (!names.insert(q.meters[i].name).second)
      d.error(value_line(meter_nodes[i], "name"), fmt::format("qos.meters[{}]: duplicate name '{}'", i, q.meters[i].name));
  auto check_meter = [&](const std::string& path, const std::string& meter, const YAML::Node& n) {
    if (!meter.empty() && q.find_meter(meter) < 0)
      d.error(value_line(n, "meter"), fmt::format("{}: meter '{}' is not defined in 'qos.meters'", path, meter));
  };
  names.clear();
  for (size_t i = 0; i < q.assign.size() && i < assign_nodes.size(); ++i) {
    const auto& a = q.assign[i];
    const std::string path = fmt::format("qos.assign[{}]", i);
    if (!names.insert(a.name).second) d.error(value_line(assign_nodes[i], "name"), fmt::format("{}: duplicate name '{}'", path, a.name));
    check_match(cfg, path, a, assign_nodes[i], d);
    check_meter(path, a.meter, assign_nodes[i]);
  }
  names.clear();
  std::set<uint8_t> dscps;
  std::set<uint32_t> prios;
  size_t weighted = 0;
  bool default_found = q.default_class.empty();
  for (size_t i = 0; i < q.classes.size() && i < class_nodes.size(); ++i) {
    const auto& c = q.classes[i];
    const std::string path = fmt::format("qos.classes[{}]", i);
    if (!names.insert(c.name).second) d.error(value_line(class_nodes[i], "name"), fmt::format("{}: duplicate name '{}'", path, c.name));
    for (uint8_t v : c.dscp)
      if (!dscps.insert(v).second) d.error(value_line(class_nodes[i], "dscp"), fmt::format("{}: DSCP {} is already in another class", path, v));
    if (c.priority && !prios.insert(*c.priority).second)
      d.error(value_line(class_nodes[i], "priority"), fmt::format("{}: priority {} is taken by another class", path, *c.priority));
    if (!c.priority) ++weighted;
    check_meter(path, c.meter, class_nodes[i]);
    if (c.name == q.default_class) default_found = true;
  }
  if (!default_found) d.error(value_line(node, "default_class"), fmt::format("qos.default_class: class '{}' is not defined in 'qos.classes'", q.default_class));
  // DSCPs no class lists fall into the default class; without one, an implicit weighted
  // class 'default' takes them (and counts against the four weighted queues).
  if (!q.classes.empty() && q.default_class.empty() && dscps.size() < 64) ++weighted;
  if (weighted > 4)
    d.error(value_line(node, "classes"), fmt::format("qos.classes: {} weighted classes{}; the scheduler has 4 weighted queues", weighted,
                                                  q.default_class.empty() && dscps.size() < 64 ? " (with the implicit 'default')" : ""));
  names.clear();
  for (size_t i = 0; i < q.egress.size() && i < egress_nodes.size(); ++i) {
    const auto& e = q.egress[i];
    if (!cfg.find_port(e.port))
      d.error(value_line(egress_nodes[i], "port"), fmt::format("qos.egress[{}]: port '{}' is not defined in 'ports'", i, e.port));
    else if (!names.insert(e.port).second)
      d.error(value_line(egress_nodes[i], "port"), fmt::format("qos.egress[{}]: port '{}' is scheduled twice", i, e.port));
  }
}

}  // namespace ivs::config
