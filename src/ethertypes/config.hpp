#pragma once
// The `ethertypes` config section (docs/config.md, docs/ethertypes.md): the job's own
// model and reader, kept in its folder; the loader calls read_ethertypes() when the
// section is present (listed in config::job_section_readers(), src/modules/registry.cpp)
// and keeps the result in Config::jobs, where ethertypes_section() finds it.
#include <cstdint>

namespace YAML {
class Node;
}

namespace ivs::config {

class Diagnostics;
class JobSections;
struct Config;

struct EthertypesConfig {
  bool enabled = false;          // the section is present (absent: the job is off, no stage)
  uint32_t sample_every = 1000;  // 1 in N frames of each (port, VLAN, EtherType) sampled; 0: none
  uint32_t max_entries = 256;    // (port, VLAN, EtherType) entries per datapath thread; more: overflow
  bool operator==(const EthertypesConfig&) const = default;
};

// Bounds (docs/config.md): a table is made per datapath thread before it starts.
inline constexpr uint32_t kMaxSampleEvery = 1u << 30;
inline constexpr uint32_t kMaxEthertypeEntries = 65536;

inline constexpr const char* kEthertypesKey = "ethertypes";

// Reads the section into `out` under kEthertypesKey (a config::JobSectionReader).
void read_ethertypes(const YAML::Node& node, JobSections& out, Diagnostics& d);
// The section as read, or the defaults (enabled false) when the file has none.
const EthertypesConfig& ethertypes_section(const Config& cfg);

}  // namespace ivs::config
