#include "flowexport/ipfix.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace ivs::flowexport {

namespace {

constexpr uint16_t kVersion = 10, kTemplateSetId = 2, kVariable = 0xffff;
constexpr size_t kHeader = 16, kSetHeader = 4;
// Rule names are at most 31 bytes; a list of mirrors is clipped here, so that the longest
// record (IPv6: 110 fixed bytes, a 32-byte name, 303 of mirrors) fits the smallest
// message (kMinMessage, with its message and set headers).
constexpr size_t kMaxString = 300;

// The elements both templates share, after the addresses.
#define IVS_COMMON_FIELDS                                                                                            \
  {7, 2, false, "sourceTransportPort"}, {11, 2, false, "destinationTransportPort"}, {4, 1, false, "protocolIdentifier"}, \
      {5, 1, false, "ipClassOfService"}, {58, 2, false, "vlanId"}, {10, 4, false, "ingressInterface"},                \
      {14, 4, false, "egressInterface"}, {2, 8, false, "packetDeltaCount"}, {1, 8, false, "octetDeltaCount"},        \
      {152, 8, false, "flowStartMilliseconds"}, {153, 8, false, "flowEndMilliseconds"}, {136, 1, false, "flowEndReason"}, \
      {1, 1, true, "ivsFlowState"}, {2, 1, true, "ivsPolicyAction"}, {3, 4, true, "ivsRuleId"},                      \
      {4, kVariable, true, "ivsRuleName"}, {5, 4, true, "ivsPolicyEpoch"}, {6, 8, true, "ivsChainToDeviceTotal"},    \
      {7, 8, true, "ivsChainShortcutTotal"}, {8, 1, true, "ivsDscpObserved"}, {9, 1, true, "ivsDscpAssigned"},       \
      {10, kVariable, true, "ivsMirrors"}, {11, 1, true, "ivsFlowInitiator"}

constexpr FieldSpec kIpv4[] = {{8, 4, false, "sourceIPv4Address"}, {12, 4, false, "destinationIPv4Address"}, IVS_COMMON_FIELDS};
constexpr FieldSpec kIpv6[] = {{27, 16, false, "sourceIPv6Address"}, {28, 16, false, "destinationIPv6Address"}, IVS_COMMON_FIELDS};
#undef IVS_COMMON_FIELDS

void put8(std::vector<uint8_t>& m, uint8_t v) { m.push_back(v); }
void put16(std::vector<uint8_t>& m, uint16_t v) {
  m.push_back(static_cast<uint8_t>(v >> 8));
  m.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& m, uint32_t v) {
  put16(m, static_cast<uint16_t>(v >> 16));
  put16(m, static_cast<uint16_t>(v));
}
void put64(std::vector<uint8_t>& m, uint64_t v) {
  put32(m, static_cast<uint32_t>(v >> 32));
  put32(m, static_cast<uint32_t>(v));
}
void set16(std::vector<uint8_t>& m, size_t at, uint16_t v) {
  m[at] = static_cast<uint8_t>(v >> 8);
  m[at + 1] = static_cast<uint8_t>(v);
}
// A variable-length field (RFC 7011 7): one length byte below 255, else 255 and two bytes.
void put_string(std::vector<uint8_t>& m, std::string_view s) {
  s = s.substr(0, std::min(s.size(), kMaxString));
  if (s.size() < 255) {
    put8(m, static_cast<uint8_t>(s.size()));
  } else {
    put8(m, 255);
    put16(m, static_cast<uint16_t>(s.size()));
  }
  m.insert(m.end(), s.begin(), s.end());
}
size_t string_size(std::string_view s) {
  const size_t n = std::min(s.size(), kMaxString);
  return (n < 255 ? 1 : 3) + n;
}

void put_record(std::vector<uint8_t>& m, const FlowRecord& r) {
  const size_t alen = r.family == 6 ? 16 : 4;
  m.insert(m.end(), r.src, r.src + alen);
  m.insert(m.end(), r.dst, r.dst + alen);
  put16(m, r.src_port);
  put16(m, r.dst_port);
  put8(m, r.proto);
  put8(m, r.tos);
  put16(m, r.vlan);
  put32(m, r.in_if);
  put32(m, r.out_if);
  put64(m, r.packets);
  put64(m, r.octets);
  put64(m, r.start_ms);
  put64(m, r.end_ms);
  put8(m, static_cast<uint8_t>(r.end_reason));
  put8(m, r.state);
  put8(m, r.action);
  put32(m, r.rule_id);
  put_string(m, r.rule_name);
  put32(m, r.epoch);
  put64(m, r.to_device);
  put64(m, r.shortcut);
  put8(m, r.dscp_observed);
  put8(m, r.dscp_assigned);
  put_string(m, r.mirrors);
  put8(m, r.initiator);
}

}  // namespace

std::span<const FieldSpec> template_fields(uint8_t family) {
  if (family == 6) return kIpv6;
  return kIpv4;
}

size_t record_size(const FlowRecord& r) {
  // Fixed part: addresses, then 2+2+1+1+2+4+4+8+8+8+8+1 (IANA) + 1+1+4+4+8+8+1+1+1 (enterprise).
  return (r.family == 6 ? 32 : 8) + 49 + 29 + string_size(r.rule_name) + string_size(r.mirrors);
}

void IpfixEncoder::header(std::vector<uint8_t>& m, uint32_t export_time_s) const {
  put16(m, kVersion);
  put16(m, 0);  // length, set when the message is complete
  put32(m, export_time_s);
  put32(m, sequence_);
  put32(m, domain_);
}

std::vector<uint8_t> IpfixEncoder::templates(uint32_t export_time_s) const {
  std::vector<uint8_t> m;
  header(m, export_time_s);
  const size_t set = m.size();
  put16(m, kTemplateSetId);
  put16(m, 0);
  for (uint16_t id : {kTemplateIpv4, kTemplateIpv6}) {
    const auto fields = template_fields(id == kTemplateIpv6 ? 6 : 4);
    put16(m, id);
    put16(m, static_cast<uint16_t>(fields.size()));
    for (const FieldSpec& f : fields) {
      put16(m, static_cast<uint16_t>(f.id | (f.enterprise ? 0x8000 : 0)));
      put16(m, f.length);
      if (f.enterprise) put32(m, enterprise_);
    }
  }
  set16(m, set + 2, static_cast<uint16_t>(m.size() - set));
  set16(m, 2, static_cast<uint16_t>(m.size()));
  return m;
}

std::vector<Message> IpfixEncoder::data(std::span<const FlowRecord> records, uint32_t export_time_s) {
  std::vector<Message> out;
  std::vector<uint8_t> m;
  size_t in_message = 0;
  size_t set = 0;        // offset of the open data set's header; 0: none open
  uint8_t set_family = 0;
  auto close_set = [&] {
    if (set) set16(m, set + 2, static_cast<uint16_t>(m.size() - set));
    set = 0;
  };
  auto close_message = [&] {
    close_set();
    if (m.empty()) return;
    set16(m, 2, static_cast<uint16_t>(m.size()));
    out.push_back({std::move(m), in_message});
    m.clear();
    in_message = 0;
  };
  for (const FlowRecord& r : records) {
    const size_t need = record_size(r) + (set && set_family == r.family ? 0 : kSetHeader);
    if (!m.empty() && m.size() + need > max_) close_message();
    if (m.empty()) header(m, export_time_s);  // the sequence number counts the records before this message
    if (!set || set_family != r.family) {
      close_set();
      set = m.size();
      set_family = r.family;
      put16(m, r.family == 6 ? kTemplateIpv6 : kTemplateIpv4);
      put16(m, 0);
    }
    put_record(m, r);
    ++sequence_;
    ++in_message;
  }
  close_message();
  return out;
}

}  // namespace ivs::flowexport
