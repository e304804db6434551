#include "config/loader.hpp"

#include <fmt/format.h>
#include <sched.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "config/channel_reader.hpp"
#include "config/flow_export_reader.hpp"
#include "config/policy_reader.hpp"
#include "config/mirror_reader.hpp"
#include "config/qos_reader.hpp"
#include "config/reader.hpp"
#include "config/validate.hpp"
#include "dpdk/port_spec.hpp"

namespace ivs::config {
namespace {

void read_name(MapReader& r, std::string& out) {
  if (r.string("name", out, true) && !valid_name(out)) {
    r.error_at_key("name", fmt::format("'{}' is not a valid name (letters, digits, '_', '.', '-'; at most 31; starts with a letter or digit)", out));
  }
}

// {connections, request_timeout_ms, max_body_bytes}: the bounds of one HTTP server.
void read_http_limits(MapReader& sw, const char* key, HttpLimitsConfig& out, uint32_t min_connections, uint32_t max_body,
                      Diagnostics& d) {
  auto n = sw.child(key);
  if (!n) return;
  MapReader r(*n, fmt::format("switch.{}", key), d);
  r.u32("connections", out.connections, min_connections, 256);
  r.u32("request_timeout_ms", out.request_timeout_ms, 100, 60000);
  r.u32("max_body_bytes", out.max_body_bytes, 0, max_body);
  r.finish();
}

void read_switch(const YAML::Node& node, SwitchConfig& sw, Diagnostics& d) {
  MapReader r(node, "switch", d);
  if (r.string("instance", sw.instance) && !valid_name(sw.instance))
    r.error_at_key("instance", fmt::format("'{}' is not a valid name", sw.instance));
  r.u32_list("cores", sw.cores, CPU_SETSIZE - 1);
  r.string("control_socket", sw.control_socket);
  r.string("metrics_address", sw.metrics_address);
  std::string huge;
  if (r.choice("hugepages", huge, {"auto", "on", "off"}))
    sw.hugepages = huge == "on" ? HugepageMode::kOn : huge == "off" ? HugepageMode::kOff : HugepageMode::kAuto;
  r.u32("fdb_size", sw.fdb_size, 1024, 16u << 20);
  r.u32("fdb_aging_seconds", sw.fdb_aging_seconds, 1, 86400);
  r.u32("neighbor_size", sw.neighbor_size, 1024, 16u << 20);
  r.u32("idle_sleep_max_us", sw.idle_sleep_max_us, 0, 100000);
  r.u32("max_ports", sw.max_ports, 1, dpdk::kMaxPorts);
  r.choice("log_level", sw.log_level, {"trace", "debug", "info", "warn", "error"});
  r.boolean("flow_restore", sw.flow_restore);
  // The control socket keeps room for RPCs beside the live captures (at most 4).
  read_http_limits(r, "control_limits", sw.control_limits, 6, 64u << 20, d);
  read_http_limits(r, "metrics_limits", sw.metrics_limits, 1, 1u << 20, d);
  r.finish();
}

void read_port(MapReader& r, PortConfig& p) {
  read_name(r, p.name);
  std::string type;
  if (r.choice("type", type, {"vhost-user", "tap", "af_packet", "af_xdp", "pcap", "ring", "discard"}, true)) {
    static const std::pair<std::string_view, PortType> kTypes[] = {
        {"vhost-user", PortType::kVhostUser}, {"tap", PortType::kTap},   {"af_packet", PortType::kAfPacket},
        {"af_xdp", PortType::kAfXdp},         {"pcap", PortType::kPcap}, {"ring", PortType::kRing},
        {"discard", PortType::kNull}};
    for (auto [n, t] : kTypes)
      if (n == type) p.type = t;
  }
  // Type-specific keys: only the ones that belong to the type are known, so a stray
  // `path:` on an af_packet port is reported as unknown rather than silently ignored.
  switch (p.type) {
    case PortType::kVhostUser: {
      r.string("path", p.path, true);
      std::string mode = "server";
      r.choice("mode", mode, {"server", "client"});
      p.vhost_client = mode == "client";
      break;
    }
    case PortType::kTap:
      if (!r.string("interface", p.interface)) p.interface = p.name;
      break;
    case PortType::kAfPacket:
    case PortType::kAfXdp:
      r.string("interface", p.interface, true);
      break;
    case PortType::kPcap:
      r.string("rx_file", p.rx_file);
      r.string("tx_file", p.tx_file);
      if (p.rx_file.empty() && p.tx_file.empty() && r.valid())
        r.error(r.node(), fmt::format("{}: a pcap port needs rx_file, tx_file or both", r.path()));
      break;
    case PortType::kRing:
    case PortType::kNull:
    case PortType::kChannel:  // (not a type users write)
      break;
  }
  r.string("network", p.access_network);
  r.string_list("trunk", p.trunk_networks);
  r.string("native", p.native_network);
  uint32_t core;
  if (r.u32("core", core, 0, CPU_SETSIZE - 1)) p.core = core;
  bool secured = false;
  if (r.boolean("port_security", secured)) p.port_security = secured;
  r.u32("mtu", p.mtu, 68, 9216);
  if (!p.access_network.empty() && !p.trunk_networks.empty())
    r.error_at_key("trunk", fmt::format("'network' and 'trunk' exclude each other"));
  if (!p.native_network.empty() && p.trunk_networks.empty())
    r.error_at_key("native", "'native' only applies to trunk ports");
  r.finish();
}

void read_network(MapReader& r, NetworkConfig& n) {
  read_name(r, n.name);
  uint32_t vlan = 0;
  if (r.u32("vlan", vlan, 1, 4094, true)) n.vlan = static_cast<uint16_t>(vlan);
  r.prefix("subnet", n.subnet);
  r.ipv4("gateway", n.gateway);
  n.gateway_mac = default_gateway_mac(n.vlan);
  r.mac("gateway_mac", n.gateway_mac);
  r.ipv6("subnet6", n.subnet6, true);
  r.ipv6("gateway6", n.gateway6, false);
  r.finish();
}

void read_vm(MapReader& r, VmConfig& v) {
  read_name(r, v.name);
  r.string("port", v.port, true);
  r.string("network", v.network);
  r.mac("mac", v.mac, true);
  r.ipv4("ip", v.ip);
  r.string_list("labels", v.labels);
  r.prefix_list("allowed_addresses", v.allowed_addresses);
  r.boolean("router", v.router);
  r.boolean("dhcp_server", v.dhcp_server);
  r.finish();
}

void read_route(MapReader& r, RouteConfig& rt) {
  std::optional<Ipv4Prefix> prefix;
  if (r.prefix("prefix", prefix, true)) rt.prefix = *prefix;
  r.ipv4_list("via", rt.via, true);
  r.finish();
}

template <class T, class F>
void read_list(MapReader& top, const char* key, std::vector<T>& out, std::vector<YAML::Node>& nodes,
               Diagnostics& d, F read_one) {
  auto list = top.child(key);
  if (!list) return;
  if (!list->IsSequence()) {
    d.error(*list, fmt::format("{}: expected a list", key));
    return;
  }
  for (size_t i = 0; i < list->size(); ++i) {
    YAML::Node item = (*list)[i];
    MapReader r(item, fmt::format("{}[{}]", key, i), d);
    T obj;
    read_one(r, obj);
    out.push_back(std::move(obj));
    nodes.push_back(item);
  }
}

LoadResult load_node(const YAML::Node& root, Diagnostics& d, bool for_daemon) {
  Config cfg;
  cfg.file = d.file();
  if (!root.IsDefined() || root.IsNull()) {
    d.error(0, "the file is empty");
    return std::unexpected(d.errors());
  }
  MapReader top(root, "", d);
  SourceNodes nodes;
  nodes.for_daemon = for_daemon;
  if (auto sw = top.child("switch")) {
    read_switch(*sw, cfg.sw, d);
    nodes.sw = *sw;
  }
  read_list(top, "ports", cfg.ports, nodes.ports, d, read_port);
  read_list(top, "networks", cfg.networks, nodes.networks, d, read_network);
  read_list(top, "vms", cfg.vms, nodes.vms, d, read_vm);
  read_list(top, "routes", cfg.routes, nodes.routes, d, read_route);
  if (auto flows = top.child("flows")) read_flows(*flows, cfg.flows, d);
  if (auto fe = top.child("flow_export")) read_flow_export(*fe, cfg.flow_export, d);
  for (const auto& s : job_section_readers())
    if (auto n = top.child(s.key)) s.read(*n, cfg.jobs, d);
  std::vector<YAML::Node> group_nodes, rule_nodes, chain_nodes;
  if (auto policy = top.child("policy")) read_policy(*policy, cfg.policy, group_nodes, rule_nodes, d);
  if (auto chains = top.child("chains")) read_chains(*chains, cfg.chains, chain_nodes, d);
  std::vector<YAML::Node> mirror_nodes;
  if (auto mirrors = top.child("mirrors")) read_mirrors(*mirrors, cfg.mirrors, mirror_nodes, d);
  YAML::Node qos_node;
  if (auto qos = top.child("qos")) {
    read_qos(*qos, cfg.qos, d);
    qos_node = *qos;
  }
  YAML::Node channels_node;
  std::vector<YAML::Node> channel_map_nodes;
  if (auto ch = top.child("channels")) {
    read_channels(*ch, cfg.channel, channel_map_nodes, d);
    channels_node = *ch;
  }
  top.finish();
  if (top.valid() && d.shape_ok()) {
    validate(cfg, nodes, d);
    check_channels(cfg, channels_node, channel_map_nodes, d);
    // The sections below may name the channels' networks and port, so they come first.
    if (d.ok()) expand_channels(cfg);
    check_policy(cfg, group_nodes, rule_nodes, chain_nodes, d);
    check_qos(cfg, qos_node, d);
    check_mirrors(cfg, mirror_nodes, d);
  }
  if (cfg.sw.control_socket.empty()) cfg.sw.control_socket = fmt::format("/run/ivswitch/{}.sock", cfg.sw.instance);
  if (!d.ok()) return std::unexpected(d.errors());
  return cfg;
}

LoadResult parse_text(const std::string& text, const std::string& name, bool for_daemon) {
  Diagnostics d(name);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    d.error(e.mark.line, fmt::format("YAML syntax error: {}", e.msg));
    return std::unexpected(d.errors());
  }
  try {
    return load_node(root, d, for_daemon);
  } catch (const YAML::Exception& e) {  // a shape no reader expected: still FILE:LINE, never an abort
    d.error(e.mark.line, fmt::format("cannot read this part of the file: {}", e.msg));
    return std::unexpected(d.errors());
  }
}

}  // namespace

LoadResult load_string(const std::string& yaml_text, const std::string& name, bool for_daemon) {
  return parse_text(yaml_text, name, for_daemon);
}

LoadResult load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::unexpected(std::vector<std::string>{fmt::format("{}:0: cannot open the file", path)});
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_text(ss.str(), path, true);
}

}  // namespace ivs::config
