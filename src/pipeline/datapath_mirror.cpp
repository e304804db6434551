// Mirrors at runtime: add/remove, publish to the datapath threads (RCU), snapshots.
#include <fmt/format.h>
#include <rte_rcu_qsbr.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "config/mirror_reader.hpp"
#include "pipeline/datapath.hpp"

namespace ivs::pipeline {

// Remote tools without a remote_mac: the MAC of the VM with the tool's address (the config
// check made sure there is one).
std::vector<config::MirrorTool> Datapath::resolved_tools(std::vector<config::MirrorTool> tools) const {
  for (auto& t : tools) {
    t.members = resolved_tools(std::move(t.members));
    if ((t.kind == config::MirrorTool::kErspan || t.kind == config::MirrorTool::kVxlan) && t.remote_mac.is_zero())
      for (const auto& vm : cfg_.vms)
        if (vm.ip && *vm.ip == t.remote_ip) t.remote_mac = vm.mac;
  }
  return tools;
}

std::expected<void, std::string> Datapath::set_mirrors(std::vector<config::MirrorConfig> next) {
  if (next.size() > mirror::kMaxMirrors) return std::unexpected(fmt::format("at most {} mirrors", mirror::kMaxMirrors));
  // Slots: a mirror kept unchanged keeps its slot, its counters and its generation; a new
  // or changed one takes a free slot, one no mirror used before if there is one (its
  // counters are reset after the switch-over), and a new generation.
  std::vector<uint8_t> slots(next.size(), 0xff);
  std::vector<uint32_t> generations(next.size(), 0);
  std::vector<bool> kept(next.size(), false), used(mirror::kMaxMirrors, false);
  for (size_t i = 0; i < next.size(); ++i)
    for (size_t j = 0; j < mirror_cfg_.size(); ++j)
      if (!kept[i] && mirror_cfg_[j].name == next[i].name && mirror_cfg_[j] == next[i]) {
        slots[i] = mirror_slots_[j];
        generations[i] = mirror_generations_[j];
        kept[i] = used[slots[i]] = true;
      }
  const auto was_used = [&](size_t s) { return std::find(mirror_slots_.begin(), mirror_slots_.end(), s) != mirror_slots_.end(); };
  for (size_t i = 0; i < next.size(); ++i) {
    if (kept[i]) continue;
    size_t s = 0;
    while (s < used.size() && (used[s] || was_used(s))) ++s;
    if (s == used.size()) s = static_cast<size_t>(std::find(used.begin(), used.end(), false) - used.begin());
    slots[i] = static_cast<uint8_t>(s);
    used[s] = true;
    generations[i] = next_generation_++;
  }
  auto set = mirror::MirrorSet::compile(cfg_, next, slots, generations);
  if (!set) return std::unexpected(set.error());
  // Tools first (the broker drops copies of unknown slots), then the datapath's set.
  for (size_t i = 0; i < next.size(); ++i) {
    if (kept[i]) continue;
    const auto stream = captures_.find(next[i].name);
    broker_->set_tools(slots[i], generations[i], next[i].name, resolved_tools(next[i].tools),
                       stream != captures_.end() ? stream->second : nullptr);
  }
  const mirror::MirrorSet* published = set->get();
  mirror_set_.store(published->size() ? published : nullptr, std::memory_order_release);
  rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);  // no datapath thread sees the old set now
  mirror_owned_ = std::move(*set);
  for (auto& mod : modules_) mod->on_mirrors(mirror_owned_->size() ? mirror_owned_ : nullptr);  // (the flow records name a flow's mirrors)
  for (uint8_t old : mirror_slots_) {
    bool still = false;  // kept by an unchanged mirror
    for (size_t i = 0; i < next.size(); ++i) still |= kept[i] && slots[i] == old;
    if (still) continue;
    if (std::find(slots.begin(), slots.end(), old) == slots.end()) broker_->set_tools(old, 0, "", {});
    // (its tap counters are reset by the mirror module, told by on_mirrors above)
  }
  mirror_cfg_ = std::move(next);
  mirror_slots_ = std::move(slots);
  mirror_generations_ = std::move(generations);
  return {};
}

std::expected<void, std::string> Datapath::mirror_add(const config::MirrorConfig& m) {
  std::lock_guard lock(mirror_mutex_);
  if (m.name.empty()) return std::unexpected("a mirror needs a name");
  for (const auto& x : mirror_cfg_)
    if (x.name == m.name) return std::unexpected(fmt::format("mirror '{}' exists (delete it first)", m.name));
  if (m.taps.empty() || m.tools.empty()) return std::unexpected("a mirror needs at least one tap and one tool");
  if (auto problems = config::mirror_problems(cfg_, m); !problems.empty())
    return std::unexpected(fmt::format("{}", fmt::join(problems, "; ")));
  for (const auto& t : m.tools) {  // one writer per file
    if (t.kind != config::MirrorTool::kPcapng) continue;
    if (t.path == cfg_.sw.control_socket) return std::unexpected(fmt::format("file {} is the control socket", t.path));
    for (const auto& p : cfg_.ports)
      if (t.path == p.tx_file || t.path == p.rx_file) return std::unexpected(fmt::format("file {} is used by port '{}'", t.path, p.name));
    for (const auto& x : mirror_cfg_)
      for (const auto& u : x.tools)
        if (u.kind == config::MirrorTool::kPcapng && u.path == t.path)
          return std::unexpected(fmt::format("file {} is already written by mirror '{}'", t.path, x.name));
  }
  if (!m.filter.empty())
    if (auto err = config::pcap_filter_error(m.filter)) return std::unexpected(fmt::format("filter {}: {}", config::quoted_filter(m.filter), *err));
  auto next = mirror_cfg_;
  next.push_back(m);
  auto ok = set_mirrors(std::move(next));
  if (ok) spdlog::info("mirror {} added ({} tap(s), filter '{}', {} tool(s))", m.name, m.taps.size(), m.filter, m.tools.size());
  return ok;
}

std::expected<void, std::string> Datapath::mirror_del(const std::string& name) {
  std::lock_guard lock(mirror_mutex_);
  auto next = mirror_cfg_;
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

std::expected<Datapath::Capture, std::string> Datapath::capture_start(const std::string& port, const std::string& direction,
                                                                      const std::string& filter, uint32_t snaplen) {
  std::lock_guard lock(mirror_mutex_);
  if (captures_.size() >= kMaxCaptures) return std::unexpected(fmt::format("at most {} live captures at once", kMaxCaptures));
  if (!cfg_.find_port(port)) return std::unexpected(fmt::format("no port '{}'", port));
  if (direction != "rx" && direction != "tx" && direction != "both")
    return std::unexpected(fmt::format("direction '{}': expected rx, tx or both", direction));
  if (!filter.empty())
    if (auto err = config::pcap_filter_error(filter)) return std::unexpected(fmt::format("filter {}: {}", config::quoted_filter(filter), *err));
  config::MirrorConfig m;
  do m.name = fmt::format("capture-{}", next_capture_++);
  while (std::any_of(mirror_cfg_.begin(), mirror_cfg_.end(), [&](const auto& x) { return x.name == m.name; }));
  m.taps.push_back({port, direction != "tx", direction != "rx"});
  m.filter = filter;
  m.snaplen = snaplen;
  config::MirrorTool tool;
  tool.kind = config::MirrorTool::kStream;
  tool.path = m.name;
  m.tools.push_back(tool);
  auto stream = std::make_shared<mirror::CaptureStream>();
  captures_[m.name] = stream;
  auto next = mirror_cfg_;
  next.push_back(m);
  if (auto ok = set_mirrors(std::move(next)); !ok) {
    captures_.erase(m.name);
    return std::unexpected(ok.error());
  }
  spdlog::info("live capture {} started on port {} ({}), filter '{}'", m.name, port, direction, filter);
  return Capture{m.name, stream};
}

void Datapath::capture_stop(const std::string& name) {
  std::lock_guard lock(mirror_mutex_);
  auto next = mirror_cfg_;
  std::erase_if(next, [&](const auto& m) { return m.name == name; });
  if (!captures_.contains(name)) return;  // removed by ivctl mirror del
  if (set_mirrors(std::move(next))) spdlog::info("live capture {} stopped", name);
  captures_[name]->close();
  captures_.erase(name);
}

std::vector<MirrorSnapshot> Datapath::mirrors() const {
  std::lock_guard lock(mirror_mutex_);
  std::vector<MirrorSnapshot> out;
  for (size_t i = 0; i < mirror_cfg_.size(); ++i) {
    MirrorSnapshot s;
    s.cfg = mirror_cfg_[i];
    s.slot = mirror_slots_[i];
    s.capture = captures_.contains(s.cfg.name);
    if (const auto* f = mirror_owned_ ? mirror_owned_->mirror(static_cast<uint8_t>(i)).filter.get() : nullptr)
      s.filter_engine = f->on_libpcap() ? "libpcap" : f->jitted() ? "rte_bpf JIT" : "rte_bpf";
    s.broker = broker_->stats(s.slot);
    out.push_back(std::move(s));
  }
  return out;
}


std::vector<std::string> Datapath::mirror_names_by_slot() const {
  std::lock_guard lock(mirror_mutex_);
  std::vector<std::string> names(mirror::kMaxMirrors);
  if (const mirror::MirrorSet* set = mirror_set_.load(std::memory_order_acquire))
    for (size_t i = 0; i < set->size(); ++i) names[set->mirror(static_cast<uint8_t>(i)).slot] = set->mirror(static_cast<uint8_t>(i)).name;
  return names;
}

}  // namespace ivs::pipeline
