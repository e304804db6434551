#include "pipeline/trace_format.hpp"

#include "pipeline/trace_event.hpp"

#include <fmt/format.h>

#include "common/dscp.hpp"
#include "common/net_types.hpp"
#include "flow/flow_table.hpp"
#include "packet/headers.hpp"
#include "packet/parse.hpp"

namespace ivs::pipeline {

using nlohmann::json;

namespace {

constexpr const char* kStageNames[] = {
#define IVS_X(id, name) name,
    IVS_TRACE_STAGES(IVS_X)
#undef IVS_X
};
struct EventMeta {
  TraceStage stage;
  const char* name;
};
constexpr EventMeta kEvents[] = {
#define IVS_X(id, stage, name) {TraceStage::stage, name},
    IVS_TRACE_EVENTS(IVS_X)
#undef IVS_X
};

std::string mac_text(uint64_t bits) { return trace_mac_text(bits); }
std::string ip_text(uint32_t host_order) { return trace_ip_text(host_order); }
std::string state_text(uint32_t s) { return std::string(flow::flow_state_name(static_cast<flow::FlowState>(s))); }

// Names from the tables and the jobs' namers; what no namer knows (a record of another
// epoch, an index gone since) is shown as a number.
class Namer {
 public:
  explicit Namer(const TraceNames& n) : n_(n) {}
  std::string port(uint16_t p) const { return p < n_.tables.port_count() ? n_.tables.port_name(p) : fmt::format("#{}", p); }
  std::string net(int16_t net) const { return net >= 0 ? n_.tables.network(net).name : "-"; }
  std::string rule(int32_t r, uint32_t epoch) const { return r < 0 ? "(default)" : job("rule", r, epoch); }
  std::string chain(int16_t c, uint32_t epoch) const { return job("chain", c, epoch); }
  // QoS decisions live in flow entries across epochs: named from the current snapshot.
  std::string assignment(int16_t a) const { return job("assignment", a, 0); }
  std::string meter(uint32_t m) const { return job("meter", m, 0); }
  std::string cls(uint32_t c) const { return job("class", c, 0); }
  // The names of the jobs' enums a record carries as a number (the policy's: a rule's
  // action, an assignment's mode).
  std::string action(uint32_t a) const { return job("policy_action", a, 0); }
  std::string qos_mode(uint32_t m) const { return job("qos_mode", m, 0); }
  std::string mirror(uint32_t slot) const {
    return n_.mirrors && slot < n_.mirrors->size() && !(*n_.mirrors)[slot].empty() ? (*n_.mirrors)[slot] : fmt::format("slot {}", slot);
  }
  uint16_t vlan(int16_t net) const { return net >= 0 ? n_.tables.network(net).vlan : 0; }
  std::string gateway_mac(int16_t net) const { return net >= 0 ? n_.tables.network(net).gateway_mac.to_string() : "-"; }

 private:
  std::string job(std::string_view kind, int64_t index, uint32_t epoch) const {
    if (index >= 0)
      for (const auto& name : n_.namers)
        if (auto s = name(kind, index, epoch)) return std::move(*s);
    return fmt::format("#{}", index);
  }
  const TraceNames& n_;
};

// The text and fields of one record. Every event's fields are documented here, where
// they are read (the stages write them in pipeline/forwarder*.cpp).
TraceStep step_of(const TraceRecord& r, const TracePacket& pk, const Namer& nm) {
  if (static_cast<size_t>(r.what) >= kCoreTraceEventCount) {  // a module's: its folder says how it reads
    const auto& events = module_trace_events();
    const size_t i = static_cast<size_t>(r.what) - kCoreTraceEventCount;
    if (i >= events.size()) return {"?", fmt::format("event {}", static_cast<unsigned>(r.what)), "unknown event", json::object()};
    const std::string port = nm.port(r.port), net = nm.net(r.net);
    TraceEventText t = events[i].format(r, {port, net});
    return {std::string(events[i].stage), std::string(events[i].name), std::move(t.text), std::move(t.fields)};
  }
  const auto& meta = kEvents[static_cast<size_t>(r.what)];
  TraceStep s{kStageNames[static_cast<size_t>(meta.stage)], meta.name, "", json::object()};
  json& f = s.fields;
  const std::string port = nm.port(r.port), net = nm.net(r.net);
  const std::string key = pk.has_key ? flow::to_string(pk.key) : "?";
  switch (r.what) {
    case TraceEvent::kIngress: {  // a: ethertype, b: proto | ttl << 8, c: src << 32 | dst (IPv4), flags: tag popped
      const uint8_t proto = r.b & 0xff, ttl = r.b >> 8 & 0xff;
      f = {{"port", port}, {"network", net}, {"vlan", nm.vlan(r.net)}, {"tag_popped", r.flags != 0}, {"ethertype", r.a}};
      std::string l3 = fmt::format("ethertype 0x{:04x}", r.a);
      if (r.a == packet::kEtherTypeIpv4) {
        const uint32_t src = static_cast<uint32_t>(r.c >> 32), dst = static_cast<uint32_t>(r.c);
        l3 = fmt::format("IPv4 {} -> {} proto {} ttl {}", ip_text(src), ip_text(dst), proto, ttl);
        f.update({{"src", ip_text(src)}, {"dst", ip_text(dst)}, {"proto", proto}, {"ttl", ttl}});
      } else if (r.a == packet::kEtherTypeIpv6) {
        l3 = fmt::format("IPv6 proto {} hop limit {}", proto, ttl);
        f.update({{"proto", proto}, {"ttl", ttl}});
      }
      s.text = fmt::format("port {}, network {} (VLAN {}){}; {}", port, net, nm.vlan(r.net), r.flags ? ", tag popped" : ", untagged", l3);
      break;
    }
    case TraceEvent::kLearnNew:  // a: 1 in simulation (nothing is learned), c: the MAC
      f = {{"mac", mac_text(r.c)}, {"simulated", r.a != 0}};
      s.text = fmt::format("source MAC {} is new or moved here: {}", mac_text(r.c), r.a ? "would be learned" : "learn event queued");
      break;
    case TraceEvent::kLearnKnown:  // a: static
      f = {{"static", r.a != 0}};
      s.text = fmt::format("source MAC known on this port ({})", r.a ? "static" : "learned");
      break;
    case TraceEvent::kArpAnswered:  // a: the gateway address
      f = {{"gateway", ip_text(r.a)}};
      s.text = "ARP request for the gateway: answered";
      break;
    case TraceEvent::kEchoAnswered:
      s.text = "ICMP echo request to the gateway: answered with an echo reply";
      break;
    case TraceEvent::kNdAnswered:
      s.text = "IPv6 neighbour solicitation for the gateway: answered with a neighbour advertisement";
      break;
    case TraceEvent::kToSwitch:  // a: the gateway address; b: 6 for IPv6 (gateway6 or the link-local one)
      if (r.b == 6) {
        f = {{"gateway", "gateway6"}};
        s.text = "addressed to the switch (an IPv6 gateway address)";
        break;
      }
      f = {{"gateway", ip_text(r.a)}};
      s.text = fmt::format("addressed to the switch (gateway {})", ip_text(r.a));
      break;
    case TraceEvent::kToRoute:
      s.text = "sent to the gateway MAC: to be routed";
      break;
    case TraceEvent::kToPolicy:  // a: an ICMP error looked up under the flow it quotes
      f = {{"flow", key}, {"related", r.a != 0}};
      s.text = fmt::format("IP unicast: policy applies to flow {}{}", key, r.a ? " (an ICMP error: the flow it quotes)" : "");
      break;
    case TraceEvent::kFragment:  // a: datagram id, b: offset in bytes
      f = {{"id", r.a}, {"offset", r.b}};
      s.text = fmt::format("{} fragment (id {}, offset {}): flow of its datagram", r.b ? "later" : "first", r.a, r.b);
      break;
    case TraceEvent::kCacheHit: {  // a: state, b: rule, c: epoch, d: packets so far, flags: kept by persist
      // A flow kept by persist keeps its old rule's index under the new epoch: a number.
      const std::string rule = r.flags ? fmt::format("#{}", static_cast<int32_t>(r.b)) : nm.rule(static_cast<int32_t>(r.b), static_cast<uint32_t>(r.c));
      f = {{"state", state_text(r.a)}, {"rule", rule}, {"epoch", r.c}, {"persisted", r.flags != 0}, {"packets", r.d}};
      s.text = fmt::format("flow cache hit: {} by rule {} (epoch {}{}), {} packets so far", state_text(r.a), rule, r.c,
                           r.flags ? ", kept by persist" : "", r.d);
      break;
    }
    case TraceEvent::kMissDecided: {  // a: rule, b: epoch, c: action
      const std::string rule = nm.rule(static_cast<int32_t>(r.a), r.b);
      const std::string action = nm.action(r.c);
      f = {{"rule", rule}, {"epoch", r.b}, {"action", action}};
      s.text = fmt::format("flow cache miss: the policy thread decides rule {} (epoch {}): {}", rule, r.b, action);
      break;
    }
    case TraceEvent::kUpcall:
      s.text = "flow cache miss: sent to the policy thread (upcall)";
      break;
    case TraceEvent::kReinjected: {  // a: state, b: rule, c: epoch, flags: the entry was found
      f = {{"state", state_text(r.a)}};
      if (r.flags) {
        const std::string rule = nm.rule(static_cast<int32_t>(r.b), static_cast<uint32_t>(r.c));
        f.update({{"rule", rule}, {"epoch", r.c}});
        s.text = fmt::format("back from the policy thread: the new flow is {} by rule {} (epoch {})", state_text(r.a), rule, r.c);
      } else {
        s.text = fmt::format("back from the policy thread: {} (no flow entry kept)", state_text(r.a));
      }
      break;
    }
    case TraceEvent::kRelated:  // a: the quoted flow's state, b: forwarded
      f = {{"flow", key}, {"state", state_text(r.a)}, {"forwarded", r.b != 0}};
      s.text = fmt::format("ICMP error quoting flow {}, which is {}: {}", key, state_text(r.a), r.b ? "it travels with the flow" : "dropped");
      break;
    case TraceEvent::kRejected:  // a: IP protocol
      f = {{"answer", r.a == packet::kProtoTcp ? "tcp_rst" : "icmp_unreachable"}};
      s.text = fmt::format("rejected: the packet is answered with {}", r.a == packet::kProtoTcp ? "a TCP RST" : "ICMP unreachable");
      break;
    case TraceEvent::kAsDeviceSent: {  // a: chain, b: epoch
      const std::string chain = nm.chain(static_cast<int16_t>(r.a), r.b);
      f = {{"chain", chain}};
      s.text = fmt::format("a first packet from chain {}'s device: delivered as the device sent it; no flow until a VM sends", chain);
      break;
    }
    case TraceEvent::kChainAdmission: {  // a: the admission's outcome (kChainAdmission*), b: epoch, c: chain
      const std::string chain = nm.chain(static_cast<int16_t>(static_cast<uint16_t>(r.c)), r.b);
      f = {{"chain", chain}};
      if (r.a == kChainAdmissionPending) {
        f["outcome"] = "pending";
        s.text = fmt::format("new flow: pending on chain {} (its device is up)", chain);
      } else if (r.a == kChainAdmissionDenied) {
        f["outcome"] = "denied";
        s.text = fmt::format("chain {}'s device is down and the chain fails closed: the flow is denied", chain);
      } else {
        f["outcome"] = "bypassed";
        s.text = fmt::format("chain {}'s device is down and the chain fails open: the flow bypasses it", chain);
      }
      break;
    }
    case TraceEvent::kChainFromDevice:  // a: state, b: packets the device passed back so far
      f = {{"state", state_text(r.a)}, {"returned", r.b}};
      s.text = fmt::format("from the device ({}): delivered as the device sent it{}", state_text(r.a),
                           static_cast<flow::FlowState>(r.a) == flow::FlowState::kPending ? "; the tap sensor counts it towards verification" : "");
      break;
    case TraceEvent::kChainToDevice:  // port: the device port, a: state, c: packets to the device so far
      f = {{"state", state_text(r.a)}, {"device_port", port}, {"packets", r.c}};
      s.text = fmt::format("{}: sent, unmodified, to the device on port {} ({} packets so far)", state_text(r.a), port, r.c);
      break;
    case TraceEvent::kChainShortcut:  // net: the target network, a: TTL, c: the side's MAC, flags: between networks
      f = {{"network", net}, {"src_mac", nm.gateway_mac(r.net)}, {"dst_mac", mac_text(r.c)}};
      if (r.flags) f["ttl"] = {r.a, r.a - 1};
      s.text = fmt::format("verified: shortcut to network {}, MACs {} -> {}{}", net, nm.gateway_mac(r.net), mac_text(r.c),
                           r.flags ? fmt::format(", TTL {} -> {}", r.a, r.a - 1) : "");
      break;
    case TraceEvent::kQosCheck: {  // a: seen | assigned << 8 | written << 16, b: assignment, c: mode
      const uint8_t seen = r.a & 0xff, assigned = r.a >> 8 & 0xff, out = r.a >> 16 & 0xff;
      const auto a = static_cast<int16_t>(static_cast<int32_t>(r.b));
      const std::string mode = nm.qos_mode(r.c);
      f = {{"seen", dscp_name(seen)}, {"assigned", assigned == kNoDscp ? "none" : dscp_name(assigned)}, {"written", dscp_name(out)}};
      if (a >= 0) f.update({{"assignment", nm.assignment(a)}, {"mode", mode}});
      s.text = fmt::format("DSCP seen {}, assigned {}{}: {}", dscp_name(seen), assigned == kNoDscp ? "none" : dscp_name(assigned),
                           a >= 0 ? fmt::format(" by '{}' ({})", nm.assignment(a), mode) : "",
                           out != seen ? fmt::format("rewritten to {} (ECN kept, checksum updated)", dscp_name(out))
                           : assigned != kNoDscp && seen != assigned ? "mismatch counted, left as is (audit)"
                                                                             : "left as is");
      break;
    }
    case TraceEvent::kQosMeter: {  // a: meter, b: colour (rte_color), c: MeterAction::Kind, d: remark DSCP
      const char* colour = r.b == 0 ? "green" : r.b == 1 ? "yellow" : "red";
      const std::string action = r.c == kMeterActionDrop     ? "drop"
                                 : r.c == kMeterActionRemark ? "remark to " + dscp_name(static_cast<uint8_t>(r.d))
                                                                       : "transmit";
      f = {{"meter", nm.meter(r.a)}, {"colour", colour}, {"action", action}};
      s.text = fmt::format("meter '{}': {} -> {}", nm.meter(r.a), colour, action);
      break;
    }
    case TraceEvent::kQosClass:  // port: output port, a: class, b: scheduled
      f = {{"class", nm.cls(r.a)}, {"scheduled", r.b != 0}};
      s.text = fmt::format("class {}{}", nm.cls(r.a), r.b ? ": queued by class on the port's scheduler" : "");
      break;
    case TraceEvent::kMirrorCopied:  // port: tap port, a: mirror slot, b: direction (kMirrorCopiedTx: tx)
      f = {{"port", port}, {"mirror", nm.mirror(r.a)}, {"direction", r.b == kMirrorCopiedTx ? "tx" : "rx"}};
      s.text = fmt::format("copied to mirror {} ({} of port {})", nm.mirror(r.a), r.b == kMirrorCopiedTx ? "tx" : "rx", port);
      break;
    case TraceEvent::kFlood:  // a: ports flooded to
      f = {{"network", net}, {"ports", r.a}};
      s.text = fmt::format("flood in network {} ({} port(s))", net, r.a);
      break;
    case TraceEvent::kSwitched:  // port: output, c: destination MAC
      f = {{"dst_mac", mac_text(r.c)}, {"port", port}};
      s.text = fmt::format("switched: destination MAC {} is on port {}", mac_text(r.c), port);
      break;
    case TraceEvent::kRouted:  // net: output network, a: TTL / hop limit, b: 6 for IPv6, c: the neighbour's MAC
      f = {{"network", net}, {"ttl", {r.a, r.a - 1}}, {"src_mac", nm.gateway_mac(r.net)}, {"dst_mac", mac_text(r.c)}};
      if (r.b == 6) f["family"] = 6;
      s.text = fmt::format("routed{} to network {}: {} {} -> {}, MACs {} -> {}", r.b == 6 ? " (IPv6)" : "", net,
                           r.b == 6 ? "hop limit" : "TTL", r.a, r.a - 1, nm.gateway_mac(r.net), mac_text(r.c));
      break;
    case TraceEvent::kNeighborUnknown:  // net: output network, a: destination (IPv4), b: 6 for IPv6
      if (r.b == 6) {
        f = {{"network", net}, {"family", 6}};
        s.text = fmt::format("routed (IPv6) to network {}, but the neighbour is unknown: dropped, a neighbour solicitation goes out instead", net);
        break;
      }
      f = {{"network", net}, {"neighbor", ip_text(r.a)}};
      s.text = fmt::format("routed to network {}, but neighbour {} is unknown: dropped, an ARP request goes out instead", net, ip_text(r.a));
      break;
    case TraceEvent::kOutput:  // port, net, a: tagged, b: VLAN
      f = {{"port", port}, {"network", net}, {"vlan_pushed", r.a ? json(r.b) : json(nullptr)}};
      s.text = fmt::format("port {} in network {}{}", port, net, r.a ? fmt::format(", VLAN {} pushed", r.b) : ", untagged");
      break;
    case TraceEvent::kFragmented:  // port, a: IP bytes, b: the port's mtu
      f = {{"port", port}, {"bytes", r.a}, {"mtu", r.b}};
      s.text = fmt::format("{} bytes exceed port {}'s mtu {}: fragmented", r.a, port, r.b);
      break;
    case TraceEvent::kTableFull:  // a: the state the packet is finished with
      f = {{"state", flow::flow_state_name(static_cast<flow::FlowState>(r.a))}};
      s.text = fmt::format("the flow table is full: no entry is installed; this packet is {}",
                           flow::flow_state_name(static_cast<flow::FlowState>(r.a)));
      break;
    case TraceEvent::kTooBig:  // port, a: IP bytes, b: the port's mtu
      f = {{"port", port}, {"bytes", r.a}, {"mtu", r.b}};
      s.text = fmt::format("{} bytes exceed port {}'s mtu {} and may not be fragmented: dropped, the sender is told the mtu", r.a, port, r.b);
      break;
    case TraceEvent::kDrop: {  // port, a: DropReason
      const DropReasonInfo& why = drop_reasons()[r.a];
      f = {{"reason", why.name}, {"port", port}};
      s.text = fmt::format("{} on port {} ({})", why.name, port, why.help);
      break;
    }
    case TraceEvent::kCoreCount: break;
  }
  return s;
}

std::string summary_of(const TracePacket& pk, const Namer& nm) {
  const uint8_t* e = pk.head;
  std::string out = fmt::format("port {}  {} -> {}", nm.port(pk.in_port), pk.head_len >= 12 ? MacAddr::from(e + 6).to_string() : "?",
                                pk.head_len >= 6 ? MacAddr::from(e).to_string() : "?");
  packet::ParsedPacket pp;
  if (packet::parse(e, pk.head_len, pk.wire_len, pp)) {
    // Cut short by the record's head (or malformed: the trace says which).
    return out + fmt::format("  ({} bytes)", pk.wire_len);
  }
  if (pp.has_vlan) out += fmt::format("  vlan {}", pp.vlan_id);
  if (pp.ethertype == packet::kEtherTypeIpv4) {
    const char* proto = pp.ip_proto == packet::kProtoTcp ? "tcp" : pp.ip_proto == packet::kProtoUdp ? "udp" : pp.ip_proto == packet::kProtoIcmp ? "icmp" : nullptr;
    out += fmt::format("  {} {}", proto ? proto : fmt::format("proto {}", pp.ip_proto), ip_text(pp.src_ip));
    if (pp.l4_offset && (pp.ip_proto == packet::kProtoTcp || pp.ip_proto == packet::kProtoUdp)) out += fmt::format(":{}", pp.src_port);
    out += " -> " + ip_text(pp.dst_ip);
    if (pp.l4_offset && (pp.ip_proto == packet::kProtoTcp || pp.ip_proto == packet::kProtoUdp)) out += fmt::format(":{}", pp.dst_port);
    if (pp.l4_offset && pp.ip_proto == packet::kProtoIcmp) out += fmt::format(" type {} code {}", pp.src_port, pp.dst_port);
    if (pp.l4_offset && pp.ip_proto == packet::kProtoTcp) {
      std::string fl;
      for (auto [bit, c] : {std::pair{0x02, 'S'}, {0x10, 'A'}, {0x01, 'F'}, {0x04, 'R'}, {0x08, 'P'}})
        if (pp.tcp_flags & bit) fl += c;
      out += fmt::format(" [{}]", fl);
    }
  } else if (pp.ethertype == packet::kEtherTypeArp) {
    out += fmt::format("  arp {} {} -> {}", pp.arp_op == 1 ? "request" : "reply", ip_text(pp.src_ip), ip_text(pp.dst_ip));
  } else {
    out += fmt::format("  ethertype 0x{:04x}", pp.ethertype);
  }
  return out + fmt::format("  ({} bytes)", pk.wire_len);
}

// A packet's class is recorded at the egress point (the QoS module's stage there, once per
// port per burst), after all of its outputs in that burst (a flood's copies, fragments):
// shown right after the output it belongs to, the first to its port that has no class
// yet, as the step read when the class was taken in emit(). False: no such output.
bool place_after_output(const TraceRecord& r, TraceStep&& step, std::vector<TraceStep>& steps,
                        std::vector<const TraceRecord*>& records) {
  for (size_t k = 0; k < records.size(); ++k) {
    if (records[k]->what != TraceEvent::kOutput || records[k]->port != r.port) continue;
    if (k + 1 < records.size() && records[k + 1]->what == TraceEvent::kQosClass) continue;  // has its class
    steps.insert(steps.begin() + static_cast<std::ptrdiff_t>(k + 1), std::move(step));
    records.insert(records.begin() + static_cast<std::ptrdiff_t>(k + 1), &r);
    return true;
  }
  return false;
}

}  // namespace

std::string trace_mac_text(uint64_t bits) {
  uint8_t b[6];
  std::memcpy(b, &bits, 6);
  return MacAddr::from(b).to_string();
}
std::string trace_ip_text(uint32_t host_order) { return Ipv4Addr{host_order}.to_string(); }

FormattedPacket format_packet(const TraceBuffer& buf, uint16_t packet, const TraceNames& names) {
  const Namer nm(names);
  const TracePacket& pk = buf.packet(packet);
  FormattedPacket out;
  out.thread = pk.thread;
  out.in_port = pk.in_port;
  out.tsc = pk.tsc;
  out.length = pk.wire_len;
  out.summary = summary_of(pk, nm);
  for (uint16_t i = 0; i < pk.head_len; ++i) out.head_hex += fmt::format("{:02x}", pk.head[i]);
  std::string dropped;
  std::vector<const TraceRecord*> step_records;  // parallel to out.steps
  for (uint32_t i = 0; i < buf.record_count(); ++i) {
    const TraceRecord& r = buf.rec(i);
    if (r.packet != packet) continue;
    if (r.what == TraceEvent::kQosClass && place_after_output(r, step_of(r, pk, nm), out.steps, step_records)) continue;
    out.steps.push_back(step_of(r, pk, nm));
    step_records.push_back(&r);
    if (r.what == TraceEvent::kOutput) out.outputs.push_back(nm.port(r.port));
    if (r.what == TraceEvent::kDrop && dropped.empty()) dropped = out.steps.back().fields["reason"].get<std::string>();
    if (r.what == TraceEvent::kCacheHit || r.what == TraceEvent::kReinjected) out.verdict = state_text(r.a);
    if (r.what == TraceEvent::kMissDecided) out.verdict = out.steps.back().fields["action"].get<std::string>();
    if (r.what == TraceEvent::kChainAdmission) out.verdict = out.steps.back().fields["outcome"].get<std::string>();
  }
  if (!out.outputs.empty()) {
    std::string ports;
    for (const auto& p : out.outputs) ports += (ports.empty() ? "" : ", ") + p;
    out.result = fmt::format("sent on {} port(s): {}", out.outputs.size(), ports);
  } else if (pk.upcalled) {
    out.result = "still with the policy thread when the trace ended";
  } else if (!dropped.empty()) {
    out.result = "dropped: " + dropped;
  } else {
    out.result = "consumed by the switch";
  }
  return out;
}

std::vector<FormattedPacket> format_trace(const TraceBuffer& buf, const TraceNames& names) {
  std::vector<FormattedPacket> out;
  for (uint16_t i = 0; i < buf.packet_count(); ++i) out.push_back(format_packet(buf, i, names));
  return out;
}

json to_json(const TraceStep& s) { return {{"stage", s.stage}, {"event", s.event}, {"fields", s.fields}, {"what", s.text}}; }

json to_json(const FormattedPacket& p, uint64_t first_tsc, uint64_t tsc_hz) {
  json steps = json::array();
  for (const auto& s : p.steps) steps.push_back(to_json(s));
  const double us = tsc_hz && p.tsc >= first_tsc ? static_cast<double>(p.tsc - first_tsc) * 1e6 / static_cast<double>(tsc_hz) : 0.0;
  return {{"thread", p.thread}, {"time_us", us},           {"length", p.length},   {"summary", p.summary}, {"frame", p.head_hex},
          {"steps", steps},     {"outputs", p.outputs},    {"verdict", p.verdict}, {"result", p.result}};
}

}  // namespace ivs::pipeline
