#include "ethertypes/config.hpp"

#include "config/reader.hpp"

namespace ivs::config {

void read_ethertypes(const YAML::Node& node, EthertypesConfig& e, Diagnostics& d) {
  // The section's presence turns the job on; `ethertypes: {}` with the defaults.
  e.enabled = true;
  MapReader r(node, "ethertypes", d);
  r.u32("sample_every", e.sample_every, 0, kMaxSampleEvery);
  r.u32("max_entries", e.max_entries, 1, kMaxEthertypeEntries);
  r.finish();
}

}  // namespace ivs::config
