#include "ethertypes/cli/show.hpp"

#include <fmt/format.h>

#include "cli/schema_table.hpp"
#include "ethertypes/counter_fields.hpp"

namespace ivs::cli {

using nlohmann::json;

std::string render_ethertypes(const json& v) {
  if (!v["enabled"].get<bool>()) return "ethertypes: off (config section 'ethertypes', docs/ethertypes.md)\n";
  const uint64_t every = v["sample_every"].get<uint64_t>();
  std::string out = fmt::format("ethertypes: {}; at most {} entries per thread ({} table{}, fullest {})\n",
                                every ? fmt::format("sampling 1 in {} frames of each entry", every) : std::string("no sampling"),
                                v["max_entries"].get<uint64_t>(), v["tables"].get<uint64_t>(), v["tables"] == 1 ? "" : "s",
                                v["table_entries_max"].get<uint64_t>());
  if (v["entries"].empty()) return out + "no frames received yet\n";
  out += schema_table({ethertypes::kEthertypeFields}, ethertypes::kEthertypeTable, v["entries"]).render();
  std::string samples;
  for (const auto& e : v["entries"]) {
    if (!e.contains("last_sample") || e["last_sample"].is_null()) continue;
    const json& s = e["last_sample"];
    const std::string name = e["name"].get<std::string>();
    const std::string head = s["head"].get<std::string>();
    samples += fmt::format("  {} {} {}{}: {} -> {}, {} bytes, {:.1f} s ago: {}{}\n", e["port"].get<std::string>(),
                           e["vlan"].get<std::string>(), e["ethertype"].get<std::string>(), name.empty() ? "" : " " + name,
                           s["src"].get<std::string>(), s["dst"].get<std::string>(), s["frame_len"].get<uint64_t>(),
                           s["age_s"].get<double>(), head.substr(0, 64), head.size() > 64 ? "..." : "");
  }
  if (!samples.empty()) out += "last samples (source -> destination, first bytes):\n" + samples;
  json overflowing = json::array();
  for (const auto& o : v["overflow"])
    if (o["frames"].get<uint64_t>() > 0) overflowing.push_back(o);
  if (!overflowing.empty())
    out += "not counted per entry (a thread's table was full: ethertypes.max_entries), still forwarded:\n" +
           schema_table({ethertypes::kEthertypeOverflowFields}, ethertypes::kEthertypeOverflowTable, overflowing).render();
  return out;
}

}  // namespace ivs::cli
