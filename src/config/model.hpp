#pragma once
// The configuration after it has been read and validated: plain immutable data.
// Produced only by config::load_file / load_string (loader.hpp); everything in it has
// been checked (types, ranges, references, duplicates, overlaps), so consumers do not
// re-validate. docs/config.md documents every field.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/dscp.hpp"
#include "common/net_types.hpp"
#include "config/job_sections.hpp"

namespace ivs::config {

// kChannel: the host end of the host-VM channel, made by the switch itself (not a `type`
// a user writes): a pair of rings between the datapath and the channel service.
enum class PortType { kVhostUser, kTap, kAfPacket, kAfXdp, kPcap, kRing, kNull, kChannel };
enum class HugepageMode { kAuto, kOn, kOff };

std::string_view port_type_name(PortType t);

// Bounds of one of the control plane's HTTP servers (docs/security.md).
struct HttpLimitsConfig {
  uint32_t connections;          // served at once; one more gets 503
  uint32_t request_timeout_ms;   // to read a whole request (line, headers, body)
  uint32_t max_body_bytes;       // a larger request body gets 413 before it is read
  bool operator==(const HttpLimitsConfig&) const = default;
};

struct SwitchConfig {
  std::string instance = "ivswitch";    // names the DPDK file prefix and default socket
  std::vector<unsigned> cores;          // datapath CPUs; empty = one PMD on the last allowed CPU
  std::string control_socket;           // default /run/ivswitch/<instance>.sock
  std::string metrics_address = "127.0.0.1:9464";  // host:port; "" disables /metrics
  HugepageMode hugepages = HugepageMode::kAuto;
  uint32_t fdb_size = 65536;
  uint32_t fdb_aging_seconds = 300;
  uint32_t neighbor_size = 16384;
  uint32_t idle_sleep_max_us = 500;     // longest nap of an idle datapath thread
  // The port table's slots: the most ports the switch has at once, those added at runtime
  // included; per-port arrays are sized to it at start (docs/architecture.md).
  uint32_t max_ports = 32;
  std::string log_level = "info";
  // A clean stop saves the established flows beside the control socket
  // (<dir>/<instance>.flows) and the next start restores them before forwarding.
  bool flow_restore = true;
  HttpLimitsConfig control_limits{16, 5000, 1u << 20};
  HttpLimitsConfig metrics_limits{16, 5000, 0};
  bool operator==(const SwitchConfig&) const = default;
};

// The flow cache (one entry per two-way flow) and its timeouts.
struct FlowConfig {
  uint32_t table_size = 262144;         // hard bound; inserts beyond are refused (counted)
  uint32_t upcall_rate = 20000;         // new flows per second per port sent to the policy thread
  uint32_t tcp_handshake_s = 30;        // SYN seen, not yet established
  uint32_t tcp_established_s = 3600;
  uint32_t tcp_closing_s = 30;          // FIN or RST seen
  uint32_t udp_s = 60;
  uint32_t icmp_s = 30;
  uint32_t other_s = 60;
  // Test mode: cache hits checked against the slow path's decide() (policy/autovalidator.hpp).
  bool autovalidator = false;
};

// Flow records over IPFIX (docs/flow-export.md): a record per flow direction when the
// flow ends and every active timeout, to UDP collectors.
struct FlowExportConfig {
  bool enabled = false;                 // a `flow_export` section is present
  std::vector<std::string> collectors;  // "host:port" (IPv4, [IPv6] or a name); more may be added at runtime
  uint32_t active_timeout_s = 60;       // a running flow reports at least this often
  uint32_t template_interval_s = 60;    // templates resent this often (UDP: RFC 7011 8.4)
  uint32_t observation_domain = 1;
  uint32_t enterprise_number = 32473;   // RFC 5612's documentation number until IANA assigns one
  uint32_t max_message_bytes = 1400;    // IPFIX message (UDP payload) size bound: no IP fragments
  uint32_t queue_records = 65536;       // records waiting for the exporter thread; more are dropped (counted)
  bool operator==(const FlowExportConfig&) const = default;
};

// kInspect: the flow's first packets go through the rule's chain (an inline device)
// before the switch shortcuts it (ChainConfig, docs/chains.md).
enum class PolicyAction : uint8_t { kAllow, kDrop, kReject, kInspect };
std::string_view policy_action_name(PolicyAction a);

struct PortRange {
  uint16_t lo = 0, hi = 65535;
  bool operator==(const PortRange&) const = default;
};

// A set of endpoints by VM name, VM label or CIDR (IPv4 or IPv6 prefixes).
struct PolicyGroup {
  std::string name;
  std::vector<std::string> vms, labels;
  std::vector<IpPrefix> cidrs;
};

// What a policy rule or a QoS assignment matches in a packet of one direction of a flow.
struct FlowMatch {
  std::vector<std::string> from, to;    // group names, VM names or CIDRs (IPv4/IPv6); empty = any
  uint8_t protocol = 0;                 // IP protocol; 0 = any (icmp: 1, icmpv6: 58)
  std::vector<PortRange> ports;         // destination ports (TCP/UDP); empty = any
  std::vector<PortRange> src_ports;
  std::optional<uint8_t> icmp_type;
  std::string network;                  // ingress network; "" = any
  bool operator==(const FlowMatch&) const = default;
};

struct PolicyRule : FlowMatch {
  std::string name;
  PolicyAction action = PolicyAction::kAllow;
  std::string chain;                    // action inspect: the chain's name
  bool persist = false;                 // on_change: persist (keep established flows) vs reevaluate
};

// An inline security device (firewall/IPS VM, a router namespace) that sees the first
// packets of a flow before the switch takes the flow over (the shortcut).
struct ChainConfig {
  std::string name;
  std::string out_port;                 // towards the device, for the flow's initiator side
  std::string return_port;              // the device sends the flow back here ("" = out_port)
  uint32_t inspect_packets = 1;         // packets the device must pass back; 0 = until the TCP handshake completes
  uint32_t verify_timeout_ms = 2000;    // PENDING longer than this: the device refused or is lost
  bool fail_open = false;               // on timeout / device down: keep using the device (timeout) or bypass it (down)
};

// QoS guard (docs/qos.md). enforce: rewrite an inconsistent DSCP; audit: count and
// sample, change nothing; trust: leave as is (only counted).
enum class QosMode : uint8_t { kEnforce, kAudit, kTrust };
std::string_view qos_mode_name(QosMode m);
using ivs::kNoDscp;  // common/dscp.hpp

// Who must carry which DSCP: the sender of each direction of a flow is matched (first
// assignment that matches wins).
struct QosAssignment : FlowMatch {
  std::string name;
  uint8_t dscp = kNoDscp;               // required unless mode is trust
  QosMode mode = QosMode::kEnforce;
  std::string meter;                    // "" = none
};

// What a meter does with a packet of one colour.
struct MeterAction {
  enum Kind : uint8_t { kTransmit, kRemark, kDrop } kind = kTransmit;
  uint8_t dscp = 0;                     // kRemark: the DSCP written
  bool operator==(const MeterAction&) const = default;
};

// A two-rate three-colour meter (RFC 2698), one instance per ingress port that uses it.
struct MeterConfig {
  std::string name;
  uint64_t cir_bps = 0, pir_bps = 0;    // committed / peak information rate, bits per second
  uint32_t cbs_bytes = 0, pbs_bytes = 0;  // committed / peak burst size
  MeterAction yellow{MeterAction::kTransmit}, red{MeterAction::kDrop};
  bool operator==(const MeterConfig&) const = default;
};

// A traffic class: the DSCPs it takes, and how its egress queue is served: strict
// priority (0 = highest, up to 11) or a weighted share of the best-effort band.
struct QosClass {
  std::string name;
  std::vector<uint8_t> dscp;
  std::optional<uint32_t> priority;     // strict priority level; exclusive with weight
  uint32_t weight = 0;                  // weighted (1..254) when priority is not set
  std::string meter;                    // "" = none (applied at ingress, per port)
  bool operator==(const QosClass&) const = default;
};

// A port whose egress is scheduled by class (DPDK rte_sched).
struct QosEgress {
  std::string port;
  uint64_t rate_bps = 0;                // the rate the port's output is scheduled at (required)
  uint32_t queue_packets = 64;          // per class queue, tail drop beyond (power of two)
  bool operator==(const QosEgress&) const = default;
};

struct QosConfig {
  bool enabled = false;                 // a `qos` section is present
  std::vector<QosAssignment> assign;
  std::vector<QosClass> classes;
  std::string default_class;            // for DSCPs no class lists ("" = implicit 'default')
  std::vector<MeterConfig> meters;
  std::vector<QosEgress> egress;
  int find_meter(std::string_view name) const;
};

struct PolicyConfig {
  PolicyAction default_action = PolicyAction::kAllow;
  std::vector<PolicyGroup> groups;
  std::vector<PolicyRule> rules;        // first match wins
};

// vTAP + packet broker (docs/mirrors.md): copies of the packets seen at tap points,
// selected by a pcap-filter expression, delivered to tools by the broker thread.
struct MirrorTap {
  std::string port;                     // "" for a flow tap
  bool rx = true, tx = true;            // direction: rx (received on the port), tx (sent out of it), both
  // A flow tap: the packets (both directions) of the IPv4 flows a policy match selects,
  // copied where they enter the switch, whatever the port.
  std::optional<FlowMatch> flows;
  bool operator==(const MirrorTap&) const = default;
};
struct MirrorTool {
  // kPcapng: a file; kPort: a tool port (tcpdump, an IDS VM); kErspan / kVxlan: a remote
  // tool, copies encapsulated and sent out of `port`; kGroup: `members`, each flow's
  // copies to one of them by a symmetric flow hash; kStream: `ivctl capture` (runtime only).
  enum Kind : uint8_t { kPcapng, kPort, kErspan, kVxlan, kGroup, kStream } kind = kPcapng;
  std::string path;                     // kPcapng: the file (rotated as path.1, path.2, ...); kStream: its id
  uint32_t rotate_mb = 100;             // kPcapng: start a new file beyond this size
  uint32_t rotate_seconds = 0;          // kPcapng: ... or after this long (0 = never)
  uint32_t keep = 5;                    // kPcapng: rotated files kept
  std::string port;                     // kPort: the tool port; kErspan/kVxlan: the port the tunnel leaves by
  // kErspan / kVxlan: the outer headers.
  Ipv4Addr remote_ip, local_ip;
  MacAddr remote_mac, local_mac;        // remote_mac defaults to the VM with remote_ip
  uint32_t erspan_version = 2;          // kErspan: 2 (type II) or 3 (type III)
  uint32_t session = 1;                 // kErspan: session id (10 bits)
  uint32_t vni = 0;                     // kVxlan
  uint32_t udp_port = 4789;             // kVxlan: destination port
  std::vector<MirrorTool> members;      // kGroup
  bool operator==(const MirrorTool&) const = default;
};
struct MirrorConfig {
  std::string name;
  std::vector<MirrorTap> taps;
  std::string filter;                   // pcap-filter (tcpdump) expression; "" = everything
  uint32_t snaplen = 0;                 // bytes kept per copy; 0 = the whole frame
  uint32_t sample = 1;                  // 1 in N eligible packets (after the filter)
  bool dedup = true;                    // a packet switched between two tapped ports: one copy (at ingress)
  std::vector<MirrorTool> tools;
  bool operator==(const MirrorConfig&) const = default;
};

// Host-VM channel (docs/channels.md): messages between host daemons and an agent in
// each VM, carried through the switch as UDP on a VLAN of their own.
struct ChannelBinding {
  uint32_t id = 0;                      // the metadata id (carried in every message)
  std::string vm;                       // host role: the VM whose port carries the channel
  std::string port;                     // guest role: the port where the agent sits
  uint16_t vlan = 0;                    // the VLAN the id maps to, on the VM's port / the uplink
  MacAddr agent_mac;
  Ipv4Addr agent_ip;
  bool operator==(const ChannelBinding&) const = default;
};
struct ChannelConfig {
  // kHost: this switch is on the host; host daemons use `socket`. kGuest: a nested switch
  // inside a VM, between the VM's NIC (`uplink`) and the agent's port.
  enum class Role : uint8_t { kNone, kHost, kGuest } role = Role::kNone;
  std::string socket;                   // host: the daemons' socket (default /run/ivswitch/<instance>-channel.sock)
  std::string uplink;                   // guest: the port towards the host switch
  MacAddr mac;                          // the channel's own address (default 02:49:56:ff:ff:fe)
  Ipv4Addr ip;                          // ... and IP (default 169.254.77.1, link-local)
  uint32_t udp_port = 7077;
  uint32_t max_message = 1400;          // payload bytes
  uint32_t rate_pps = 200;              // agent -> host messages per second, per channel
  uint32_t burst = 50;                  // ... and the burst above that rate
  uint32_t ack_timeout_ms = 200;        // acknowledged mode: wait before a retry
  uint32_t retries = 4;                 // ... and retries before the send fails
  std::vector<ChannelBinding> map;
  bool enabled() const { return role != Role::kNone; }
  bool operator==(const ChannelConfig&) const = default;
};
// The internal port of the host role and the prefix of the channel networks' names.
inline constexpr std::string_view kChannelPortName = "channel";
inline constexpr std::string_view kChannelNetworkPrefix = "channel-";

struct PortConfig {
  std::string name;
  PortType type = PortType::kNull;
  int line = 0;                         // where the port is declared (for runtime errors)
  // type-specific
  std::string path;                     // vhost-user socket
  bool vhost_client = false;            // vhost-user: mode client (switch connects)
  std::string interface;                // tap / af_packet / af_xdp
  std::string rx_file, tx_file;         // pcap
  // membership: exactly one of access_network or trunk_networks is set
  std::string access_network;
  std::vector<std::string> trunk_networks;
  std::string native_network;           // trunk: the network carried untagged ("" = none)
  std::optional<unsigned> core;         // which datapath CPU polls this port
  // Port security (docs/security.md): only the port's VMs' MACs and addresses may send.
  // Unset in the file: on where a VM is configured on the port, off elsewhere; the
  // validator resolves it, so after loading it always has a value.
  std::optional<bool> port_security;
  uint32_t mtu = 1500;                  // largest IP packet on the wire (af_packet: sizes the ring; egress: fragment or drop)
  // A port may be an access port *and* carry channel VLANs tagged (trunk_networks then
  // lists the channel networks, added by the loader): a VM's port on the host.
};

struct NetworkConfig {
  std::string name;
  uint16_t vlan = 0;
  std::optional<Ipv4Prefix> subnet;
  std::optional<Ipv4Addr> gateway;      // set => the switch routes for this network
  MacAddr gateway_mac;                  // the switch's own MAC on this network
  // IPv6 routing (docs/config.md): the network's on-link IPv6 prefix and the switch's
  // address in it (family 6; gateway6 a full-length prefix). gateway6 set => the switch
  // routes IPv6 for this network, and answers neighbour discovery and ping for gateway6
  // and for the link-local address of gateway_mac (EUI-64).
  std::optional<IpPrefix> subnet6;
  std::optional<IpPrefix> gateway6;
  int16_t channel = -1;                 // a channel's network (made by the loader): index into channel.map
};

// A static route (docs/config.md, "routes"): packets routed to `prefix` that no routed
// network's subnet holds (the connected networks come first) go to a next hop in `via`,
// an address inside a routed network (one with subnet and gateway). Several next hops:
// ECMP, each flow on one of them (a symmetric flow hash picks it).
struct RouteConfig {
  Ipv4Prefix prefix;
  std::vector<Ipv4Addr> via;
  bool operator==(const RouteConfig&) const = default;
};

struct VmConfig {
  std::string name;
  std::string port;
  std::string network;                  // resolved: the port's access network when omitted
  MacAddr mac;
  std::optional<Ipv4Addr> ip;
  std::vector<std::string> labels;      // e.g. tier=web; policy groups select by label
  // Port security: more source addresses (IPv4/IPv6, or prefixes) the VM may send from,
  // besides `ip` (OpenStack's allowed address pairs, with the VM's own MAC).
  std::vector<IpPrefix> allowed_addresses;
  bool router = false;                  // may send IPv6 router advertisements / redirects (RA guard)
  bool dhcp_server = false;             // may answer as a DHCP / DHCPv6 server (DHCP guard)
};

struct Config {
  std::string file;
  SwitchConfig sw;
  FlowConfig flows;
  FlowExportConfig flow_export;
  PolicyConfig policy;
  std::vector<ChainConfig> chains;
  QosConfig qos;
  std::vector<MirrorConfig> mirrors;
  std::vector<PortConfig> ports;
  std::vector<NetworkConfig> networks;
  std::vector<VmConfig> vms;
  std::vector<RouteConfig> routes;      // static and default routes (IPv4)
  ChannelConfig channel;
  JobSections jobs;  // the sections the jobs read themselves (config/job_sections.hpp)

  const NetworkConfig* find_network(std::string_view name) const;
  const PortConfig* find_port(std::string_view name) const;
  int find_chain(std::string_view name) const;  // index, -1 if none
};

// The default gateway MAC of a network: locally administered 02:49:56 ("IV"), then the VLAN.
MacAddr default_gateway_mac(uint16_t vlan);

}  // namespace ivs::config
