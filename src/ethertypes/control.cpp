// EtherType counting over the control socket (`ivctl show ethertypes`) and /metrics: every
// thread's table summed per (port, VLAN, EtherType), the newest sample of each entry, and
// per port the frames the full tables could not count.
#include <fmt/format.h>
#include <rte_cycles.h>

#include <algorithm>

#include "common/counter_metrics.hpp"
#include "ethertypes/counter_fields.hpp"
#include "ethertypes/module.hpp"
#include "forward/tables.hpp"

namespace ivs::ethertypes {

using nlohmann::json;

namespace {

std::string vlan_text(uint16_t vlan) { return vlan == kUntagged ? "untagged" : std::to_string(vlan); }
std::string ethertype_hex(uint16_t t) { return fmt::format("0x{:04x}", t); }

std::string_view ethertype_name(uint16_t t) {
  switch (t) {
    case 0x0000: return "runt";  // shorter than an Ethernet header (or a cut VLAN tag)
    case 0x0800: return "IPv4";
    case 0x0806: return "ARP";
    case 0x8035: return "RARP";
    case 0x8100: return "802.1Q";  // a second tag (QinQ with 0x8100 outside)
    case 0x86dd: return "IPv6";
    case 0x8809: return "slow protocols (LACP)";
    case 0x8847: return "MPLS";
    case 0x8848: return "MPLS multicast";
    case 0x888e: return "EAPOL";
    case 0x88a8: return "802.1ad";
    case 0x88cc: return "LLDP";
    case 0x88f7: return "PTP";
    default: return t < 0x0600 ? "802.3 length" : "";
  }
}

std::string mac_at(const Sample& s, size_t at) {
  if (s.captured < at + 6) return "";
  const uint8_t* m = s.head.data() + at;
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
}

json sample_json(const Sample& s) {
  std::string hex;
  for (size_t i = 0; i < s.captured; ++i) hex += fmt::format("{:02x}", s.head[i]);
  const uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();
  return {{"dst", mac_at(s, 0)},
          {"src", mac_at(s, 6)},
          {"frame_len", s.frame_len},
          {"captured", s.captured},
          {"head", hex},
          {"age_s", hz && now > s.tsc ? static_cast<double>(now - s.tsc) / static_cast<double>(hz) : 0.0}};
}

}  // namespace

json EthertypesModule::view() const {
  json out{{"enabled", cfg_.enabled}, {"sample_every", cfg_.sample_every}, {"max_entries", cfg_.max_entries}};
  std::map<uint64_t, Sum> sums;
  std::vector<uint64_t> of_frames, of_bytes;
  uint32_t used_max = 0;
  size_t threads = 0;
  {
    std::lock_guard lock(mu_);
    retire_unused();
    sums = retired_;
    of_frames = retired_overflow_frames_;
    of_bytes = retired_overflow_bytes_;
    for (const auto& t : tables_list_) {
      t->for_each([&](Key k, const Entry& e) {
        Sum& s = sums[k.packed()];
        s.frames += e.frames.get();
        s.bytes += e.bytes.get();
        s.samples += e.samples.get();
        if (auto smp = e.sample.read(); smp && (!s.sample || smp->tsc >= s.sample->tsc)) s.sample = smp;
      });
      for (uint16_t p = 0; p < of_frames.size(); ++p) {
        of_frames[p] += t->overflow_frames(p);
        of_bytes[p] += t->overflow_bytes(p);
      }
      used_max = std::max(used_max, t->used());
      ++threads;
    }
  }
  out["tables"] = threads;  // one per datapath thread (and per live trace Forwarder)
  const auto ports = tables_.get();  // the ports by slot, now
  const auto port_name = [&](uint16_t p) {
    return p < ports->port_count() && !ports->port_name(p).empty() ? ports->port_name(p) : fmt::format("#{}", p);
  };
  json entries = json::array();
  for (const auto& [packed, r] : sums) {
    const Key k = Key::unpack(packed);
    json row = json::object();
    IVS_ETHERTYPE_FIELDS(IVS_FIELD_JSON)
    row["last_sample"] = r.sample ? sample_json(*r.sample) : json();
    entries.push_back(std::move(row));
  }
  json overflow = json::array();
  for (uint16_t p = 0; p < of_frames.size(); ++p) {
    // The slots that hold a port (a free slot's counters are zero: it never received).
    if ((p >= ports->port_count() || ports->port_name(p).empty()) && of_frames[p] == 0 && of_bytes[p] == 0) continue;
    json row = json::object();
    IVS_ETHERTYPE_OVERFLOW_FIELDS(IVS_FIELD_JSON)
    overflow.push_back(std::move(row));
  }
  {
    json& row = out;
    IVS_ETHERTYPE_HEAD_FIELDS(IVS_FIELD_JSON)
  }
  out["entries"] = std::move(entries);
  out["overflow"] = std::move(overflow);
  return out;
}

void EthertypesModule::add_control_methods(const pipeline::AddControlMethod& add) {
  add("show.ethertypes", [this](const json&) -> Result<json> { return view(); });
}

std::string EthertypesModule::metrics() const {
  if (!cfg_.enabled) return "";  // the job is off: no families (as QoS without its section)
  const json v = view();
  std::string out;
  control::append_metrics(out, kEthertypeSchema, v);
  control::append_metrics(out, kEthertypeOverflowSchema, v);
  control::append_metrics(out, kEthertypeHeadSchema, v);
  return out;
}

}  // namespace ivs::ethertypes
