// `ivctl trace DESCRIPTION`: a packet described as key=value words is built into a frame
// and run through the datapath's code in simulation mode (pipeline::Datapath::trace).
// `ivctl trace --live PORT [FILTER] -c N`: the next N packets on PORT traced as they are
// forwarded (pipeline::Datapath::trace_live).
//
//   port=vm1 src=10.0.1.11 dst=10.0.2.13 proto=tcp sport=40000 dport=5432 flags=S
//   [src_mac=..] [dst_mac=..] [vlan=N] [ttl=N] [dscp=EF|N] [ecn=0..3] [icmp_type=N] [len=N]
//
// Unspecified MACs are filled in as a VM would: source = the configured VM with that IP
// (or on that port), destination = the peer's MAC inside the network, the gateway MAC
// across networks.
#include <fmt/format.h>

#include <charconv>
#include <map>
#include <sstream>

#include "common/dscp.hpp"
#include "control/params.hpp"
#include "control/views.hpp"
#include "packet/checksum.hpp"
#include "packet/headers.hpp"

namespace ivs::control {

using nlohmann::json;
using namespace ivs::packet;

namespace {

unsigned num(const std::map<std::string, std::string>& kv, const std::string& key, unsigned def, unsigned max) {
  auto it = kv.find(key);
  if (it == kv.end()) return def;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc{} || p != it->second.data() + it->second.size() || v > max)
    throw std::runtime_error(fmt::format("{}='{}': expected a number 0..{}", key, it->second, max));
  return v;
}

}  // namespace

json trace_packet(pipeline::Datapath& dp, const std::string& description) {
  std::map<std::string, std::string> kv;
  std::istringstream words(description);
  for (std::string w; words >> w;) {
    const auto eq = w.find('=');
    if (eq == std::string::npos) throw std::runtime_error(fmt::format("'{}': expected key=value", w));
    kv[w.substr(0, eq)] = w.substr(eq + 1);
  }
  static const char* kKeys[] = {"port", "src", "dst", "proto", "sport", "dport", "flags", "src_mac", "dst_mac", "vlan", "ttl", "dscp", "ecn", "icmp_type", "len"};
  for (const auto& [k, v] : kv)
    if (std::find_if(std::begin(kKeys), std::end(kKeys), [&](const char* x) { return k == x; }) == std::end(kKeys))
      throw std::runtime_error(fmt::format("unknown key '{}' (known: {})", k, fmt::join(kKeys, ", ")));
  const auto& cfg = dp.config();
  if (!kv.count("port")) throw std::runtime_error("port=NAME is required");
  const int port = dp.tables().port_index(kv["port"]);
  if (port < 0) throw std::runtime_error(fmt::format("no port '{}'", kv["port"]));
  auto src = Ipv4Addr::parse(kv.count("src") ? kv["src"] : "");
  auto dst = Ipv4Addr::parse(kv.count("dst") ? kv["dst"] : "");
  if (!src || !dst) throw std::runtime_error("src=IPv4 and dst=IPv4 are required");
  const std::string proto = kv.count("proto") ? kv["proto"] : "tcp";
  const uint8_t ip_proto = proto == "tcp" ? kProtoTcp : proto == "udp" ? kProtoUdp : proto == "icmp" ? kProtoIcmp : 0;
  if (!ip_proto) throw std::runtime_error("proto must be tcp, udp or icmp");
  const int vlan = kv.count("vlan") ? static_cast<int>(num(kv, "vlan", 0, 4094)) : -1;

  // The network the frame enters: the VLAN's on a trunk, else the port's untagged one.
  const auto& tables = dp.tables();
  const int16_t net = tables.ingress_network(static_cast<uint16_t>(port), vlan > 0, static_cast<uint16_t>(vlan > 0 ? vlan : 0));
  MacAddr src_mac{{0x02, 0, 0, 0, 0, 0x01}}, dst_mac = MacAddr::broadcast();
  for (const auto& vm : cfg.vms)
    if (vm.port == kv["port"] && (!vm.ip || *vm.ip == *src)) src_mac = vm.mac;
  if (net >= 0) {
    const auto& n = tables.network(net);
    if (n.subnet && n.subnet->contains(*dst)) {
      for (const auto& vm : cfg.vms)
        if (vm.ip && *vm.ip == *dst) dst_mac = vm.mac;
      for (const auto& nb : dp.neighbors())
        if (nb.ip == dst->to_string()) dst_mac = *MacAddr::parse(nb.mac);
      if (n.gateway && *n.gateway == *dst) dst_mac = n.gateway_mac;
    } else {
      dst_mac = n.gateway_mac;
    }
  }
  if (kv.count("src_mac") && !(MacAddr::parse(kv["src_mac"]))) throw std::runtime_error("src_mac: not a MAC address");
  if (kv.count("dst_mac") && !(MacAddr::parse(kv["dst_mac"]))) throw std::runtime_error("dst_mac: not a MAC address");
  if (kv.count("src_mac")) src_mac = *MacAddr::parse(kv["src_mac"]);
  if (kv.count("dst_mac")) dst_mac = *MacAddr::parse(kv["dst_mac"]);

  // L4 header
  std::vector<uint8_t> l4;
  if (ip_proto == kProtoTcp) {
    l4.assign(20, 0);
    store_be16(&l4[0], static_cast<uint16_t>(num(kv, "sport", 40000, 65535)));
    store_be16(&l4[2], static_cast<uint16_t>(num(kv, "dport", 80, 65535)));
    l4[12] = 5 << 4;
    uint8_t f = 0;
    for (char c : kv.count("flags") ? kv["flags"] : std::string("S"))
      f |= c == 'S' ? 0x02 : c == 'A' ? 0x10 : c == 'F' ? 0x01 : c == 'R' ? 0x04 : c == 'P' ? 0x08 : 0;
    l4[13] = f;
  } else if (ip_proto == kProtoUdp) {
    l4.assign(8, 0);
    store_be16(&l4[0], static_cast<uint16_t>(num(kv, "sport", 40000, 65535)));
    store_be16(&l4[2], static_cast<uint16_t>(num(kv, "dport", 53, 65535)));
    store_be16(&l4[4], 8);
  } else {
    l4.assign(8, 0);
    l4[0] = static_cast<uint8_t>(num(kv, "icmp_type", 8, 255));
    store_be16(&l4[4], 1);
    store_be16(&l4[2], csum(l4.data(), 8));
  }
  const unsigned payload = num(kv, "len", 0, 1400);
  l4.resize(l4.size() + payload, 0);
  std::vector<uint8_t> f(12);
  dst_mac.store(&f[0]);
  src_mac.store(&f[6]);
  if (vlan > 0) f.insert(f.end(), {0x81, 0x00, static_cast<uint8_t>(vlan >> 8), static_cast<uint8_t>(vlan)});
  f.insert(f.end(), {0x08, 0x00});
  std::vector<uint8_t> ip(20, 0);
  ip[0] = 0x45;
  store_be16(&ip[2], static_cast<uint16_t>(20 + l4.size()));
  ip[8] = static_cast<uint8_t>(num(kv, "ttl", 64, 255));
  uint8_t dscp = 0;
  if (kv.count("dscp")) {
    auto d = parse_dscp(kv["dscp"]);
    if (!d) throw std::runtime_error(fmt::format("dscp: '{}' is not a DSCP name (EF, AF21, CS1, ...) or 0..63", kv["dscp"]));
    dscp = *d;
  }
  ip[1] = static_cast<uint8_t>(dscp << 2 | num(kv, "ecn", 0, 3));
  ip[9] = ip_proto;
  store_be32(&ip[12], src->value);
  store_be32(&ip[16], dst->value);
  store_be16(&ip[10], csum(ip.data(), 20));
  f.insert(f.end(), ip.begin(), ip.end());
  f.insert(f.end(), l4.begin(), l4.end());
  if (f.size() < 60) f.resize(60, 0);

  auto r = dp.trace(static_cast<uint16_t>(port), f);
  if (!r) throw std::runtime_error(r.error());
  json steps = json::array();
  for (const auto& s : r->packet.steps) steps.push_back(pipeline::to_json(s));
  json outputs = json::array();
  for (const auto& [p, frame] : r->outputs) {
    std::string hex;
    for (uint8_t c : frame) hex += fmt::format("{:02x}", c);
    outputs.push_back({{"port", p}, {"length", frame.size()}, {"frame", hex}});
  }
  return {{"packet", {{"port", kv["port"]}, {"src_mac", src_mac.to_string()}, {"dst_mac", dst_mac.to_string()},
                      {"src", src->to_string()}, {"dst", dst->to_string()}, {"proto", proto}, {"length", f.size()}}},
          {"epoch", r->epoch},
          {"steps", steps},
          {"outputs", outputs},
          {"verdict", r->packet.verdict},
          {"result", r->packet.result}};
}

json trace_live(pipeline::Datapath& dp, const json& params) {
  const Params p(params);
  const std::string port = p.string("port", "", 64, true);
  const std::string filter = p.string("filter", "", 1024);
  const uint64_t count = p.integer("count", 10, 1, pipeline::Datapath::kMaxLiveTrace);
  const uint64_t seconds = p.integer("seconds", 10, 1, kMaxLiveTraceSeconds);
  auto r = dp.trace_live(port, filter, static_cast<uint32_t>(count), std::chrono::seconds(seconds));
  if (!r) throw std::runtime_error(r.error());
  json packets = json::array();
  const uint64_t first = r->packets.empty() ? 0 : r->packets.front().tsc;
  for (const auto& fp : r->packets) {
    json j = pipeline::to_json(fp, first, r->tsc_hz);
    j["port"] = dp.tables().port_name(fp.in_port);
    packets.push_back(std::move(j));
  }
  return {{"port", port},         {"filter", filter},       {"requested", count},          {"traced", r->packets.size()},
          {"timed_out", r->timed_out}, {"seconds", r->seconds}, {"records_lost", r->records_lost}, {"epoch", r->epoch},
          {"packets", packets}};
}

}  // namespace ivs::control
