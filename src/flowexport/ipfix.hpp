#pragma once
// IPFIX (RFC 7011) encoding of flow records: two templates (IPv4 256, IPv6 257) with
// the IANA elements and ivswitch's enterprise elements, data sets, and messages that never
// exceed the configured size (a UDP datagram must not be fragmented: RFC 7011 10.3.3).
//
// Threads: an encoder belongs to one collector and is used by the exporter thread only;
// its sequence number is that collector's (RFC 7011 3.1: per transport session and
// observation domain, counting data records).
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "flowexport/record.hpp"

namespace ivs::flowexport {

inline constexpr uint16_t kTemplateIpv4 = 256, kTemplateIpv6 = 257;
inline constexpr uint32_t kDefaultEnterprise = 32473;  // RFC 5612: reserved for documentation
inline constexpr size_t kMinMessage = 512;             // at least one record of the longest kind

// ivswitch's enterprise element ids (under the configured enterprise number).
enum class IvsElement : uint16_t {
  kFlowState = 1,
  kPolicyAction = 2,
  kRuleId = 3,
  kRuleName = 4,
  kPolicyEpoch = 5,
  kChainToDevice = 6,
  kChainShortcut = 7,
  kDscpObserved = 8,
  kDscpAssigned = 9,
  kMirrors = 10,
  kFlowInitiator = 11,
};

// One field of a template: (enterprise, id, length); length 0xffff is variable.
struct FieldSpec {
  uint16_t id;
  uint16_t length;
  bool enterprise;
  std::string_view name;  // for docs and tests
};
// The fields of the template for `family` (4 or 6), in wire order.
std::span<const FieldSpec> template_fields(uint8_t family);

struct Message {
  std::vector<uint8_t> bytes;
  size_t records = 0;  // data records in it
};

class IpfixEncoder {
 public:
  IpfixEncoder(uint32_t observation_domain, uint32_t enterprise, size_t max_message)
      : domain_(observation_domain), enterprise_(enterprise), max_(max_message < kMinMessage ? kMinMessage : max_message) {}

  // One message holding the template set with both templates.
  std::vector<uint8_t> templates(uint32_t export_time_s) const;
  // The records as messages of at most max_message bytes each; records of one family in a
  // row share a data set. Advances the sequence number by the records encoded.
  std::vector<Message> data(std::span<const FlowRecord> records, uint32_t export_time_s);
  uint32_t sequence() const { return sequence_; }

 private:
  void header(std::vector<uint8_t>& m, uint32_t export_time_s) const;
  uint32_t domain_, enterprise_;
  size_t max_;
  uint32_t sequence_ = 0;
};

// Bytes one record takes in its data set.
size_t record_size(const FlowRecord& r);

}  // namespace ivs::flowexport
