// Config: the good file loads with every field as written; each bad file yields exactly
// the errors in its .errors file (FILE:LINE: message, every error, in file order).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/loader.hpp"

using namespace ivs;

namespace {
std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
const std::filesystem::path kDir = std::filesystem::path(IVS_TEST_DATA) / "config";
}  // namespace

TEST(Config, GoodFileLoads) {
  // As a model (its pcap port's files do not exist here: the daemon's check would say so).
  auto cfg = config::load_string(slurp(kDir / "good.yaml"), "good.yaml");
  ASSERT_TRUE(cfg) << (cfg ? "" : cfg.error().front());
  EXPECT_EQ(cfg->sw.instance, "unit");
  EXPECT_EQ(cfg->sw.cores, std::vector<unsigned>{0});
  EXPECT_EQ(cfg->sw.hugepages, config::HugepageMode::kOff);
  EXPECT_EQ(cfg->sw.fdb_size, 4096u);
  ASSERT_EQ(cfg->ports.size(), 4u);
  EXPECT_EQ(cfg->ports[0].type, config::PortType::kAfPacket);
  EXPECT_EQ(cfg->ports[0].interface, "veth-vm1");
  EXPECT_EQ(cfg->ports[1].type, config::PortType::kVhostUser);
  EXPECT_TRUE(cfg->ports[1].vhost_client);
  EXPECT_EQ(cfg->ports[2].interface, "up");  // tap interface defaults to the port name
  EXPECT_EQ(cfg->ports[2].trunk_networks, (std::vector<std::string>{"web", "db"}));
  EXPECT_EQ(cfg->ports[2].native_network, "web");
  EXPECT_EQ(cfg->ports[3].rx_file, "in.pcap");
  ASSERT_EQ(cfg->networks.size(), 2u);
  EXPECT_EQ(cfg->networks[0].gateway_mac, config::default_gateway_mac(10));
  EXPECT_EQ(cfg->networks[1].gateway_mac.to_string(), "02:aa:00:00:00:20");
  EXPECT_EQ(cfg->networks[1].subnet->to_string(), "10.0.2.0/24");
  EXPECT_EQ(cfg->networks[0].subnet6->to_string(), "2001:db8:1::/64");
  EXPECT_EQ(cfg->networks[0].gateway6->to_string(), "2001:db8:1::1");
  EXPECT_FALSE(cfg->networks[1].gateway6);
  ASSERT_EQ(cfg->vms.size(), 2u);
  EXPECT_EQ(cfg->vms[0].network, "web");  // resolved from the access port
  EXPECT_EQ(cfg->vms[1].network, "db");
  EXPECT_TRUE(cfg->flow_export.enabled);
  EXPECT_EQ(cfg->flow_export.collectors, (std::vector<std::string>{"127.0.0.1:4739", "[::1]:4739"}));
  EXPECT_EQ(cfg->flow_export.active_timeout_s, 30u);
  EXPECT_EQ(cfg->flow_export.template_interval_s, 120u);
  EXPECT_EQ(cfg->flow_export.observation_domain, 5u);
  EXPECT_EQ(cfg->flow_export.queue_records, 4096u);
}

TEST(Config, DefaultsAreSane) {
  auto cfg = config::load_string("ports: []\n", "min.yaml");
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->sw.control_socket, "/run/ivswitch/ivswitch.sock");
  EXPECT_EQ(cfg->sw.metrics_address, "127.0.0.1:9464");
  EXPECT_EQ(cfg->sw.hugepages, config::HugepageMode::kAuto);
  EXPECT_TRUE(cfg->sw.cores.empty());
  EXPECT_FALSE(cfg->flow_export.enabled);
  EXPECT_TRUE(cfg->flow_export.collectors.empty());
  EXPECT_EQ(cfg->flow_export.enterprise_number, 32473u);  // RFC 5612's documentation number
  EXPECT_EQ(cfg->flow_export.active_timeout_s, 60u);
}

TEST(Config, BadFilesReportEveryErrorWithItsLine) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kDir / "bad")) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string name = "bad/" + entry.path().filename().string();
    auto expected_path = entry.path();
    expected_path.replace_extension(".errors");
    ASSERT_TRUE(std::filesystem::exists(expected_path)) << "missing " << expected_path;
    std::vector<std::string> expected;
    std::istringstream lines(slurp(expected_path));
    for (std::string l; std::getline(lines, l);)
      if (!l.empty()) expected.push_back(l);
    auto cfg = config::load_string(slurp(entry.path()), name);
    ASSERT_FALSE(cfg) << name << " loaded but should not";
    EXPECT_EQ(cfg.error(), expected) << name;
    ++checked;
  }
  EXPECT_GE(checked, 7);
}

TEST(Config, MissingFileIsAnError) {
  auto cfg = config::load_file("/nonexistent/switch.yaml");
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().front(), "/nonexistent/switch.yaml:0: cannot open the file");
}

// Issue 14 item 7: a `vms` entry that is not a mapping (null, a number, a list, a dangling
// '-') was reported by the reader and then aborted the loader (SIGABRT: yaml-cpp threw in
// the cross-checks). It is one FILE:LINE error like in every other section. Found again by
// tests/fuzz/config_fuzz.cpp; the golden file is bad/vms_not_mapping.yaml.
TEST(Config, VmThatIsNotAMappingIsAnErrorNotAnAbort) {
  const std::string ports = "ports:\n  - {name: vm1, type: discard, network: web}\nnetworks:\n  - {name: web, vlan: 10}\n";
  for (const char* vms : {"vms: [~]\n", "vms: [5]\n", "vms: [[a]]\n", "vms:\n  -\n", "vms: [{name: a, port: vm1, mac: \"02:00:00:00:00:01\"}, x]\n"}) {
    config::LoadResult cfg = config::LoadResult(std::unexpected(std::vector<std::string>{}));
    ASSERT_NO_THROW(cfg = config::load_string(ports + vms, "vms.yaml")) << vms;
    ASSERT_FALSE(cfg) << vms;
    ASSERT_EQ(cfg.error().size(), 1u) << vms;
    EXPECT_NE(cfg.error()[0].find("expected a mapping of keys to values"), std::string::npos) << cfg.error()[0];
    EXPECT_EQ(cfg.error()[0].rfind("vms.yaml:", 0), 0u) << cfg.error()[0];
  }
}
