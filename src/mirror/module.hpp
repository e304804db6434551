#pragma once
// The mirrors (vTAP and packet broker; docs/mirrors.md) as a module (pipeline/module.hpp).
// It owns everything of the mirrors: the published MirrorSet the datapath threads' stages
// read (published.cpp: compiled on every change, swapped with an atomic pointer, the old
// one freed after the Datapath's RCU grace period), `ivctl mirror add/del`, the live
// captures (`ivctl capture`, served by control/server.cpp through capture_start/stop), its
// part of a policy reload (plan_reload: the file's mirrors plus those added at runtime,
// compiled before anything applies), the per-packet work (the rx, tx and flow taps and the
// tool ports' copies, one TapStage per Forwarder: mirror/tap_stage.hpp), `ivctl show
// mirrors` and the mirror families of /metrics (mirror/control.cpp), the mirror pool, each
// datapath thread's tap and tool rings and the broker with its thread (started and stopped
// by start/stop, hence while no datapath thread runs).
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "common/error.hpp"
#include "config/model.hpp"
#include "mirror/broker.hpp"
#include "pipeline/module.hpp"

struct rte_mempool;
struct rte_ring;

namespace ivs::mirror {

class CaptureStream;
class MirrorSet;
class TapStage;
struct MirrorCounters;
struct TapRings;

// One mirror as `ivctl show mirrors` shows it.
struct MirrorSnapshot {
  config::MirrorConfig cfg;
  uint8_t slot = 0;
  std::string filter_engine;  // "" (no filter), "rte_bpf JIT", "rte_bpf", "libpcap"
  // How the filter is judged: "per flow", "per packet: <why>" (packet::FilterAnalysis::mode;
  // "" without a filter).
  std::string filter_mode;
  // The datapath threads' tap counters, summed.
  uint64_t eligible = 0, filtered_out = 0, sampled_out = 0, copied = 0, no_buffer = 0, queue_full = 0, duplicate = 0,
           tools_full = 0;
  uint64_t filter_runs = 0, verdict_cached = 0;
  bool capture = false;  // a live capture (ivctl capture), not a configured mirror
  SlotStats broker;
};

class MirrorModule final : public pipeline::Module {
 public:
  static constexpr std::string_view kName = "mirror";
  explicit MirrorModule(pipeline::Datapath* dp);  // (out of line: Broker is incomplete here)
  ~MirrorModule() override;
  static std::expected<std::unique_ptr<pipeline::Module>, std::string> create(const pipeline::ModuleEnv& env);

  // The broker's thread: started before the datapath threads enqueue copies, stopped
  // after they stopped (it delivers what is queued and closes the files).
  std::expected<void, std::string> start() override;
  void stop() override;
  std::string_view name() const noexcept override { return kName; }
  // One TapStage per Forwarder at kReceive, kEgress and kPoll (mirrors can be added at
  // runtime: always there; with no mirror it returns at once).
  void make_stages(pipeline::StageSet& out) const override;
  // A reload: the file's mirrors plus those added at runtime (flow taps resolve groups,
  // labels and VM names like the policy, so they are recompiled with it), compiled against
  // `next` here; the apply publishes that set. Holds the mirrors' lock from the plan to
  // the apply (or until the reload is refused), so that no `mirror add` runs in between
  // or sees the Datapath's config half reloaded.
  std::expected<std::function<void()>, std::string> plan_reload(const config::Config& next) override;
  // (a refusal is a conflict with the mirrors added at runtime, not a restart's matter)
  bool changes_at_runtime() const noexcept override { return true; }
  // The mirrors' names by counter slot, for a trace's kMirrorCopied records.
  std::vector<std::string> trace_slot_names(pipeline::TraceEvent e) const override;
  void add_control_methods(const pipeline::AddControlMethod& add) override;
  std::string metrics() const override;

  // `ivctl show mirrors`: coverage per mirror (eligible, filtered out, sampled out,
  // copied, dropped by reason) and what the broker delivered to each tool.
  nlohmann::json view() const;
  std::vector<MirrorSnapshot> mirrors() const;
  // The datapath threads' tap counters of `slot`, summed (control threads).
  void sum_counters(uint8_t slot, MirrorCounters& out) const;
  // A datapath thread's TapStage going away (its Forwarder destroyed).
  void forget(const TapStage* st) const;

  // Add or remove one at runtime (`m` read and checked by the config's readers): the set
  // is compiled, published to the datapath threads, and the old one freed after a grace
  // period. Errors leave everything as it was.
  std::expected<void, std::string> add(const config::MirrorConfig& m);
  std::expected<void, std::string> del(const std::string& name);
  // Live capture (`ivctl capture`): a mirror named "capture-N" tapping `port` (rx, tx or
  // both) whose one tool is a stream the caller reads; capture_stop removes it.
  struct Capture {
    std::string name;
    std::shared_ptr<CaptureStream> stream;
  };
  static constexpr size_t kMaxCaptures = 4;  // each holds a control connection thread
  std::expected<Capture, std::string> capture_start(const std::string& port, const std::string& direction,
                                                    const std::string& filter, uint32_t snaplen);
  void capture_stop(const std::string& name);
  // `listener` is told the set now published (nullptr: none), at once and after every
  // change (after the grace period): the flow records name a flow's mirrors with it.
  using SetListener = std::function<void(std::shared_ptr<const MirrorSet>)>;
  void on_published(SetListener listener);

 private:
  // A set compiled and not published yet, with its mirrors' slots and generations.
  struct Planned {
    std::vector<config::MirrorConfig> mirrors;
    std::vector<uint8_t> slots;
    std::vector<uint32_t> generations;
    std::vector<bool> kept;  // unchanged from the published set: same slot, counters, tools
    std::shared_ptr<const MirrorSet> set;
  };
  // published.cpp; mutex_ held. plan: compile `next` against `cfg` (errors change nothing
  // but the next generation number); publish: the broker's tools, the set, the grace
  // period, the listeners, the freed slots' counters and tools (cannot fail).
  std::expected<Planned, std::string> plan(const config::Config& cfg, std::vector<config::MirrorConfig> next);
  void publish(Planned p);
  std::expected<void, std::string> set_mirrors(std::vector<config::MirrorConfig> next);
  std::vector<config::MirrorTool> resolved_tools(std::vector<config::MirrorTool> tools) const;

  // The pool, the rings (one pair per datapath thread) and the broker, made by create()
  // for the daemon's datapath; a thread's rings (none in the unit rig, which attaches its own).
  std::expected<void, std::string> make_broker(const pipeline::ModuleEnv& env);
  TapRings rings(unsigned thread) const noexcept;

  pipeline::Datapath* dp_;  // nullptr in the unit rig: no broker, no mirrors, no methods
  rte_mempool* pool_ = nullptr;  // copies never take switching buffers
  std::vector<rte_ring*> tap_rings_, tool_rings_;  // by datapath thread: to and from the broker
  std::unique_ptr<Broker> broker_;
  // The datapath threads' stages (not trace's or a test's): their counters are summed for
  // show mirrors and /metrics. Written when a Forwarder is built or destroyed.
  mutable std::mutex stages_mutex_;
  mutable std::vector<TapStage*> stages_;
  // The mirrors now configured (mutex_): the set the stages read (nullptr: none; read
  // once per burst by each TapStage), the same set owned, and per mirror its config, slot
  // and generation; the config file's mirrors (a reload merges them with those added at
  // runtime); the live captures' streams by mirror name.
  mutable std::mutex mutex_;
  std::atomic<const MirrorSet*> set_{nullptr};
  std::shared_ptr<const MirrorSet> owned_;
  std::vector<config::MirrorConfig> cfg_;
  std::vector<uint8_t> slots_;
  std::vector<uint32_t> generations_;
  uint32_t next_generation_ = 1;
  std::vector<config::MirrorConfig> file_mirrors_;
  std::map<std::string, std::shared_ptr<CaptureStream>> captures_;
  unsigned next_capture_ = 1;
  std::vector<SetListener> listeners_;
};

// A tool's config (as in the config file) and what the broker delivered to it (`st`
// nullptr: a tool the broker has not taken yet, described from its config).
nlohmann::json view_mirror_tool(const config::MirrorTool& t, const ToolStats* st);
// A mirror given in the config's shape, read and checked by the config's own readers
// against `cfg` (invalid_config, with the first error's path: "mirrors[0].tools[0]...").
Result<config::MirrorConfig> read_mirror_request(const config::Config& cfg, const nlohmann::json& params);

}  // namespace ivs::mirror
