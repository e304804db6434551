#include "cases.hpp"

#include <cstring>
#include <stdexcept>

namespace ivs::bench {
namespace {

constexpr uint8_t kMacA[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
constexpr uint8_t kMacB[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};
constexpr uint8_t kGatewayWeb[6] = {0x02, 0x00, 0x00, 0x00, 0xff, 0x01};  // networks[web].gateway_mac

uint32_t ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d; }

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}

// Untagged Ethernet + IPv4 (TTL 64, checksummed) + UDP (no checksum), zero padding.
Frame udp_frame(const uint8_t* dst, const uint8_t* src, uint32_t sip, uint32_t dip, uint16_t sport, uint16_t dport) {
  Frame f{};
  std::memcpy(f.data(), dst, 6);
  std::memcpy(f.data() + 6, src, 6);
  put16(f.data() + 12, 0x0800);
  uint8_t* ih = f.data() + 14;
  ih[0] = 0x45;
  put16(ih + 2, 20 + 8 + 18);  // the UDP payload fills the frame to 60 bytes
  ih[8] = 64;
  ih[9] = 17;
  put32(ih + 12, sip);
  put32(ih + 16, dip);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += uint32_t{ih[i]} << 8 | ih[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  put16(ih + 10, static_cast<uint16_t>(~sum));
  uint8_t* uh = ih + 20;
  put16(uh, sport);
  put16(uh + 2, dport);
  put16(uh + 4, 8 + 18);
  return f;
}

constexpr const char* kSameNetwork = R"(ports:
  - {name: in, type: ring, network: web}
  - {name: out, type: ring, network: web}
networks:
  - {name: web, vlan: 10, subnet: 10.0.0.0/16, gateway: 10.0.255.254}
vms:
  - {name: va, port: in, mac: "02:00:00:00:00:0a", ip: 10.0.0.1}
  - {name: vb, port: out, mac: "02:00:00:00:00:0b", ip: 10.0.0.2}
flows: {upcall_rate: 1000000}
)";

}  // namespace

std::vector<std::string> case_names() { return {"l2", "l2-flows", "routed", "policy", "mirror-stalled"}; }

Case make_case(const std::string& name) {
  Case c;
  c.name = name;
  if (name == "l2" || name == "l2-flows") {
    const unsigned n = name == "l2" ? 1 : 10000;
    c.description = name == "l2" ? "switched, one UDP flow between two VMs" : "switched, 10,000 UDP flows between two VMs";
    c.yaml = kSameNetwork;
    for (unsigned i = 0; i < n; ++i)
      c.frames.push_back(udp_frame(kMacB, kMacA, ip(10, 0, 0, 1), ip(10, 0, 0, 2), static_cast<uint16_t>(20000 + i), 5001));
  } else if (name == "mirror-stalled") {
    // As l2, with a live capture of every packet the in port receives whose reader never
    // reads (a tool that cannot keep up): what such a mirror costs the datapath.
    c.description = "switched, one UDP flow, a capture of the in port whose reader is stalled";
    c.yaml = kSameNetwork;
    c.frames.push_back(udp_frame(kMacB, kMacA, ip(10, 0, 0, 1), ip(10, 0, 0, 2), 20000, 5001));
    c.stalled_capture = "in";
  } else if (name == "routed") {
    c.description = "routed between two networks, one UDP flow";
    c.yaml = R"(ports:
  - {name: in, type: ring, network: web}
  - {name: out, type: ring, network: db}
networks:
  - {name: web, vlan: 10, subnet: 10.0.0.0/16, gateway: 10.0.255.254, gateway_mac: "02:00:00:00:ff:01"}
  - {name: db, vlan: 20, subnet: 10.1.0.0/16, gateway: 10.1.255.254}
vms:
  - {name: va, port: in, mac: "02:00:00:00:00:0a", ip: 10.0.0.1}
  - {name: vb, port: out, mac: "02:00:00:00:00:0b", ip: 10.1.0.1}
flows: {upcall_rate: 1000000}
)";
    c.frames.push_back(udp_frame(kGatewayWeb, kMacA, ip(10, 0, 0, 1), ip(10, 1, 0, 1), 20000, 5001));
  } else if (name == "policy") {
    c.description = "switched, default drop, 1,000 rules, 1,000 UDP flows allowed by the last rule";
    c.yaml = std::string(kSameNetwork) + "policy:\n  default: drop\n  rules:\n";
    for (unsigned i = 0; i < 999; ++i)
      c.yaml += "    - {name: r" + std::to_string(i) + ", from: 172.16." + std::to_string(i / 256) + "." + std::to_string(i % 256) +
                "/32, to: 172.17." + std::to_string(i / 256) + "." + std::to_string(i % 256) +
                "/32, protocol: tcp, ports: [" + std::to_string(1 + i) + "], action: drop}\n";
    c.yaml += "    - {name: allow-udp, from: 10.0.0.0/16, to: 10.0.0.0/16, protocol: udp, action: allow}\n";
    for (unsigned i = 0; i < 1000; ++i)
      c.frames.push_back(udp_frame(kMacB, kMacA, ip(10, 0, 0, 1), ip(10, 0, 0, 2), static_cast<uint16_t>(20000 + i), 5001));
  } else {
    throw std::invalid_argument("unknown case '" + name + "'");
  }
  return c;
}

}  // namespace ivs::bench
