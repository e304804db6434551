#pragma once
// The mirrors (vTAP and packet broker; docs/mirrors.md) as a module (pipeline/module.hpp),
// being moved out of the core (issue 17). Here so far: the per-packet work (the rx, tx
// and flow taps and the tool ports' copies, one TapStage per Forwarder: mirror/tap_stage.hpp),
// the control side, `ivctl show mirrors`, `ivctl mirror add/del` and the mirror families of
// /metrics (mirror/control.cpp), the mirror pool, each datapath thread's tap and tool
// rings and the broker with its thread (started and stopped by start/stop, hence while
// no datapath thread runs). Still in the core: the published MirrorSet and the live
// captures (pipeline/datapath_mirror.cpp, the `capture` stream in control/server.cpp),
// and the flow taps' call site in the flow lookup (pipeline/forwarder_mirror.cpp).
#include <memory>
#include <mutex>
#include <vector>

#include "common/error.hpp"
#include "pipeline/module.hpp"

struct rte_mempool;
struct rte_ring;

namespace ivs::config {
struct MirrorConfig;
struct MirrorTool;
}  // namespace ivs::config

namespace ivs::mirror {

struct ToolStats;
class TapStage;
struct MirrorCounters;
struct TapRings;
class Broker;

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
  // A slot no mirror of `set` holds with its generation any more: its counters start
  // again at zero (after the grace period the Datapath waited for before telling).
  void on_mirrors(std::shared_ptr<const MirrorSet> set) override;
  void add_control_methods(const pipeline::AddControlMethod& add) override;
  std::string metrics() const override;

  // `ivctl show mirrors`: coverage per mirror (eligible, filtered out, sampled out,
  // copied, dropped by reason) and what the broker delivered to each tool.
  nlohmann::json view() const;
  // The datapath threads' tap counters of `slot`, summed (control threads).
  void sum_counters(uint8_t slot, MirrorCounters& out) const;
  // A datapath thread's TapStage going away (its Forwarder destroyed).
  void forget(const TapStage* st) const;

 private:
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
  std::shared_ptr<const MirrorSet> published_;  // the last set on_mirrors() heard of
};

// A tool's config (as in the config file) and what the broker delivered to it (`st`
// nullptr: a tool the broker has not taken yet, described from its config).
nlohmann::json view_mirror_tool(const config::MirrorTool& t, const ToolStats* st);
// A mirror given in the config's shape, read and checked by the config's own readers
// against `cfg` (invalid_config, with the first error's path: "mirrors[0].tools[0]...").
Result<config::MirrorConfig> read_mirror_request(const config::Config& cfg, const nlohmann::json& params);

}  // namespace ivs::mirror
