// Mirrors over the control socket: show (coverage per mirror: eligible, filtered out,
// sampled out, copied, dropped by reason, delivered per tool), add and delete at runtime;
// and their /metrics families.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "config/mirror_reader.hpp"
#include "common/counter_metrics.hpp"
#include "common/params.hpp"
#include "mirror/counter_fields.hpp"
#include "mirror/module.hpp"
#include "mirror/tap_stage.hpp"
#include "pipeline/datapath.hpp"

namespace ivs::mirror {

using nlohmann::json;

json view_mirror_tool(const config::MirrorTool& t, const ToolStats* st) {
  json j;
  switch (t.kind) {
    case config::MirrorTool::kPcapng:
      j = {{"pcapng", t.path}, {"rotate_mb", t.rotate_mb}, {"rotate_seconds", t.rotate_seconds}, {"keep", t.keep}};
      j["files_started"] = st ? st->files : 0;
      break;
    case config::MirrorTool::kPort: j = {{"port", t.port}}; break;
    case config::MirrorTool::kErspan:
      j = {{"erspan", {{"version", t.erspan_version}, {"session", t.session}, {"remote_ip", t.remote_ip.to_string()},
                       {"local_ip", t.local_ip.to_string()}, {"port", t.port}}}};
      break;
    case config::MirrorTool::kVxlan:
      j = {{"vxlan", {{"vni", t.vni}, {"udp_port", t.udp_port}, {"remote_ip", t.remote_ip.to_string()},
                      {"local_ip", t.local_ip.to_string()}, {"port", t.port}}}};
      break;
    case config::MirrorTool::kGroup: {
      json members = json::array();
      for (size_t k = 0; k < t.members.size(); ++k)
        members.push_back(view_mirror_tool(t.members[k], st && k < st->members.size() ? &st->members[k] : nullptr));
      j = {{"group", members}};
      break;
    }
    case config::MirrorTool::kStream: j = {{"capture", t.path}}; break;
  }
  json& row = j;
  IVS_MIRROR_TOOL_FIELDS(IVS_FIELD_JSON)
  return j;
}

namespace {
// A flow tap: its match, and a one-line description for tables.
json view_flow_tap(const config::FlowMatch& f) {
  std::string d;
  if (!f.from.empty()) d += fmt::format(" from {}", fmt::join(f.from, ","));
  if (!f.to.empty()) d += fmt::format(" to {}", fmt::join(f.to, ","));
  if (f.protocol) d += fmt::format(" proto {}", f.protocol);
  for (const auto& p : f.ports) d += p.lo == p.hi ? fmt::format(" port {}", p.lo) : fmt::format(" ports {}-{}", p.lo, p.hi);
  if (!f.network.empty()) d += " network " + f.network;
  return {{"flows", {{"from", f.from}, {"to", f.to}, {"protocol", f.protocol}, {"network", f.network}}},
          {"description", "flows" + (d.empty() ? std::string(" (all)") : d)}};
}
}  // namespace

json MirrorModule::view() const {
  json out = json::array();
  if (!dp_) return {{"mirrors", out}};
  for (auto& m : mirrors()) {
    MirrorCounters c;
    sum_counters(m.slot, c);
    m.eligible = c.eligible.get();
    m.filtered_out = c.filtered_out.get();
    m.sampled_out = c.sampled_out.get();
    m.copied = c.copied.get();
    m.no_buffer = c.no_buffer.get();
    m.queue_full = c.queue_full.get();
    m.duplicate = c.duplicate.get();
    m.tools_full = c.tools_full.get();
    m.filter_runs = c.filter_runs.get();
    m.verdict_cached = c.verdict_cached.get();
    json taps = json::array(), tools = json::array();
    for (const auto& t : m.cfg.taps) taps.push_back(t.flows ? view_flow_tap(*t.flows)
                                                            : json{{"port", t.port}, {"direction", t.rx && t.tx ? "both" : t.rx ? "rx" : "tx"}});
    for (size_t k = 0; k < m.cfg.tools.size(); ++k)
      tools.push_back(view_mirror_tool(m.cfg.tools[k], k < m.broker.tools.size() ? &m.broker.tools[k] : nullptr));
    json row{{"name", m.cfg.name},   {"live_capture", m.capture}, {"taps", taps},       {"filter", m.cfg.filter},
             {"filter_engine", m.filter_engine}, {"filter_mode", m.filter_mode}, {"snaplen", m.cfg.snaplen},  {"sample", m.cfg.sample}, {"dedup", m.cfg.dedup},
             {"tools", tools}};
    IVS_MIRROR_FIELDS(IVS_FIELD_JSON)
    out.push_back(std::move(row));
  }
  return {{"mirrors", out}};
}

// /metrics: each mirror's tools, a group's members after it as "GROUP / MEMBER".
std::string MirrorModule::metrics() const {
  const json v = view();
  json flat = json::object();
  flat["mirrors"] = json::array();
  for (const auto& m : v["mirrors"]) {
    json tools = json::array();
    for (const auto& t : m["tools"]) {
      tools.push_back(t);
      if (t.contains("group"))
        for (json member : t["group"]) {
          member["what"] = t["what"].get<std::string>() + " / " + member["what"].get<std::string>();
          tools.push_back(std::move(member));
        }
    }
    flat["mirrors"].push_back({{"name", m["name"]}, {"tools", tools}});
  }
  std::string out;
  control::append_metrics(out, kMirrorSchema, v);
  control::append_metrics(out, kMirrorToolSchema, flat);
  return out;
}

// params: a mirror in the config's shape (JSON), read by the config reader itself.
Result<config::MirrorConfig> read_mirror_request(const config::Config& cfg, const json& params) {
  config::Diagnostics d("mirror add");
  YAML::Node seq(YAML::NodeType::Sequence);
  YAML::Node node;
  std::string text;
  try {
    text = params.dump();  // JSON is YAML
  } catch (const json::exception& e) {  // invalid UTF-8: refused, not replaced (it could be a file name)
    return fail(ErrorCode::kInvalidParams, fmt::format("mirror: {}", e.what()));
  }
  try {
    node = YAML::Load(text);
  } catch (const YAML::Exception& e) {  // yaml-cpp's one way to refuse a document
    return fail(ErrorCode::kInvalidConfig, fmt::format("mirror: {}", e.what()));
  }
  seq.push_back(node);
  std::vector<config::MirrorConfig> ms;
  std::vector<YAML::Node> nodes;
  config::read_mirrors(seq, ms, nodes, d);
  if (!ms.empty()) config::check_flow_taps(cfg, ms[0], node, "mirrors[0]", d);
  if (!d.ok() || ms.empty()) {
    const auto errors = d.errors();
    return fail(ErrorCode::kInvalidConfig, fmt::format("{}", fmt::join(errors, "\n")), errors.empty() ? "" : config_path_of(errors[0]));
  }
  return std::move(ms[0]);
}

void MirrorModule::add_control_methods(const pipeline::AddControlMethod& add) {
  if (!dp_) return;
  add("show.mirrors", [this](const json&) -> Result<json> { return view(); });
  // params: a mirror in the config's shape.
  add("mirror.add", [this](const json& params) -> Result<json> {
    auto m = read_mirror_request(*dp_->config(), params);
    if (!m) return std::unexpected(m.error());
    // What the readers cannot know: the switch's state (a file another mirror writes, a name in use).
    if (auto ok = this->add(*m); !ok) return fail(ErrorCode::kRefused, ok.error());
    return json{{"added", m->name}};
  });
  // params: {name}.
  add("mirror.del", [this](const json& params) -> Result<json> {
    auto name = control::Params(params).string("name", "", 64, true);
    if (!name) return std::unexpected(name.error());
    // del's one refusal is a name it does not know.
    if (auto ok = this->del(*name); !ok) return fail(ErrorCode::kNotFound, ok.error(), "params.name");
    return json{{"removed", *name}};
  });
}

}  // namespace ivs::mirror
