#include "qos/qos_tables.hpp"

#include <fmt/format.h>

#include <algorithm>


namespace ivs::qos {

std::expected<std::unique_ptr<QosTables>, std::string> QosTables::create(const config::Config& cfg) {
  auto t = std::make_unique<QosTables>();
  const config::QosConfig& q = cfg.qos;
  t->enabled_ = q.enabled;
  t->vm_count_ = cfg.vms.size();
  t->class_of_.fill(kNoClass);
  for (const auto& m : q.meters) {
    MeterInfo mi{m, {}, {{config::MeterAction::kTransmit, 0}, m.yellow, m.red}};
    rte_meter_trtcm_params p{m.cir_bps / 8, m.pir_bps / 8, m.cbs_bytes, m.pbs_bytes};
    if (int rc = rte_meter_trtcm_profile_config(&mi.profile, &p); rc != 0)
      return std::unexpected(fmt::format("qos.meters: '{}': rte_meter rejects the profile ({})", m.name, rc));
    t->meters_.push_back(mi);
  }
  // Classes matter where something is scheduled; a scheduled port without classes gets
  // the implicit 'default' class alone.
  if (q.classes.empty() && q.egress.empty()) return t;
  // Strict classes take traffic classes 0..11 in priority order; weighted classes take the
  // best-effort class's four queues in the order given, the implicit 'default' last.
  std::vector<config::QosClass> classes = q.classes;
  bool covered[64] = {};
  for (const auto& c : classes)
    for (uint8_t d : c.dscp) covered[d] = true;
  std::string default_class = q.default_class;
  if (default_class.empty()) {
    bool all = true;
    for (bool c : covered) all &= c;
    if (!all) {
      config::QosClass def;
      def.name = "default";
      def.weight = 1;
      classes.push_back(def);
      default_class = "default";
    }
  }
  std::vector<std::pair<uint32_t, size_t>> strict;
  uint8_t be_queue = 0;
  for (size_t i = 0; i < classes.size(); ++i) {
    const auto& c = classes[i];
    ClassInfo ci;
    ci.name = c.name;
    ci.dscp = c.dscp;
    ci.strict = c.priority.has_value();
    ci.priority = c.priority.value_or(0);
    ci.weight = c.weight;
    ci.meter = static_cast<int16_t>(c.meter.empty() ? -1 : q.find_meter(c.meter));
    t->class_meters_ |= ci.meter >= 0;
    if (ci.strict) {
      strict.emplace_back(ci.priority, i);
    } else {
      ci.traffic_class = 12;
      ci.queue = be_queue++;
    }
    t->classes_.push_back(std::move(ci));
  }
  std::sort(strict.begin(), strict.end());
  for (size_t k = 0; k < strict.size(); ++k) t->classes_[strict[k].second].traffic_class = static_cast<uint8_t>(k);
  uint8_t def_index = kNoClass;
  for (size_t i = 0; i < t->classes_.size(); ++i) {
    for (uint8_t d : t->classes_[i].dscp) t->class_of_[d] = static_cast<uint8_t>(i);
    if (t->classes_[i].name == default_class) def_index = static_cast<uint8_t>(i);
  }
  for (auto& c : t->class_of_)
    if (c == kNoClass) c = def_index;
  return t;
}

}  // namespace ivs::qos
