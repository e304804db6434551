#include "config/flow_export_reader.hpp"

#include <fmt/format.h>

#include <charconv>

namespace ivs::config {

std::expected<HostPort, std::string> split_host_port(const std::string& s) {
  HostPort hp;
  std::string port;
  if (!s.empty() && s[0] == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return std::unexpected(fmt::format("'{}': expected [IPv6 address]:port", s));
    hp.host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0 || s.find(':') != colon)
      return std::unexpected(fmt::format("'{}': expected host:port (an IPv6 address in brackets)", s));
    hp.host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (hp.host.empty() || ec != std::errc() || end != port.data() + port.size() || v == 0 || v > 65535)
    return std::unexpected(fmt::format("'{}': expected host:port with a port from 1 to 65535", s));
  hp.port = static_cast<uint16_t>(v);
  return hp;
}

void read_flow_export(const YAML::Node& node, FlowExportConfig& f, Diagnostics& d) {
  MapReader r(node, "flow_export", d);
  f.enabled = true;
  if (r.string_list("collectors", f.collectors)) {
    for (const auto& c : f.collectors)
      if (auto hp = split_host_port(c); !hp) r.error_at_key("collectors", hp.error());
    if (f.collectors.size() > 16) r.error_at_key("collectors", "at most 16 collectors");
  }
  r.u32("active_timeout_seconds", f.active_timeout_s, 1, 86400);
  r.u32("template_interval_seconds", f.template_interval_s, 1, 86400);
  r.u32("observation_domain", f.observation_domain, 0, UINT32_MAX);
  r.u32("enterprise_number", f.enterprise_number, 1, UINT32_MAX);
  r.u32("max_message_bytes", f.max_message_bytes, 512, 65000);
  r.u32("queue_records", f.queue_records, 64, 1u << 22);
  r.finish();
}

}  // namespace ivs::config
