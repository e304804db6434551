#pragma once
// Builds flow records from flow entries (policy thread) and hands them to the exporter:
// the policy::FlowRecorder the slow path calls when a flow ends (its entry past its RCU
// grace period: final counters) or reaches its active timeout. One record per direction
// that moved packets since the previous record; packets and octets are deltas, so the
// records of a flow add up to the counters `ivctl show flows` shows.
//
// Also describes a flow for `ivctl show flows` (its ports, VLAN, DSCP, mirrors) with the
// same code, so that the view and the records cannot disagree.
//
// Threads: record() and describe() on the policy thread or under the slow path's mutex;
// set_mirrors() from the control thread (its own mutex).
#include <array>
#include <map>
#include <memory>
#include <mutex>

#include "config/model.hpp"
#include "flowexport/exporter.hpp"
#include "mirror/mirror_set.hpp"
#include "policy/classifier.hpp"
#include "policy/flow_recorder.hpp"

namespace ivs::flowexport {

class EntryRecorder final : public policy::FlowRecorder {
 public:
  EntryRecorder(const config::Config& cfg, Exporter& exporter);

  bool wanted() const noexcept override { return exporter_.wanted(); }
  uint32_t active_timeout_s() const noexcept override { return exporter_.active_timeout_s(); }
  void record(flow::FlowEntry& e, flow::Reported& reported, uint8_t reason, bool final, const policy::Classifier& pol,
              uint32_t now_s) override;

  // Direction `d` of the flow (packets from the key's endpoint d), everything but the
  // counters and times.
  FlowRecord describe(const flow::FlowEntry& e, uint8_t d, const policy::Classifier& pol) const;
  // The mirrors now configured (the datapath's compiled set); nullptr: none.
  void set_mirrors(std::shared_ptr<const mirror::MirrorSet> set);

 private:
  struct Side {
    uint32_t port = 0;  // index + 1
    uint16_t vlan = 0;
  };
  Side side(const flow::FlowEntry& e, int s) const;
  std::string mirrors_of(const flow::FlowEntry& e, uint32_t in_if, uint32_t out_if) const;

  // Copied from the config (a reload may replace the daemon's copy meanwhile; it never
  // changes ports, networks or VMs).
  size_t n_ports_;
  std::vector<uint16_t> network_vlan_;
  Exporter& exporter_;
  std::map<std::array<uint8_t, 17>, Side> by_address_;  // family, address: a configured VM's port
  mutable std::mutex mirrors_mutex_;
  std::shared_ptr<const mirror::MirrorSet> mirrors_;
};

}  // namespace ivs::flowexport
