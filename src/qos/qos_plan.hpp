#pragma once
// The QoS assignments of one policy epoch, compiled: which DSCP the sender of each
// direction of a flow must carry (docs/qos.md). Decided once per flow, on the policy
// thread, when the flow is installed or revalidated; the datapath only reads the result
// from the flow entry (qos/decision.hpp).
#include <string>
#include <unordered_map>
#include <vector>

#include "config/model.hpp"
#include "policy/match.hpp"
#include "qos/decision.hpp"

namespace ivs::qos {

struct CompiledAssignment : policy::CompiledMatch {
  std::string name;
  uint8_t dscp = config::kNoDscp;
  config::QosMode mode = config::QosMode::kEnforce;
  int16_t meter = -1;
};

class QosPlan {
 public:
  static QosPlan compile(const config::Config& cfg);

  bool enabled() const { return enabled_; }
  const std::vector<CompiledAssignment>& assignments() const { return assign_; }

  // Both directions of a flow from its first packet: `first` as the rules see it,
  // `eth` its Ethernet header (MACs identify VMs without an IPv4 address). out[d] is the
  // decision for the packets of direction d; `first_dir` is the first packet's.
  void decide_flow(const policy::FlowTuple& first, uint8_t first_dir, const uint8_t* eth, Decision out[2]) const;
  // The reply direction's tuple of a flow's first packet.
  policy::FlowTuple reply_of(const policy::FlowTuple& first) const;
  // One direction (the tuple's sender), with the sender VM already known.
  Decision decide(const policy::FlowTuple& t, int16_t vm) const;
  int16_t vm_by_ip(uint32_t ip) const;
  int16_t vm_by_mac(const uint8_t* mac) const;

 private:
  bool enabled_ = false;
  std::vector<CompiledAssignment> assign_;
  std::unordered_map<uint32_t, int16_t> vm_ip_;
  std::unordered_map<uint64_t, int16_t> vm_mac_;
  struct Subnet {
    Ipv4Prefix prefix;
    int16_t network;
  };
  std::vector<Subnet> subnets_;
  struct Subnet6 {
    IpPrefix prefix;  // a network's subnet6
    int16_t network;
  };
  std::vector<Subnet6> subnets6_;
};

}  // namespace ivs::qos
