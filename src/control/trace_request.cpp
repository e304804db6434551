// `ivctl trace DESCRIPTION`: a packet described as key=value words is built into a frame
// and run through the datapath's code in simulation mode (pipeline::Datapath::trace).
// `ivctl trace --live PORT [FILTER] -c N`: the next N packets on PORT traced as they are
// forwarded (pipeline::Datapath::trace_live).
//
//   port=vm1 src=10.0.1.11 dst=10.0.2.13 proto=tcp sport=40000 dport=5432 flags=S
//   [src_mac=..] [dst_mac=..] [vlan=N] [ttl=N] [dscp=EF|N] [ecn=0..3] [icmp_type=N] [len=N]
//   port=vm1 src=2001:db8:1::11 dst=2001:db8:2::12 proto=icmp     (IPv6: ttl= is the hop limit,
//   icmp_type defaults to 128, an echo request)
//
// Unspecified MACs are filled in as a VM would: source = the configured VM with that IP
// (or on that port), destination = the peer's MAC inside the network, the gateway MAC
// across networks.
#include <fmt/format.h>

#include <charconv>
#include <map>
#include <sstream>

#include "config/model.hpp"
#include "common/dscp.hpp"
#include "common/params.hpp"
#include "control/views.hpp"
#include "packet/checksum.hpp"
#include "packet/headers.hpp"
#include "packet/nd.hpp"

namespace ivs::control {

using nlohmann::json;
using namespace ivs::packet;

namespace {

// Every error of a description is about params.description.
constexpr const char* kPath = "params.description";

Result<unsigned> num(const std::map<std::string, std::string>& kv, const std::string& key, unsigned def, unsigned max) {
  auto it = kv.find(key);
  if (it == kv.end()) return def;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc{} || p != it->second.data() + it->second.size() || it->second.empty())
    return fail(ErrorCode::kInvalidParams, fmt::format("{}='{}': expected a number 0..{}", key, it->second, max), kPath);
  if (v > max) return fail(ErrorCode::kOutOfRange, fmt::format("{}='{}': expected a number 0..{}", key, it->second, max), kPath);
  return static_cast<unsigned>(v);
}

// The description's numbers, each checked before the frame is built; ports for TCP and
// UDP, the type for ICMP (a key the protocol does not use is not read, as it never was).
struct Numbers {
  unsigned sport = 0, dport = 0, icmp_type = 0, len = 0, ttl = 0;
};

Result<Numbers> numbers(const std::map<std::string, std::string>& kv, uint8_t ip_proto) {
  Numbers n;
  const bool ports = ip_proto != kProtoIcmp && ip_proto != kProtoIcmpv6;
  const struct {
    bool used;
    const char* key;
    unsigned def, max;
    unsigned* out;
  } all[] = {
      {ports, "sport", 40000, 65535, &n.sport},
      {ports, "dport", ip_proto == kProtoUdp ? 53u : 80u, 65535, &n.dport},
      {!ports, "icmp_type", ip_proto == kProtoIcmpv6 ? 128u : 8u, 255, &n.icmp_type},
      {true, "len", 0, 1400, &n.len},
      {true, "ttl", 64, 255, &n.ttl},
  };
  for (const auto& x : all) {
    if (!x.used) continue;
    const auto v = num(kv, x.key, x.def, x.max);
    if (!v) return std::unexpected(v.error());
    *x.out = *v;
  }
  return n;
}

}  // namespace

Result<json> trace_packet(pipeline::Datapath& dp, const std::string& description) {
  std::map<std::string, std::string> kv;
  std::istringstream words(description);
  for (std::string w; words >> w;) {
    const auto eq = w.find('=');
    if (eq == std::string::npos) return fail(ErrorCode::kInvalidParams, fmt::format("'{}': expected key=value", w), kPath);
    kv[w.substr(0, eq)] = w.substr(eq + 1);
  }
  static const char* kKeys[] = {"port", "src", "dst", "proto", "sport", "dport", "flags", "src_mac", "dst_mac", "vlan", "ttl", "dscp", "ecn", "icmp_type", "len"};
  for (const auto& [k, v] : kv)
    if (std::find_if(std::begin(kKeys), std::end(kKeys), [&](const char* x) { return k == x; }) == std::end(kKeys))
      return fail(ErrorCode::kInvalidParams, fmt::format("unknown key '{}' (known: {})", k, fmt::join(kKeys, ", ")), kPath);
  const auto cfg_snapshot = dp.config();  // (a reload may swap it meanwhile)
  const config::Config& cfg = *cfg_snapshot;
  if (!kv.count("port")) return fail(ErrorCode::kInvalidParams, "port=NAME is required", kPath);
  const auto tables_snapshot = dp.tables();  // (a reload that changes ports may publish the next meanwhile)
  const forward::ForwardingTables& tables = *tables_snapshot;
  const int port = tables.port_index(kv["port"]);
  if (port < 0) return fail(ErrorCode::kNotFound, fmt::format("no port '{}'", kv["port"]), kPath);
  // IPv4, or IPv6 when src is (src=2001:db8:1::11 dst=2001:db8:2::12): both the same family.
  const std::string src_text = kv.count("src") ? kv["src"] : "", dst_text = kv.count("dst") ? kv["dst"] : "";
  const bool v6 = src_text.find(':') != std::string::npos;
  std::optional<Ipv4Addr> src = v6 ? std::optional(Ipv4Addr{}) : Ipv4Addr::parse(src_text);
  std::optional<Ipv4Addr> dst = v6 ? std::optional(Ipv4Addr{}) : Ipv4Addr::parse(dst_text);
  const auto src6 = IpPrefix::parse(src_text), dst6 = IpPrefix::parse(dst_text);
  const auto is_v6_addr = [](const std::optional<IpPrefix>& a) { return a && a->family == 6 && a->len == 128; };
  if (v6 && (!is_v6_addr(src6) || !is_v6_addr(dst6)))
    return fail(ErrorCode::kInvalidParams, "src= and dst= are both IPv4 or both IPv6 addresses", kPath);
  if (!src || !dst) return fail(ErrorCode::kInvalidParams, "src=IPv4 and dst=IPv4 are required", kPath);
  const std::string proto = kv.count("proto") ? kv["proto"] : "tcp";
  const uint8_t ip_proto = proto == "tcp" ? kProtoTcp : proto == "udp" ? kProtoUdp : proto == "icmp" ? (v6 ? kProtoIcmpv6 : kProtoIcmp) : 0;
  if (!ip_proto) return fail(ErrorCode::kInvalidParams, "proto must be tcp, udp or icmp", kPath);
  const auto vlan_n = num(kv, "vlan", 0, 4094);
  if (!vlan_n) return std::unexpected(vlan_n.error());
  const int vlan = kv.count("vlan") ? static_cast<int>(*vlan_n) : -1;

  // The network the frame enters: the VLAN's on a trunk, else the port's untagged one.
  const int16_t net = tables.ingress_network(static_cast<uint16_t>(port), vlan > 0, static_cast<uint16_t>(vlan > 0 ? vlan : 0));
  MacAddr src_mac{{0x02, 0, 0, 0, 0, 0x01}}, dst_mac = MacAddr::broadcast();
  for (const auto& vm : cfg.vms)
    if (vm.port == kv["port"] && (v6 || !vm.ip || *vm.ip == *src)) src_mac = vm.mac;
  if (net >= 0 && v6) {
    const auto& n = tables.network(net);
    if (n.subnet6 && n.subnet6->contains(dst6->bytes.data()) && !tables.is_gateway6(net, dst6->bytes.data())) {
      for (const auto& vm : cfg.vms)
        for (const auto& a : vm.allowed_addresses)
          if (a == *dst6) dst_mac = vm.mac;
      for (const auto& nb : dp.neighbors())
        if (nb.ip == dst6->to_string()) dst_mac = *MacAddr::parse(nb.mac);
    } else {
      dst_mac = n.gateway_mac;
    }
  } else if (net >= 0) {
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
  if (kv.count("src_mac") && !(MacAddr::parse(kv["src_mac"]))) return fail(ErrorCode::kInvalidParams, "src_mac: not a MAC address", kPath);
  if (kv.count("dst_mac") && !(MacAddr::parse(kv["dst_mac"]))) return fail(ErrorCode::kInvalidParams, "dst_mac: not a MAC address", kPath);
  const auto nums = numbers(kv, ip_proto);
  if (!nums) return std::unexpected(nums.error());
  if (kv.count("src_mac")) src_mac = *MacAddr::parse(kv["src_mac"]);
  if (kv.count("dst_mac")) dst_mac = *MacAddr::parse(kv["dst_mac"]);

  // L4 header
  std::vector<uint8_t> l4;
  if (ip_proto == kProtoTcp) {
    l4.assign(20, 0);
    store_be16(&l4[0], static_cast<uint16_t>(nums->sport));
    store_be16(&l4[2], static_cast<uint16_t>(nums->dport));
    l4[12] = 5 << 4;
    uint8_t f = 0;
    for (char c : kv.count("flags") ? kv["flags"] : std::string("S"))
      f |= c == 'S' ? 0x02 : c == 'A' ? 0x10 : c == 'F' ? 0x01 : c == 'R' ? 0x04 : c == 'P' ? 0x08 : 0;
    l4[13] = f;
  } else if (ip_proto == kProtoUdp) {
    l4.assign(8, 0);
    store_be16(&l4[0], static_cast<uint16_t>(nums->sport));
    store_be16(&l4[2], static_cast<uint16_t>(nums->dport));
    store_be16(&l4[4], 8);
  } else {
    l4.assign(8, 0);
    l4[0] = static_cast<uint8_t>(nums->icmp_type);
    store_be16(&l4[4], 1);
    store_be16(&l4[2], csum(l4.data(), 8));
  }
  const unsigned payload = nums->len;
  l4.resize(l4.size() + payload, 0);
  std::vector<uint8_t> f(12);
  dst_mac.store(&f[0]);
  src_mac.store(&f[6]);
  if (vlan > 0) f.insert(f.end(), {0x81, 0x00, static_cast<uint8_t>(vlan >> 8), static_cast<uint8_t>(vlan)});
  const auto ecn = num(kv, "ecn", 0, 3);
  if (!ecn) return std::unexpected(ecn.error());
  uint8_t dscp = 0;
  if (kv.count("dscp")) {
    auto d = parse_dscp(kv["dscp"]);
    if (!d) return fail(ErrorCode::kInvalidParams, fmt::format("dscp: '{}' is not a DSCP name (EF, AF21, CS1, ...) or 0..63", kv["dscp"]), kPath);
    dscp = *d;
  }
  if (v6) {
    f.insert(f.end(), {0x86, 0xdd});
    std::vector<uint8_t> ip(40, 0);
    const uint8_t tc = static_cast<uint8_t>(dscp << 2 | *ecn);
    ip[0] = static_cast<uint8_t>(0x60 | tc >> 4);
    ip[1] = static_cast<uint8_t>(tc << 4);
    store_be16(&ip[4], static_cast<uint16_t>(l4.size()));
    ip[6] = ip_proto;
    ip[7] = static_cast<uint8_t>(nums->ttl);
    std::memcpy(&ip[8], src6->bytes.data(), 16);
    std::memcpy(&ip[24], dst6->bytes.data(), 16);
    if (ip_proto == kProtoIcmpv6) {
      store_be16(&l4[2], 0);
      store_be16(&l4[2], icmp6_checksum(ip.data(), l4.data(), static_cast<uint32_t>(l4.size())));
    }
    f.insert(f.end(), ip.begin(), ip.end());
  } else {
  f.insert(f.end(), {0x08, 0x00});
  std::vector<uint8_t> ip(20, 0);
  ip[0] = 0x45;
  store_be16(&ip[2], static_cast<uint16_t>(20 + l4.size()));
  ip[8] = static_cast<uint8_t>(nums->ttl);
  ip[1] = static_cast<uint8_t>(dscp << 2 | *ecn);
  ip[9] = ip_proto;
  store_be32(&ip[12], src->value);
  store_be32(&ip[16], dst->value);
  store_be16(&ip[10], csum(ip.data(), 20));
  f.insert(f.end(), ip.begin(), ip.end());
  }
  f.insert(f.end(), l4.begin(), l4.end());
  if (f.size() < 60) f.resize(60, 0);

  auto r = dp.trace(static_cast<uint16_t>(port), f);
  if (!r) return fail(ErrorCode::kRefused, r.error());
  json steps = json::array();
  for (const auto& s : r->packet.steps) steps.push_back(pipeline::to_json(s));
  json outputs = json::array();
  for (const auto& [p, frame] : r->outputs) {
    std::string hex;
    for (uint8_t c : frame) hex += fmt::format("{:02x}", c);
    outputs.push_back({{"port", p}, {"length", frame.size()}, {"frame", hex}});
  }
  return json{{"packet", {{"port", kv["port"]}, {"src_mac", src_mac.to_string()}, {"dst_mac", dst_mac.to_string()},
                      {"src", v6 ? src6->to_string() : src->to_string()}, {"dst", v6 ? dst6->to_string() : dst->to_string()},
                      {"proto", proto}, {"length", f.size()}}},
          {"epoch", r->epoch},
          {"steps", steps},
          {"outputs", outputs},
          {"verdict", r->packet.verdict},
          {"result", r->packet.result}};
}

Result<json> trace_live(pipeline::Datapath& dp, const json& params) {
  const Params p(params);
  const auto port = p.string("port", "", 64, true);
  const auto filter = p.string("filter", "", 1024);
  const auto count = p.integer("count", 10, 1, pipeline::Datapath::kMaxLiveTrace);
  const auto seconds = p.integer("seconds", 10, 1, kMaxLiveTraceSeconds);
  for (const Error* e : {port ? nullptr : &port.error(), filter ? nullptr : &filter.error(), count ? nullptr : &count.error(),
                         seconds ? nullptr : &seconds.error()})
    if (e) return std::unexpected(*e);
  // Refused: a port or filter the datapath does not take, another live trace running.
  auto r = dp.trace_live(*port, *filter, static_cast<uint32_t>(*count), std::chrono::seconds(*seconds));
  if (!r) return fail(ErrorCode::kRefused, r.error());
  json packets = json::array();
  const auto tables = dp.tables();
  const uint64_t first = r->packets.empty() ? 0 : r->packets.front().tsc;
  for (const auto& fp : r->packets) {
    json j = pipeline::to_json(fp, first, r->tsc_hz);
    j["port"] = fp.in_port < tables->port_count() ? tables->port_name(fp.in_port) : fmt::format("#{}", fp.in_port);
    packets.push_back(std::move(j));
  }
  return json{{"port", *port},         {"filter", *filter},       {"requested", *count},          {"traced", r->packets.size()},
          {"timed_out", r->timed_out}, {"seconds", r->seconds}, {"records_lost", r->records_lost}, {"epoch", r->epoch},
          {"packets", packets}};
}

}  // namespace ivs::control
