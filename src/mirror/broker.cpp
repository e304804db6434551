#include "mirror/broker.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <rte_cycles.h>
#include <rte_ring_elem.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "config/paths.hpp"
#include "mirror/encap.hpp"
#include "mirror/flow_hash.hpp"

namespace ivs::mirror {

namespace {
constexpr unsigned kBurst = 64;
}

// One tool of a mirror, with its counters (written by the broker thread, read under the
// mutex by the control thread; plain atomics so a read never tears).
struct Broker::Tool {
  config::MirrorTool cfg;
  int port = -1;                        // kPort, kErspan, kVxlan: port index
  uint32_t sequence = 0;                // kErspan: GRE sequence number
  std::shared_ptr<CaptureStream> stream;            // kStream
  std::vector<std::unique_ptr<Tool>> members;       // kGroup
  rte_pcapng_t* pcapng = nullptr;       // kPcapng: the open file
  int fd = -1;
  uint64_t file_bytes = 0, opened_tsc = 0;
  std::atomic<uint64_t> delivered{0}, bytes{0}, errors{0};
  std::atomic<uint32_t> files{0};
  bool backed_up = false;               // its output is full (Broker::backed_up: with hysteresis)

  ~Tool() { close_file(); }
  void close_file() {
    if (pcapng) rte_pcapng_close(pcapng);  // closes fd too
    pcapng = nullptr;
    fd = -1;
  }
  // Start a new file at cfg.path; the previous ones shift to .1, .2, ... (keep bounded).
  bool open_file() {
    close_file();
    if (files.load() > 0) {
      std::remove(fmt::format("{}.{}", cfg.path, cfg.keep).c_str());
      for (uint32_t k = cfg.keep; k > 1; --k)
        std::rename(fmt::format("{}.{}", cfg.path, k - 1).c_str(), fmt::format("{}.{}", cfg.path, k).c_str());
      std::rename(cfg.path.c_str(), fmt::format("{}.1", cfg.path).c_str());
    }
    fd = config::open_output_file(cfg.path);  // no link followed, no FIFO or device opened
    if (fd < 0) return false;
    pcapng = rte_pcapng_fdopen(fd, "Linux", nullptr, "ivswitch", nullptr);
    if (!pcapng) {
      ::close(fd);
      fd = -1;
      return false;
    }
    file_bytes = 0;
    opened_tsc = rte_rdtsc();
    files.fetch_add(1);
    return true;
  }
};

struct Broker::Slot {
  std::string mirror;
  uint32_t generation = 0;
  bool needs_hash = false;              // a group or a VXLAN tool: the flow hash per copy
  std::vector<std::unique_ptr<Tool>> tools;
  std::atomic<uint64_t> received{0};
  uint32_t hash = 0;                    // the current copy's flow hash (when needs_hash)
};

std::string describe_tool(const config::MirrorTool& c) {
  switch (c.kind) {
    case config::MirrorTool::kPcapng: return "pcapng " + c.path;
    case config::MirrorTool::kPort: return "port " + c.port;
    case config::MirrorTool::kErspan:
      return fmt::format("erspan{} {} session {} via port {}", c.erspan_version == 3 ? "3" : "2", c.remote_ip.to_string(), c.session, c.port);
    case config::MirrorTool::kVxlan: return fmt::format("vxlan {} vni {} via port {}", c.remote_ip.to_string(), c.vni, c.port);
    case config::MirrorTool::kGroup: return fmt::format("group of {}", c.members.size());
    case config::MirrorTool::kStream: return "capture stream";
  }
  return {};
}

namespace {
ToolStats tool_stats(const config::MirrorTool& c) { return {describe_tool(c)}; }
}  // namespace

Broker::Broker(std::vector<rte_ring*> tap_rings, std::vector<rte_ring*> tool_rings, std::vector<unsigned> port_owner,
               std::vector<uint16_t> port_ids, std::vector<std::string> port_names, rte_mempool* pool)
    : tap_rings_(std::move(tap_rings)),
      tool_rings_(std::move(tool_rings)),
      port_owner_(std::move(port_owner)),
      port_ids_(std::move(port_ids)),
      port_names_(std::move(port_names)),
      pool_(pool),
      slots_(kMaxMirrors) {}

Broker::~Broker() { stop(); }

void Broker::start() {
  running_ = true;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "ivs-broker");
    uint32_t nap_us = 0;
    while (running_.load(std::memory_order_relaxed)) {
      if (run_once()) {
        nap_us = 0;
        continue;
      }
      // Idle: nap with back-off up to 1 ms (copies wait at most that long in the rings);
      // with no mirror at all, 20 ms (no copy can come before a mirror is added).
      nap_us = nap_us ? std::min<uint32_t>(nap_us * 2, 1000) : 10;
      if (nap_us == 1000 && !any_mirror()) nap_us = 20000;
      timespec ts{0, static_cast<long>(nap_us) * 1000};
      nanosleep(&ts, nullptr);
    }
  });
}

void Broker::stop() {
  if (running_.exchange(false) && thread_.joinable()) thread_.join();
  while (run_once() > 0) {
  }
  for (auto& s : slots_)
    if (s)
      for (auto& t : s->tools) t->close_file();
}

std::unique_ptr<Broker::Tool> Broker::make_tool(const config::MirrorTool& c, const std::shared_ptr<CaptureStream>& stream) const {
  auto t = std::make_unique<Tool>();
  t->cfg = c;
  for (size_t p = 0; p < port_names_.size(); ++p)
    if (!c.port.empty() && port_names_[p] == c.port) t->port = static_cast<int>(p);
  if (c.kind == config::MirrorTool::kStream) t->stream = stream;
  for (const auto& m : c.members) t->members.push_back(make_tool(m, stream));
  return t;
}

void Broker::set_tools(uint8_t slot, uint32_t generation, const std::string& mirror, const std::vector<config::MirrorTool>& tools,
                       std::shared_ptr<CaptureStream> stream) {
  auto s = std::make_unique<Slot>();
  s->mirror = mirror;
  s->generation = generation;
  for (const auto& c : tools) {
    s->tools.push_back(make_tool(c, stream));
    s->needs_hash |= c.kind == config::MirrorTool::kGroup || c.kind == config::MirrorTool::kVxlan;
  }
  std::lock_guard lock(mutex_);
  pending_.emplace_back(slot, tools.empty() ? nullptr : std::move(s));
  if (!running_.load()) {  // not started (tests, start-up): apply now
    for (auto& [k, v] : pending_) slots_[k] = std::move(v);
    pending_.clear();
  }
}

bool Broker::any_mirror() {
  std::lock_guard lock(mutex_);
  for (const auto& s : slots_)
    if (s) return true;
  return !pending_.empty();
}

void Broker::apply_pending() {
  std::lock_guard lock(mutex_);
  for (auto& [k, v] : pending_) slots_[k] = std::move(v);  // the old slot's files close here
  pending_.clear();
}

namespace {
ToolStats read_stats(const auto& t) {
  ToolStats st = tool_stats(t.cfg);
  st.delivered = t.delivered.load();
  st.bytes = t.bytes.load();
  st.errors = t.errors.load();
  st.files = t.files.load();
  for (const auto& m : t.members) st.members.push_back(read_stats(*m));
  return st;
}
}  // namespace

SlotStats Broker::stats(uint8_t slot) const {
  std::lock_guard lock(mutex_);
  SlotStats st;
  const Slot* s = slots_[slot].get();
  if (!s) return st;
  st.mirror = s->mirror;
  st.received = s->received.load();
  for (const auto& t : s->tools) st.tools.push_back(read_stats(*t));
  return st;
}

unsigned Broker::run_once() {
  {
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (lock.owns_lock() && !pending_.empty()) {
      lock.unlock();
      apply_pending();
    }
  }
  unsigned total = 0;
  for (auto* r : tap_rings_) {
    TapRecord recs[kBurst];
    const unsigned n = rte_ring_sc_dequeue_burst_elem(r, recs, sizeof(TapRecord), kBurst, nullptr);
    if (!n) continue;
    {
      std::lock_guard lock(mutex_);  // slots_ may be replaced by apply_pending only under it
      deliver(recs, n);
    }
    total += n;
  }
  publish_tools_full();  // every round, idle ones too: no copy comes to say a tool drained
  return total;
}

// Whether `t` can take no more copies now: a capture stream whose reader is behind, the
// queue toward a tool port's datapath thread (shared by the ports that thread owns) nearly
// full, a group whose members all are. Hysteresis: full at a high mark, free again below
// a low one, so the datapath does not flip between copying and not on every round. A
// pcapng file is never backed up (a failed write is an error, counted, not a full tool).
bool Broker::backed_up(Tool& t) {
  switch (t.cfg.kind) {
    case config::MirrorTool::kStream:
      t.backed_up = t.stream && t.stream->backed_up(t.backed_up);
      break;
    case config::MirrorTool::kPort:
    case config::MirrorTool::kErspan:
    case config::MirrorTool::kVxlan: {
      if (t.port < 0) break;  // an unknown port is an error per copy, not a full tool
      const rte_ring* ring = tool_rings_[port_owner_[static_cast<size_t>(t.port)]];
      const unsigned free = rte_ring_free_count(ring);
      t.backed_up = t.backed_up ? free < rte_ring_get_capacity(ring) / 2 : free < kBurst;
      break;
    }
    case config::MirrorTool::kGroup: {
      bool all = !t.members.empty();
      for (auto& m : t.members) all &= backed_up(*m);  // (each member's state kept up to date)
      t.backed_up = all;
      break;
    }
    case config::MirrorTool::kPcapng: break;
  }
  return t.backed_up;
}

// Per slot: the mirror's generation when every tool is backed up (its taps then copy
// nothing, counted), else 0. Stored only when it changes: the datapath threads' cache
// line stays theirs.
void Broker::publish_tools_full() {
  for (size_t k = 0; k < slots_.size(); ++k) {
    Slot* s = slots_[k].get();
    uint32_t want = 0;
    if (s && !s->tools.empty()) {
      bool all = true;
      for (auto& t : s->tools) all &= backed_up(*t);
      if (all) want = s->generation;
    }
    if (tools_full_.published(static_cast<uint8_t>(k)) != want) tools_full_.set(static_cast<uint8_t>(k), want);
  }
}

void Broker::deliver(const TapRecord* recs, unsigned n) {
  for (unsigned i = 0; i < n; ++i) {
    const TapRecord& r = recs[i];
    Slot* s = slots_[r.slot].get();
    rte_mbuf* copy = r.copy;
    if (!s || s->generation != r.generation) {  // the mirror was deleted while its copies were queued
      rte_pktmbuf_free(copy);
      continue;
    }
    s->received.fetch_add(1, std::memory_order_relaxed);
    if (s->needs_hash) s->hash = symmetric_flow_hash(copy, r.orig_len);
    for (size_t k = 0; k < s->tools.size() && copy; ++k) deliver_one(*s->tools[k], r, copy, k + 1 == s->tools.size(), *s);
    if (copy) rte_pktmbuf_free(copy);
  }
}

// Delivers `copy` to `t`; when `last`, `t` may take the mbuf (then `copy` becomes nullptr).
bool Broker::deliver_one(Tool& t, const TapRecord& r, rte_mbuf*& copy, bool last, Slot& s) {
  bool ok = false;
  const uint32_t len = copy->pkt_len;
  switch (t.cfg.kind) {
    case config::MirrorTool::kPcapng:
      ok = write_pcapng(t, r, copy, s);
      break;
    case config::MirrorTool::kPort:
    case config::MirrorTool::kErspan:
    case config::MirrorTool::kVxlan:
      ok = send_to_port(t, r, copy, last, s);
      break;
    case config::MirrorTool::kGroup:
      ok = !t.members.empty() && deliver_one(*t.members[s.hash % t.members.size()], r, copy, last, s);
      break;
    case config::MirrorTool::kStream:
      ok = t.stream && t.stream->push(copy, r.orig_len, r.tsc);
      break;
  }
  if (ok) {
    t.delivered.fetch_add(1, std::memory_order_relaxed);
    t.bytes.fetch_add(len, std::memory_order_relaxed);
  } else {
    t.errors.fetch_add(1, std::memory_order_relaxed);
  }
  return ok;
}

bool Broker::write_pcapng(Tool& t, const TapRecord& r, const rte_mbuf* copy, Slot& s) {
  const uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();
  if (!t.pcapng || t.file_bytes >= uint64_t{t.cfg.rotate_mb} << 20 ||
      (t.cfg.rotate_seconds && now - t.opened_tsc >= t.cfg.rotate_seconds * hz)) {
    if (!t.open_file()) {
      if (t.errors.load() % 10000 == 0) spdlog::warn("mirror {}: cannot write {}", s.mirror, t.cfg.path);
      return false;
    }
  }
  rte_mbuf* pm = rte_pcapng_copy(port_ids_[r.port], 0, copy, pool_, UINT32_MAX, r.tsc,
                                 r.direction == kRx ? RTE_PCAPNG_DIRECTION_IN : RTE_PCAPNG_DIRECTION_OUT);
  if (!pm) return false;
  // The Enhanced Packet Block's original length (offset 24): the frame before slicing.
  uint32_t orig = r.orig_len;
  if (pm->data_len >= 28) std::memcpy(rte_pktmbuf_mtod_offset(pm, uint8_t*, 24), &orig, 4);
  const ssize_t w = rte_pcapng_write_packets(t.pcapng, &pm, 1);
  rte_pktmbuf_free(pm);
  if (w < 0) return false;
  t.file_bytes += static_cast<uint64_t>(w);
  return true;
}

// A tool port, or a remote tool's tunnel port: the copy (encapsulated for a remote tool)
// goes to the datapath thread that owns the port.
bool Broker::send_to_port(Tool& t, const TapRecord& r, rte_mbuf*& copy, bool last, Slot& s) {
  if (t.port < 0) return false;
  // A remote tool's copy must be one segment (the tunnel cuts it to 1500 bytes anyway).
  const bool encap = t.cfg.kind != config::MirrorTool::kPort;
  const bool take = last && !(encap && copy->nb_segs > 1);
  rte_mbuf* m = take ? copy : rte_pktmbuf_copy(copy, pool_, 0, encap ? kTunnelIpMtu + 14 : UINT32_MAX);
  if (!m) return false;
  if (take) copy = nullptr;  // handed over
  if (encap) {
    const EncapMeta meta{r.orig_len, r.port, r.direction == kTx, clock_.ns(r.tsc), t.sequence++, s.hash};
    if (!encapsulate(m, t.cfg, meta)) {
      rte_pktmbuf_free(m);
      return false;
    }
  }
  ToolPacket tp{m, static_cast<uint16_t>(t.port), r.slot, 0};
  if (rte_ring_sp_enqueue_elem(tool_rings_[port_owner_[static_cast<size_t>(t.port)]], &tp, sizeof(tp)) != 0) {
    rte_pktmbuf_free(m);
    return false;
  }
  return true;
}

}  // namespace ivs::mirror
