#include "cli/top_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace ivs::cli::top {

using nlohmann::json;

namespace {

uint64_t u64(const json& v, const char* key) {
  const auto it = v.find(key);
  return it != v.end() && it->is_number() ? it->get<uint64_t>() : 0;
}
double dbl(const json& v, const char* key) {
  const auto it = v.find(key);
  return it != v.end() && it->is_number() ? it->get<double>() : 0.0;
}
// A counter's growth; one that went down was reset (the daemon restarted): it counts from 0.
uint64_t grown(uint64_t before, uint64_t now) { return now >= before ? now - before : now; }

const json* find_named(const json& list, const char* key, const std::string& name) {
  for (const auto& e : list)
    if (e.value(key, json()) == name) return &e;
  return nullptr;
}

std::string flow_key(const json& f) {
  return fmt::format("{}|{}|{}|{}", f.value("proto", ""), f.value("src", ""), f.value("dst", ""), f.value("network", ""));
}
uint64_t both(const json& f, const char* what) {
  const auto it = f.find(what);
  return it == f.end() ? 0 : u64(*it, "forward") + u64(*it, "reverse");
}

void ports_and_drops(const Sample& prev, const Sample& cur, double dt, Frame& f) {
  static const json kEmpty = json::array();
  const json& before = prev.ports.contains("ports") ? prev.ports["ports"] : kEmpty;
  for (const auto& p : cur.ports.value("ports", json::array())) {
    const std::string name = p.value("name", "");
    const json* b = find_named(before, "name", name);
    const json none = json::object();
    const json& was = b ? *b : none;
    auto rate = [&](const char* key) { return static_cast<double>(grown(u64(was, key), u64(p, key))) / dt; };
    PortRate r{.name = name, .link = p.value("link", "?")};
    r.rx_pps = rate("rx_packets");
    r.tx_pps = rate("tx_packets");
    r.rx_bps = 8 * rate("rx_bytes");
    r.tx_bps = 8 * rate("tx_bytes");
    r.drop_pps = rate("drops_total");
    r.rx_packets = u64(p, "rx_packets");
    r.tx_packets = u64(p, "tx_packets");
    r.drops = u64(p, "drops_total");
    f.ports.push_back(r);

    const json& drops_now = p.contains("drops") ? p["drops"] : none;
    const json& drops_was = was.contains("drops") ? was["drops"] : none;
    for (const auto& [reason, n] : drops_now.items()) {
      const uint64_t total = n.get<uint64_t>();
      if (total) f.drops.push_back({name, reason, static_cast<double>(grown(u64(drops_was, reason.c_str()), total)) / dt, total});
    }
    const json& dev_now = p.contains("device") ? p["device"] : none;
    const json& dev_was = was.contains("device") ? was["device"] : none;
    for (const char* k : {"rx_missed", "rx_errors", "tx_errors"}) {
      const uint64_t total = u64(dev_now, k);
      if (total) f.drops.push_back({name, std::string("device.") + k, static_cast<double>(grown(u64(dev_was, k), total)) / dt, total});
    }
  }
  for (const auto& r : f.ports) {
    f.totals.rx_pps += r.rx_pps;
    f.totals.tx_pps += r.tx_pps;
    f.totals.rx_bps += r.rx_bps;
    f.totals.tx_bps += r.tx_bps;
  }
  for (const auto& d : f.drops) f.totals.drop_pps += d.per_s;
}

void pmds(const Sample& prev, const Sample& cur, double dt, Frame& f) {
  const json before = prev.pmd.value("pmds", json::array());
  for (const auto& p : cur.pmd.value("pmds", json::array())) {
    const json* b = nullptr;
    for (const auto& e : before)
      if (e.value("index", -1) == p.value("index", -2)) b = &e;
    const json none = json::object();
    const json& was = b ? *b : none;
    const double hz = dbl(p, "tsc_hz");
    const uint64_t busy = grown(u64(was, "busy_cycles"), u64(p, "busy_cycles"));
    const uint64_t idle = grown(u64(was, "idle_cycles"), u64(p, "idle_cycles"));
    const uint64_t packets = grown(u64(was, "packets"), u64(p, "packets"));
    const double slept = std::max(0.0, dbl(p, "sleep_seconds") - dbl(was, "sleep_seconds"));
    PmdLoad l{.index = p.value("index", 0u), .cpu = p.value("cpu", 0u)};
    for (const auto& n : p.value("ports", json::array())) l.ports += (l.ports.empty() ? "" : ",") + n.get<std::string>();
    l.pps = static_cast<double>(packets) / dt;
    if (hz > 0) {
      l.busy_pct = 100.0 * static_cast<double>(busy) / (hz * dt);
      l.idle_pct = 100.0 * static_cast<double>(idle) / (hz * dt);
    }
    l.sleep_pct = 100.0 * slept / dt;
    l.cycles_per_packet = packets ? static_cast<double>(busy) / static_cast<double>(packets) : 0.0;
    f.pmds.push_back(l);
  }
}

void flows(const Sample& prev, const Sample& cur, double dt, Frame& f) {
  std::map<std::string, const json*> before;
  const json prev_list = prev.flows.value("flows", json::array());
  for (const auto& e : prev_list) before[flow_key(e)] = &e;
  // Did the earlier sample list the whole table? If not, a flow missing from it may be old.
  const bool prev_complete = u64(prev.flows, "shown") >= u64(prev.flows, "total");
  for (const auto& e : cur.flows.value("flows", json::array())) {
    FlowRate r{.proto = e.value("proto", ""), .src = e.value("src", ""), .dst = e.value("dst", ""),
               .network = e.value("network", ""), .state = e.value("state", ""), .rule = e.value("rule", "")};
    r.packets = both(e, "packets");
    r.bytes = both(e, "bytes");
    r.age_s = u64(e, "age_s");
    const auto it = before.find(flow_key(e));
    if (it != before.end()) {
      r.pps = static_cast<double>(grown(both(*it->second, "packets"), r.packets)) / dt;
      r.bps = 8 * static_cast<double>(grown(both(*it->second, "bytes"), r.bytes)) / dt;
    } else {
      // New in the interval: everything it carried, it carried since the earlier sample.
      // Not listed earlier but older than the interval: its average over its life.
      const double over = prev_complete || static_cast<double>(r.age_s) <= dt ? dt : static_cast<double>(r.age_s);
      r.pps = static_cast<double>(r.packets) / over;
      r.bps = 8 * static_cast<double>(r.bytes) / over;
    }
    f.flows.push_back(r);
  }
  f.totals.flows_listed = f.flows.size();
}

}  // namespace

Frame compute(const Sample& prev, const Sample& cur) {
  Frame f;
  auto span = [](double a, double b) { return std::max(b - a, 1e-3); };
  const double dt = span(prev.t, cur.t);
  f.interval_s = dt;
  f.restarted = dbl(cur.stats, "uptime_s") < dbl(prev.stats, "uptime_s");
  ports_and_drops(prev, cur, dt, f);
  pmds(prev, cur, span(prev.t_pmd, cur.t_pmd), f);
  flows(prev, cur, span(prev.t_flows, cur.t_flows), f);
  const json none = json::object();
  const json& fl_now = cur.policy.contains("flows") ? cur.policy["flows"] : none;
  const json& fl_was = prev.policy.contains("flows") ? prev.policy["flows"] : none;
  const json& sp_now = cur.policy.contains("slow_path") ? cur.policy["slow_path"] : none;
  const json& sp_was = prev.policy.contains("slow_path") ? prev.policy["slow_path"] : none;
  f.totals.uptime_s = dbl(cur.stats, "uptime_s");
  f.totals.flows = u64(fl_now, "entries");
  f.totals.flow_capacity = u64(fl_now, "capacity");
  const double dt_policy = span(prev.t_policy, cur.t_policy);
  f.totals.installed_ps = static_cast<double>(grown(u64(fl_was, "installed"), u64(fl_now, "installed"))) / dt_policy;
  f.totals.expired_ps = static_cast<double>(grown(u64(fl_was, "expired"), u64(fl_now, "expired"))) / dt_policy;
  f.totals.upcalls_ps = static_cast<double>(grown(u64(sp_was, "upcalls"), u64(sp_now, "upcalls"))) / dt_policy;
  return f;
}

json to_json(const Frame& f, size_t max_flows) {
  const auto& t = f.totals;
  json out{{"interval_s", f.interval_s},
           {"daemon_restarted", f.restarted},
           {"uptime_s", t.uptime_s},
           {"totals", {{"rx_pps", t.rx_pps}, {"tx_pps", t.tx_pps}, {"rx_bps", t.rx_bps}, {"tx_bps", t.tx_bps},
                       {"drops_per_s", t.drop_pps}}},
           {"flows", {{"entries", t.flows}, {"capacity", t.flow_capacity}, {"installed_per_s", t.installed_ps},
                      {"expired_per_s", t.expired_ps}, {"upcalls_per_s", t.upcalls_ps}, {"listed", t.flows_listed}}}};
  json ports = json::array(), drops = json::array(), pmds = json::array(), flows = json::array();
  for (const auto& p : f.ports)
    ports.push_back({{"name", p.name}, {"link", p.link}, {"rx_pps", p.rx_pps}, {"tx_pps", p.tx_pps}, {"rx_bps", p.rx_bps},
                     {"tx_bps", p.tx_bps}, {"drops_per_s", p.drop_pps}, {"rx_packets", p.rx_packets},
                     {"tx_packets", p.tx_packets}, {"drops_total", p.drops}});
  for (const auto& d : f.drops) drops.push_back({{"port", d.port}, {"reason", d.reason}, {"per_s", d.per_s}, {"total", d.total}});
  for (const auto& p : f.pmds)
    pmds.push_back({{"index", p.index}, {"cpu", p.cpu}, {"ports", p.ports}, {"pps", p.pps}, {"busy_pct", p.busy_pct},
                    {"idle_pct", p.idle_pct}, {"sleep_pct", p.sleep_pct}, {"busy_cycles_per_packet", p.cycles_per_packet}});
  std::vector<const FlowRate*> busiest;
  for (const auto& fl : f.flows) busiest.push_back(&fl);
  std::stable_sort(busiest.begin(), busiest.end(), [](auto* a, auto* b) { return a->bps > b->bps; });
  for (size_t i = 0; i < busiest.size() && i < max_flows; ++i) {
    const auto& fl = *busiest[i];
    flows.push_back({{"proto", fl.proto}, {"src", fl.src}, {"dst", fl.dst}, {"network", fl.network}, {"state", fl.state},
                     {"rule", fl.rule}, {"pps", fl.pps}, {"bps", fl.bps}, {"packets", fl.packets}, {"bytes", fl.bytes},
                     {"age_s", fl.age_s}});
  }
  out["ports"] = ports;
  out["drops"] = drops;
  out["pmds"] = pmds;
  out["busiest_flows"] = flows;
  return out;
}

}  // namespace ivs::cli::top
