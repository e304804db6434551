#include "cli/top_render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <variant>

#include "cli/table.hpp"

namespace ivs::cli::top {

namespace {

// A sort key: its name on screen and the value rows are ordered by. Numbers sort high
// first, text A-Z; 'r' flips either.
template <typename Row>
struct Key {
  const char* name;
  std::function<std::variant<double, std::string>(const Row&)> value;
};

const std::vector<Key<PortRate>> kPortKeys{
    {"rx pkt/s", [](const PortRate& r) { return r.rx_pps; }},  {"tx pkt/s", [](const PortRate& r) { return r.tx_pps; }},
    {"rx bit/s", [](const PortRate& r) { return r.rx_bps; }},  {"tx bit/s", [](const PortRate& r) { return r.tx_bps; }},
    {"drops/s", [](const PortRate& r) { return r.drop_pps; }}, {"name", [](const PortRate& r) { return r.name; }}};
const std::vector<Key<FlowRate>> kFlowKeys{{"bit/s", [](const FlowRate& r) { return r.bps; }},
                                           {"pkt/s", [](const FlowRate& r) { return r.pps; }},
                                           {"bytes", [](const FlowRate& r) { return static_cast<double>(r.bytes); }},
                                           {"age", [](const FlowRate& r) { return static_cast<double>(r.age_s); }}};
const std::vector<Key<DropRate>> kDropKeys{{"drops/s", [](const DropRate& r) { return r.per_s; }},
                                           {"total", [](const DropRate& r) { return static_cast<double>(r.total); }},
                                           {"port", [](const DropRate& r) { return r.port + " " + r.reason; }},
                                           {"reason", [](const DropRate& r) { return r.reason + " " + r.port; }}};
const std::vector<Key<PmdLoad>> kPmdKeys{{"busy %", [](const PmdLoad& r) { return r.busy_pct; }},
                                         {"pkt/s", [](const PmdLoad& r) { return r.pps; }},
                                         {"cpu", [](const PmdLoad& r) { return std::to_string(1000000 + r.cpu); }}};

template <typename Row>
std::vector<const Row*> sorted(const std::vector<Row>& rows, const std::vector<Key<Row>>& keys, const ViewState& s) {
  std::vector<const Row*> out;
  for (const auto& r : rows) out.push_back(&r);
  const auto& key = keys[s.sort % keys.size()];
  std::stable_sort(out.begin(), out.end(), [&](const Row* a, const Row* b) {
    const auto va = key.value(*a), vb = key.value(*b);
    // Numbers: high first; text: A-Z; reversed flips both.
    const bool before = std::holds_alternative<double>(va) ? std::get<double>(va) > std::get<double>(vb)
                                                          : std::get<std::string>(va) < std::get<std::string>(vb);
    const bool after = std::holds_alternative<double>(va) ? std::get<double>(va) < std::get<double>(vb)
                                                         : std::get<std::string>(va) > std::get<std::string>(vb);
    return s.reversed ? after : before;
  });
  return out;
}

template <typename Row>
std::vector<std::string> names(const std::vector<Key<Row>>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back(k.name);
  return out;
}

const char* title(View v) {
  switch (v) {
    case View::kPorts: return "PORTS";
    case View::kFlows: return "BUSIEST FLOWS";
    case View::kDrops: return "DROPS BY REASON";
    case View::kThreads: return "DATAPATH THREADS";
  }
  return "?";
}

std::string rate(double v) { return v == 0 ? "0" : si(v); }

std::string uptime(double s) {
  const auto t = static_cast<uint64_t>(s);
  if (t >= 86400) return fmt::format("{}d{:02}h{:02}m", t / 86400, t % 86400 / 3600, t % 3600 / 60);
  return fmt::format("{}h{:02}m{:02}s", t / 3600, t % 3600 / 60, t % 60);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t nl = text.find('\n', at);
    out.push_back(text.substr(at, nl == std::string::npos ? std::string::npos : nl - at));
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return out;
}

std::string ports_table(const Frame& f, const ViewState& s) {
  Table t({"PORT", "LINK", "RX-PKT/S", "RX-BIT/S", "TX-PKT/S", "TX-BIT/S", "DROPS/S", "RX-PKTS", "TX-PKTS", "DROPS"});
  size_t n = 0;
  for (const auto* r : sorted(f.ports, kPortKeys, s)) {
    if (n++ >= s.max_rows) break;
    t.add({r->name, r->link, rate(r->rx_pps), rate(r->rx_bps), rate(r->tx_pps), rate(r->tx_bps), rate(r->drop_pps),
           std::to_string(r->rx_packets), std::to_string(r->tx_packets), std::to_string(r->drops)});
  }
  return t.render();
}

std::string flows_table(const Frame& f, const ViewState& s) {
  Table t({"PROTO", "SOURCE", "DESTINATION", "NETWORK", "STATE", "RULE", "PKT/S", "BIT/S", "PACKETS", "BYTES", "AGE(s)"});
  size_t n = 0;
  for (const auto* r : sorted(f.flows, kFlowKeys, s)) {
    if (n++ >= s.max_rows) break;
    t.add({r->proto, r->src, r->dst, r->network, r->state, r->rule, rate(r->pps), rate(r->bps), std::to_string(r->packets),
           std::to_string(r->bytes), std::to_string(r->age_s)});
  }
  return t.render() + (f.flows.empty() ? "no flows\n" : "");
}

std::string drops_table(const Frame& f, const ViewState& s) {
  Table t({"PORT", "REASON", "DROPS/S", "TOTAL"});
  size_t n = 0;
  for (const auto* r : sorted(f.drops, kDropKeys, s)) {
    if (n++ >= s.max_rows) break;
    t.add({r->port, r->reason, rate(r->per_s), std::to_string(r->total)});
  }
  return t.render() + (f.drops.empty() ? "no drops since the daemon started\n" : "");
}

std::string threads_table(const Frame& f, const ViewState& s) {
  Table t({"PMD", "CPU", "PORTS", "PKT/S", "BUSY%", "IDLE%", "SLEEP%", "CYCLES/PKT"});
  size_t n = 0;
  for (const auto* r : sorted(f.pmds, kPmdKeys, s)) {
    if (n++ >= s.max_rows) break;
    t.add({std::to_string(r->index), std::to_string(r->cpu), r->ports, rate(r->pps), fmt::format("{:.1f}", r->busy_pct),
           fmt::format("{:.1f}", r->idle_pct), fmt::format("{:.1f}", r->sleep_pct), fmt::format("{:.0f}", r->cycles_per_packet)});
  }
  return t.render();
}

}  // namespace

std::string si(double v) {
  static constexpr const char* kUnits[] = {"", "k", "M", "G", "T"};
  size_t u = 0;
  while (v >= 999.95 && u + 1 < std::size(kUnits)) {
    v /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.1f}", v) : fmt::format("{:.2f}{}", v, kUnits[u]);
}

const char* view_name(View v) {
  switch (v) {
    case View::kPorts: return "ports";
    case View::kFlows: return "flows";
    case View::kDrops: return "drops";
    case View::kThreads: return "threads";
  }
  return "?";
}

bool parse_view(const std::string& word, View& out) {
  for (View v : {View::kPorts, View::kFlows, View::kDrops, View::kThreads})
    if (word == view_name(v)) {
      out = v;
      return true;
    }
  return false;
}

std::vector<std::string> sort_key_names(View v) {
  switch (v) {
    case View::kPorts: return names(kPortKeys);
    case View::kFlows: return names(kFlowKeys);
    case View::kDrops: return names(kDropKeys);
    case View::kThreads: return names(kPmdKeys);
  }
  return {};
}

std::vector<std::string> header_lines(const Frame& f, const ViewState& s) {
  const auto& t = f.totals;
  std::vector<std::string> out;
  out.push_back(fmt::format("ivswitchd up {}   every {:.1f} s   rx {} pkt/s {} bit/s   tx {} pkt/s {} bit/s   drops {}/s{}",
                            uptime(t.uptime_s), s.interval_s, rate(t.rx_pps), rate(t.rx_bps), rate(t.tx_pps), rate(t.tx_bps),
                            rate(t.drop_pps), f.restarted ? "   (daemon restarted: counters began again)" : ""));
  out.push_back(fmt::format("flows {} of {}   installed {}/s   expired {}/s   upcalls {}/s{}", t.flows, t.flow_capacity,
                            rate(t.installed_ps), rate(t.expired_ps), rate(t.upcalls_ps),
                            t.flows_listed < t.flows ? fmt::format("   (flow rates: the {} flows listed first)", t.flows_listed) : ""));
  std::string threads = "threads";
  for (const auto& p : f.pmds) threads += fmt::format("   pmd{} cpu{} busy {:.1f}%", p.index, p.cpu, p.busy_pct);
  out.push_back(threads);
  return out;
}

std::vector<std::string> table_lines(const Frame& f, const ViewState& s) {
  const auto keys = sort_key_names(s.view);
  const std::string& key = keys[s.sort % keys.size()];
  const bool text_key = key == "name" || key == "port" || key == "reason" || key == "cpu";
  std::vector<std::string> out;
  out.push_back(fmt::format("{}   sort: {} ({})   keys: p f d t views  s sort  r reverse  +/- interval  ? help  q quit",
                            title(s.view), key, (text_key != s.reversed) ? "low first" : "high first"));
  std::string body;
  switch (s.view) {
    case View::kPorts: body = ports_table(f, s); break;
    case View::kFlows: body = flows_table(f, s); break;
    case View::kDrops: body = drops_table(f, s); break;
    case View::kThreads: body = threads_table(f, s); break;
  }
  for (auto& l : lines_of(body)) out.push_back(std::move(l));
  return out;
}

std::vector<std::string> help_lines() {
  return {"ivctl top: keys",
          "",
          "  p   ports: packets and bits per second each way, drops per second",
          "  f   busiest flows (both directions together), by bit/s",
          "  d   drops by port and reason, per second and since start",
          "  t   datapath threads: busy / idle / asleep share of the time, cycles per packet",
          "  s   next sort key of this view          r   reverse the order",
          "  +   sample less often (interval x2)     -   more often (interval / 2, at least 0.1 s)",
          "  ?   this help (any key returns)         q   quit (also Ctrl-C)",
          "",
          "Rates are computed by ivctl from two successive samples of the daemon's counters.",
          "bit/s counts Ethernet frames without preamble and FCS."};
}

std::string render_once(const Frame& f, double interval_s, size_t max_flows) {
  std::string out;
  ViewState s{.interval_s = interval_s};
  for (const auto& l : header_lines(f, s)) out += l + "\n";
  for (View v : {View::kPorts, View::kThreads, View::kDrops, View::kFlows}) {
    s.view = v;
    s.max_rows = v == View::kFlows ? max_flows : 1000000;
    auto lines = table_lines(f, s);
    // The title without the keys: nothing to press here.
    lines[0] = lines[0].substr(0, lines[0].find("   keys:"));
    out += "\n";
    for (const auto& l : lines) out += l + "\n";
  }
  return out;
}

}  // namespace ivs::cli::top
