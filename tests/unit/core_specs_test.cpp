// The core is given compiled state, not the config: src/flow and src/dpdk include no
// config header, and config/core_specs.cpp carries every field they need across.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/core_specs.hpp"
#include "config/loader.hpp"
#include "dpdk/port.hpp"

using namespace ivs;

TEST(CoreSpecs, FlowAndDpdkIncludeNoConfigHeader) {
  const std::filesystem::path src = std::filesystem::path(IVS_TEST_DATA) / ".." / "src";
  size_t files = 0;
  for (const char* folder : {"flow", "dpdk"})
    for (const auto& f : std::filesystem::directory_iterator(src / folder)) {
      std::ifstream in(f.path());
      ++files;
      for (std::string line; std::getline(in, line);)
        EXPECT_FALSE(line.starts_with("#include \"config/")) << f.path().string() << ": " << line;
    }
  EXPECT_GT(files, 10u);  // the folders were found
}

TEST(CoreSpecs, EveryFieldIsCarried) {
  // CPU 0: the test binary's EAL pins this thread there, and the config check wants the
  // cores to be available. The pcap port's rx_file must exist.
  const std::string rx = std::filesystem::temp_directory_path() / ("specs-in-" + std::to_string(getpid()) + ".pcap");
  std::ofstream(rx) << "";
  std::string text = R"(switch:
  instance: specs
  cores: [0]
  hugepages: "off"
  fdb_size: 1100
  neighbor_size: 2200
flows:
  table_size: 4400
  tcp_handshake_seconds: 11
  tcp_established_seconds: 12
  tcp_closing_seconds: 13
  udp_seconds: 14
  icmp_seconds: 15
  other_seconds: 16
ports:
  - {name: v, type: vhost-user, path: /tmp/specs-v.sock, mode: client, network: web}
  - {name: a, type: af_packet, interface: veth-s, mtu: 9000, network: web}
  - {name: p, type: pcap, rx_file: RX, tx_file: /tmp/specs-out.pcap, network: web}
networks:
  - {name: web, vlan: 10}
)";
  const size_t at = text.find("RX");
  text = text.substr(0, at) + rx + text.substr(at + 2);
  auto cfg = config::load_string(text, "specs.yaml");
  std::filesystem::remove(rx);
  ASSERT_TRUE(cfg) << cfg.error().front();

  const flow::IdleTimeouts t = config::idle_timeouts(cfg->flows);
  EXPECT_EQ(t.tcp_handshake_s, 11u);
  EXPECT_EQ(t.tcp_established_s, 12u);
  EXPECT_EQ(t.tcp_closing_s, 13u);
  EXPECT_EQ(t.udp_s, 14u);
  EXPECT_EQ(t.icmp_s, 15u);
  EXPECT_EQ(t.other_s, 16u);

  const auto ports = config::port_specs(*cfg);
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[0].name, "v");
  EXPECT_EQ(ports[0].kind, dpdk::PortKind::kVhostUser);
  EXPECT_EQ(ports[0].vhost_path, "/tmp/specs-v.sock");
  EXPECT_TRUE(ports[0].vhost_client);
  EXPECT_EQ(ports[1].kind, dpdk::PortKind::kAfPacket);
  EXPECT_EQ(ports[1].interface, "veth-s");
  EXPECT_EQ(ports[1].mtu, 9000u);
  EXPECT_FALSE(ports[1].vhost_client);
  EXPECT_EQ(ports[2].kind, dpdk::PortKind::kPcap);
  EXPECT_EQ(ports[2].rx_file, rx);
  EXPECT_EQ(ports[2].tx_file, "/tmp/specs-out.pcap");
  EXPECT_EQ(dpdk::vdev_for(ports[2], 2, 1).second, "rx_pcap=" + rx + ",tx_pcap=/tmp/specs-out.pcap");
  EXPECT_GT(dpdk::jumbo_pool_for(ports).count, 0u);  // the mtu 9000 af_packet port

  const dpdk::EalSpec e = config::eal_spec(*cfg);
  EXPECT_EQ(e.instance, "specs");
  EXPECT_EQ(e.cores, (std::vector<unsigned>{0}));
  EXPECT_EQ(e.hugepages, dpdk::EalHugepages::kOff);
  EXPECT_EQ(e.table_entries, 7700u);
  EXPECT_EQ(e.ports.size(), 3u);
  // The plan from it: the file prefix, the datapath lcores, no hugepages.
  const auto plan = dpdk::plan_eal(e, 4096);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(plan->pmd_cpus, (std::vector<unsigned>{0}));
  EXPECT_FALSE(plan->hugepages);
  const std::string args = [&] { std::string s; for (const auto& a : plan->args) s += a + " "; return s; }();
  EXPECT_NE(args.find("--file-prefix ivs_specs "), std::string::npos) << args;
  EXPECT_NE(args.find("--no-huge"), std::string::npos) << args;
}
