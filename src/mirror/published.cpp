// The mirror module's published set: add/remove at runtime, live captures, a reload's
// part, publication to the datapath threads (an atomic pointer each TapStage reads once
// per burst; the old set freed after the Datapath's RCU grace period), snapshots.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>

#include "config/mirror_reader.hpp"
#include "mirror/capture_stream.hpp"
#include "mirror/mirror_set.hpp"
#include "mirror/module.hpp"
#include "mirror/tap_stage.hpp"
#include "pipeline/datapath.hpp"

namespace ivs::mirror {

// Remote tools without a remote_mac: the MAC of the VM with the tool's address (the config
// check made sure there is one).
std::vector<config::MirrorTool> MirrorModule::resolved_tools(std::vector<config::MirrorTool> tools) const {
  for (auto& t : tools) {
    t.members = resolved_tools(std::move(t.members));
    if ((t.kind == config::MirrorTool::kErspan || t.kind == config::MirrorTool::kVxlan) && t.remote_mac.is_zero())
      for (const auto cfg = dp_->config(); const auto& vm : cfg->vms)  // (the snapshot held through the loop)
        if (vm.ip && *vm.ip == t.remote_ip) t.remote_mac = vm.mac;
  }
  return tools;
}

auto MirrorModule::plan(const config::Config& cfg, std::vector<config::MirrorConfig> next) -> std::expected<Planned, std::string> {
  if (next.size() > kMaxMirrors) return std::unexpected(fmt::format("at most {} mirrors", kMaxMirrors));
  // Slots: a mirror kept unchanged keeps its slot, its counters and its generation; a new
  // or changed one takes a free slot, one no mirror used before if there is one (its
  // counters are reset after the switch-over), and a new generation.
  Planned p;
  p.slots.assign(next.size(), 0xff);
  p.generations.assign(next.size(), 0);
  p.kept.assign(next.size(), false);
  std::vector<bool> used(kMaxMirrors, false);
  for (size_t i = 0; i < next.size(); ++i)
    for (size_t j = 0; j < cfg_.size(); ++j)
      if (!p.kept[i] && cfg_[j].name == next[i].name && cfg_[j] == next[i]) {
        p.slots[i] = slots_[j];
        p.generations[i] = generations_[j];
        p.kept[i] = used[p.slots[i]] = true;
      }
  const auto was_used = [&](size_t s) { return std::find(slots_.begin(), slots_.end(), s) != slots_.end(); };
  for (size_t i = 0; i < next.size(); ++i) {
    if (p.kept[i]) continue;
    size_t s = 0;
    while (s < used.size() && (used[s] || was_used(s))) ++s;
    if (s == used.size()) s = static_cast<size_t>(std::find(used.begin(), used.end(), false) - used.begin());
    p.slots[i] = static_cast<uint8_t>(s);
    used[s] = true;
    p.generations[i] = next_generation_++;
  }
  const auto tables = dp_->tables();  // the ports by slot, now
  auto set = MirrorSet::compile(cfg, next, p.slots, p.generations,
                                [&tables](const std::string& port) { return tables->port_index(port); }, dp_->port_capacity());
  if (!set) return std::unexpected(set.error());
  p.set = std::move(*set);
  p.mirrors = std::move(next);
  return p;
}

void MirrorModule::publish(Planned p) {
  // Tools first (the broker drops copies of unknown slots), then the datapath's set.
  for (size_t i = 0; i < p.mirrors.size(); ++i) {
    if (p.kept[i]) continue;
    const auto stream = captures_.find(p.mirrors[i].name);
    broker_->set_tools(p.slots[i], p.generations[i], p.mirrors[i].name, resolved_tools(p.mirrors[i].tools),
                       stream != captures_.end() ? stream->second : nullptr);
  }
  set_.store(p.set->size() ? p.set.get() : nullptr, std::memory_order_release);
  dp_->synchronize();  // no datapath thread sees the old set now
  const std::shared_ptr<const MirrorSet> old = std::move(owned_);
  owned_ = std::move(p.set);
  for (const auto& tell : listeners_) tell(owned_->size() ? owned_ : nullptr);  // (the flow records name a flow's mirrors)
  for (uint8_t slot : slots_) {
    bool still = false;  // kept by an unchanged mirror
    for (size_t i = 0; i < p.mirrors.size(); ++i) still |= p.kept[i] && p.slots[i] == slot;
    if (still) continue;
    if (std::find(p.slots.begin(), p.slots.end(), slot) == p.slots.end()) broker_->set_tools(slot, 0, "", {});
    // Its tap counters start again at zero: no datapath thread counts into it for the old
    // mirror any more.
    std::lock_guard lock(stages_mutex_);
    for (TapStage* st : stages_) st->reset_slot(slot);
  }
  cfg_ = std::move(p.mirrors);
  slots_ = std::move(p.slots);
  generations_ = std::move(p.generations);
}

std::expected<void, std::string> MirrorModule::set_mirrors(std::vector<config::MirrorConfig> next) {
  auto p = plan(*dp_->config(), std::move(next));
  if (!p) return std::unexpected(p.error());
  publish(std::move(*p));
  return {};
}

void MirrorModule::on_published(SetListener listener) {
  std::lock_guard lock(mutex_);
  listener(owned_ && owned_->size() ? owned_ : nullptr);
  listeners_.push_back(std::move(listener));
}

std::expected<std::function<void()>, std::string> MirrorModule::plan_reload(const config::Config& next) {
  if (!dp_) return std::function<void()>{};
  // Held until the apply (or the refusal: the function is then destroyed unapplied).
  auto lock = std::make_shared<std::unique_lock<std::mutex>>(mutex_);
  const auto has_flow_taps = [](const std::vector<config::MirrorConfig>& ms) {
    return std::any_of(ms.begin(), ms.end(), [](const auto& m) {
      return std::any_of(m.taps.begin(), m.taps.end(), [](const auto& t) { return t.flows.has_value(); });
    });
  };
  std::optional<std::vector<config::MirrorConfig>> mirrors;
  if (next.mirrors == file_mirrors_) {
    if (has_flow_taps(cfg_)) mirrors = cfg_;
  } else {
    std::vector<config::MirrorConfig> merged = next.mirrors;
    for (const auto& m : cfg_) {
      const auto in = [&](const std::vector<config::MirrorConfig>& v) {
        return std::find_if(v.begin(), v.end(), [&](const auto& x) { return x.name == m.name; }) != v.end();
      };
      if (!in(file_mirrors_) && !in(next.mirrors)) merged.push_back(m);
    }
    mirrors = std::move(merged);
  }
  std::shared_ptr<Planned> planned;
  if (mirrors) {
    if (mirrors->size() > kMaxMirrors)
      return std::unexpected(fmt::format("{} mirrors with those added at runtime; at most {}", mirrors->size(), kMaxMirrors));
    // Against `next`: the names the reload leaves (its policy's groups, its VMs' labels;
    // the rest of the config is the running one, or the reload is refused).
    auto p = plan(next, std::move(*mirrors));
    if (!p) return std::unexpected(p.error());
    planned = std::make_shared<Planned>(std::move(*p));
  }
  return [this, lock, planned, file = next.mirrors]() mutable {
    if (planned) publish(std::move(*planned));
    file_mirrors_ = std::move(file);
    lock->unlock();
  };
}

std::expected<void, std::string> MirrorModule::add(const config::MirrorConfig& m) {
  std::lock_guard lock(mutex_);
  const auto cfg_snapshot = dp_->config();
  const config::Config& cfg = *cfg_snapshot;
  if (m.name.empty()) return std::unexpected("a mirror needs a name");
  for (const auto& x : cfg_)
    if (x.name == m.name) return std::unexpected(fmt::format("mirror '{}' exists (delete it first)", m.name));
  if (m.taps.empty() || m.tools.empty()) return std::unexpected("a mirror needs at least one tap and one tool");
  if (auto problems = config::mirror_problems(cfg, m); !problems.empty())
    return std::unexpected(fmt::format("{}", fmt::join(problems, "; ")));
  for (const auto& t : m.tools) {  // one writer per file
    if (t.kind != config::MirrorTool::kPcapng) continue;
    if (t.path == cfg.sw.control_socket) return std::unexpected(fmt::format("file {} is the control socket", t.path));
    for (const auto& p : cfg.ports)
      if (t.path == p.tx_file || t.path == p.rx_file) return std::unexpected(fmt::format("file {} is used by port '{}'", t.path, p.name));
    for (const auto& x : cfg_)
      for (const auto& u : x.tools)
        if (u.kind == config::MirrorTool::kPcapng && u.path == t.path)
          return std::unexpected(fmt::format("file {} is already written by mirror '{}'", t.path, x.name));
  }
  if (!m.filter.empty())
    if (auto err = config::pcap_filter_error(m.filter)) return std::unexpected(fmt::format("filter {}: {}", config::quoted_filter(m.filter), *err));
  auto next = cfg_;
  next.push_back(m);
  auto ok = set_mirrors(std::move(next));
  if (ok) spdlog::info("mirror {} added ({} tap(s), filter '{}', {} tool(s))", m.name, m.taps.size(), m.filter, m.tools.size());
  return ok;
}

std::expected<void, std::string> MirrorModule::del(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto next = cfg_;
  const auto it = std::find_if(next.begin(), next.end(), [&](const auto& m) { return m.name == name; });
  if (it == next.end()) return std::unexpected(fmt::format("no mirror '{}'", name));
  next.erase(it);
  auto ok = set_mirrors(std::move(next));
  if (ok) spdlog::info("mirror {} removed", name);
  if (auto c = captures_.find(name); ok && c != captures_.end()) {  // its reader sees the end of the stream
    c->second->close();
    captures_.erase(c);
  }
  return ok;
}

auto MirrorModule::capture_start(const std::string& port, const std::string& direction, const std::string& filter, uint32_t snaplen)
    -> std::expected<Capture, std::string> {
  std::lock_guard lock(mutex_);
  if (captures_.size() >= kMaxCaptures) return std::unexpected(fmt::format("at most {} live captures at once", kMaxCaptures));
  if (!dp_->config()->find_port(port)) return std::unexpected(fmt::format("no port '{}'", port));
  if (direction != "rx" && direction != "tx" && direction != "both")
    return std::unexpected(fmt::format("direction '{}': expected rx, tx or both", direction));
  if (!filter.empty())
    if (auto err = config::pcap_filter_error(filter)) return std::unexpected(fmt::format("filter {}: {}", config::quoted_filter(filter), *err));
  config::MirrorConfig m;
  do m.name = fmt::format("capture-{}", next_capture_++);
  while (std::any_of(cfg_.begin(), cfg_.end(), [&](const auto& x) { return x.name == m.name; }));
  m.taps.push_back({port, direction != "tx", direction != "rx"});
  m.filter = filter;
  m.snaplen = snaplen;
  config::MirrorTool tool;
  tool.kind = config::MirrorTool::kStream;
  tool.path = m.name;
  m.tools.push_back(tool);
  auto stream = std::make_shared<CaptureStream>();
  captures_[m.name] = stream;
  auto next = cfg_;
  next.push_back(m);
  if (auto ok = set_mirrors(std::move(next)); !ok) {
    captures_.erase(m.name);
    return std::unexpected(ok.error());
  }
  spdlog::info("live capture {} started on port {} ({}), filter '{}'", m.name, port, direction, filter);
  return Capture{m.name, stream};
}

void MirrorModule::capture_stop(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto next = cfg_;
  std::erase_if(next, [&](const auto& m) { return m.name == name; });
  if (!captures_.contains(name)) return;  // removed by ivctl mirror del
  if (set_mirrors(std::move(next))) spdlog::info("live capture {} stopped", name);
  captures_[name]->close();
  captures_.erase(name);
}

std::vector<MirrorSnapshot> MirrorModule::mirrors() const {
  std::lock_guard lock(mutex_);
  std::vector<MirrorSnapshot> out;
  for (size_t i = 0; i < cfg_.size(); ++i) {
    MirrorSnapshot s;
    s.cfg = cfg_[i];
    s.slot = slots_[i];
    s.capture = captures_.contains(s.cfg.name);
    if (const auto* f = owned_ ? owned_->mirror(static_cast<uint8_t>(i)).filter.get() : nullptr) {
      s.filter_engine = f->on_libpcap() ? "libpcap" : f->jitted() ? "rte_bpf JIT" : "rte_bpf";
      s.filter_mode = f->analysis().mode();
    }
    s.broker = broker_->stats(s.slot);
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> MirrorModule::trace_slot_names(pipeline::TraceEvent e) const {
  if (e != pipeline::TraceEvent::kMirrorCopied) return {};
  std::lock_guard lock(mutex_);
  std::vector<std::string> names(kMaxMirrors);
  if (const MirrorSet* set = set_.load(std::memory_order_acquire))
    for (size_t i = 0; i < set->size(); ++i) names[set->mirror(static_cast<uint8_t>(i)).slot] = set->mirror(static_cast<uint8_t>(i)).name;
  return names;
}

}  // namespace ivs::mirror
