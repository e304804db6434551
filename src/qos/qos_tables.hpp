#pragma once
// The QoS tables the datapath reads per packet, compiled once at start (classes, meters
// and egress scheduling change only with a restart; the per-flow assignments reload with
// the policy, see qos_plan.hpp):
//  - DSCP -> class, and per class its scheduler queue (strict traffic class 0..11, or one
//    of the four weighted queues of the best-effort class) and ingress meter;
//  - meter profiles (rte_meter trTCM, RFC 2698) and what each colour does.
// Immutable after create(); shared read-only by every datapath thread.
#include <rte_meter.h>

#include <array>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "packet/checksum.hpp"

namespace ivs::qos {

inline constexpr uint8_t kNoClass = 0xff;

struct ClassInfo {
  std::string name;
  std::vector<uint8_t> dscp;
  bool strict = false;
  uint32_t priority = 0, weight = 0;
  uint8_t traffic_class = 0, queue = 0;  // rte_sched: TC 0..12 (12 = best effort), queue 0..3 in TC 12
  int16_t meter = -1;
};

struct MeterInfo {
  config::MeterConfig cfg;
  rte_meter_trtcm_profile profile;  // rte_meter takes it non-const but only reads it
  config::MeterAction action[3];  // by rte_color: green, yellow, red
};

class QosTables {
 public:
  // nullptr-free: an empty config gives tables with enabled() false.
  static std::expected<std::unique_ptr<QosTables>, std::string> create(const config::Config& cfg);

  bool enabled() const { return enabled_; }
  size_t vm_count() const { return vm_count_; }
  bool has_classes() const { return !classes_.empty(); }
  bool has_class_meters() const { return class_meters_; }
  uint8_t class_of(uint8_t dscp) const { return class_of_[dscp & 63]; }
  const std::vector<ClassInfo>& classes() const { return classes_; }
  const std::vector<MeterInfo>& meters() const { return meters_; }

 private:
  bool enabled_ = false;
  size_t vm_count_ = 0;
  bool class_meters_ = false;
  std::array<uint8_t, 64> class_of_{};
  std::vector<ClassInfo> classes_;
  std::vector<MeterInfo> meters_;
};

// The DSCP of an untagged Ethernet frame (IPv4 TOS / IPv6 traffic class), or kNoDscp.
inline uint8_t frame_dscp(const uint8_t* eth, uint32_t len) noexcept {
  if (len < 16) return config::kNoDscp;
  const uint16_t type = static_cast<uint16_t>(eth[12] << 8 | eth[13]);
  if (type == 0x0800) return eth[15] >> 2;
  if (type == 0x86dd) return static_cast<uint8_t>(((eth[14] & 0x0f) << 4 | eth[15] >> 4) >> 2);
  return config::kNoDscp;
}

// Rewrites the DSCP of the IP header at `l3` (IPv4 or IPv6), keeping the ECN bits; the
// IPv4 header checksum is updated incrementally (RFC 1624).
inline void write_dscp(uint8_t* l3, bool ipv6, uint8_t dscp) noexcept {
  if (!ipv6) {
    const uint16_t old_w = static_cast<uint16_t>(l3[0] << 8 | l3[1]);
    l3[1] = static_cast<uint8_t>(dscp << 2 | (l3[1] & 0x03));
    const uint16_t new_w = static_cast<uint16_t>(l3[0] << 8 | l3[1]);
    const uint16_t stored = static_cast<uint16_t>(l3[10] << 8 | l3[11]);
    const uint16_t sum = packet::csum_update16(stored, old_w, new_w);
    l3[10] = static_cast<uint8_t>(sum >> 8);
    l3[11] = static_cast<uint8_t>(sum);
    return;
  }
  // Version (4 bits), traffic class (8: DSCP 6 + ECN 2), flow label (20).
  const uint8_t tc = static_cast<uint8_t>(dscp << 2 | ((l3[1] >> 4) & 0x03));
  l3[0] = static_cast<uint8_t>((l3[0] & 0xf0) | tc >> 4);
  l3[1] = static_cast<uint8_t>((l3[1] & 0x0f) | (tc & 0x0f) << 4);
}


}  // namespace ivs::qos
