#pragma once
// Counters of the QoS guard kept by one datapath thread (single writer each, see
// common/counter.hpp); the control thread sums them over threads for ivctl and /metrics.
#include <array>
#include <vector>

#include "common/counter.hpp"

namespace ivs::qos {

// Per sending VM (index into the config's vms; the last slot: senders that are not a
// configured VM).
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
  std::vector<Counter> class_packets;  // packets output by class (after rewrite)
  QosCounters(size_t n_vms, size_t n_meters, size_t n_classes) : vms(n_vms + 1), meters(n_meters), class_packets(n_classes) {}
  VmQosCounters& vm(int16_t index) { return index < 0 ? vms.back() : vms[static_cast<size_t>(index)]; }
};

}  // namespace ivs::qos
