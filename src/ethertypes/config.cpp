#include "ethertypes/config.hpp"

#include "config/model.hpp"
#include "config/reader.hpp"

namespace ivs::config {

void read_ethertypes(const YAML::Node& node, JobSections& out, Diagnostics& d) {
  // The section's presence turns the job on; `ethertypes: {}` with the defaults.
  EthertypesConfig& e = out.put(kEthertypesKey, EthertypesConfig{});
  e.enabled = true;
  MapReader r(node, "ethertypes", d);
  r.u32("sample_every", e.sample_every, 0, kMaxSampleEvery);
  r.u32("max_entries", e.max_entries, 1, kMaxEthertypeEntries);
  r.finish();
}

const EthertypesConfig& ethertypes_section(const Config& cfg) { return cfg.jobs.get<EthertypesConfig>(kEthertypesKey); }

}  // namespace ivs::config
