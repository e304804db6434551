#pragma once
// Counters of the QoS guard kept by one datapath thread's guard stage (qos/guard.hpp;
// single writer each, see common/counter.hpp); the QoS module sums them over the threads
// for ivctl and /metrics (GuardSums). The packets out by class are the egress stage's
// (qos/egress_stage.hpp), summed as EgressSums (qos/module.hpp).
#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "common/counter.hpp"

namespace ivs::qos {

// Per sending VM (index into the config's vms, those configured at start; the last slot:
// senders that are not a configured VM, and VMs a reload added after them).
struct alignas(64) VmQosCounters {
  std::array<Counter, 64> seen;  // packets by the DSCP they arrived with
  Counter mismatched;            // arrived with a DSCP other than the assigned one (enforce or audit)
  Counter rewritten;             // DSCP rewritten (enforce, or a meter's remark)
  std::array<Counter, 3> colour; // metered packets by colour (green, yellow, red)
  Counter meter_dropped;
};

struct alignas(64) MeterCounters {
  std::array<Counter, 3> colour;  // green, yellow, red
  Counter dropped, remarked;
};

struct QosCounters {
  std::vector<VmQosCounters> vms;
  std::vector<MeterCounters> meters;
  // Set (before its first count, then a release fence) by a stage that runs for `ivctl
  // trace`: a simulated packet's counts are the trace's, never the switch's, so the module
  // leaves these counters out of its sums (and forgets them once their Forwarder is gone).
  std::atomic<bool> traced{false};
  QosCounters(size_t n_vms, size_t n_meters) : vms(n_vms + 1), meters(n_meters) {}
  // A VM added by a reload after those configured at start (index past the counters sized
  // then) counts in the last slot with the senders that are not configured VMs.
  VmQosCounters& vm(int16_t index) {
    return index < 0 || static_cast<size_t>(index) + 1 >= vms.size() ? vms.back() : vms[static_cast<size_t>(index)];
  }
};

// The guard's counters summed over the datapath threads (QosModule::sums).
struct GuardSums {
  struct Vm {
    std::array<uint64_t, 64> seen{};
    uint64_t mismatched = 0, rewritten = 0, meter_dropped = 0;
    std::array<uint64_t, 3> colour{};
  };
  std::vector<Vm> vms;  // per config VM, then one for senders that are not configured VMs
  struct Meter {
    std::array<uint64_t, 3> colour{};
    uint64_t dropped = 0, remarked = 0;
  };
  std::vector<Meter> meters;
};

}  // namespace ivs::qos
