#pragma once
// The mirrors (vTAP and packet broker; docs/mirrors.md) as a module (pipeline/module.hpp),
// being moved out of the core (issue 17). Here so far: the per-packet work (the rx, tx
// and flow taps and the tool ports' copies, one TapStage per Forwarder: mirror/tap_stage.hpp),
// the control side, `ivctl show mirrors`, `ivctl mirror add/del` and the mirror families of
// /metrics (mirror/control.cpp). Still in the core: the mirror pool, the tap and tool
// rings, the broker, the published MirrorSet and the live captures
// (pipeline/datapath_mirror.cpp, the `capture` stream in control/server.cpp), and the flow
// taps' call site in the flow lookup (pipeline/forwarder_mirror.cpp).
#include <memory>
#include <mutex>
#include <vector>

#include "common/error.hpp"
#include "pipeline/module.hpp"

namespace ivs::config {
struct MirrorConfig;
struct MirrorTool;
}  // namespace ivs::config

namespace ivs::mirror {

struct ToolStats;
class TapStage;
struct MirrorCounters;

class MirrorModule final : public pipeline::Module {
 public:
  static constexpr std::string_view kName = "mirror";
  explicit MirrorModule(pipeline::Datapath* dp) : dp_(dp) {}
  static std::expected<std::unique_ptr<pipeline::Module>, std::string> create(const pipeline::ModuleEnv& env);

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
  pipeline::Datapath* dp_;  // nullptr in the unit rig: no broker, no mirrors, no methods
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
