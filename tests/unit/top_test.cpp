// ivctl top's arithmetic and text (src/cli/top_model.cpp, top_render.cpp): rates from two
// samples shaped as the daemon's show.* answers, restarts, flows new or old, sorting.
#include <gtest/gtest.h>

#include "cli/top_model.hpp"
#include "cli/top_render.hpp"

namespace ivs::cli::top {
namespace {

using nlohmann::json;

json port(const char* name, uint64_t rx, uint64_t rx_bytes, uint64_t tx, uint64_t tx_bytes, json drops = json::object(),
          uint64_t missed = 0) {
  uint64_t total = 0;
  for (const auto& [k, v] : drops.items()) total += v.get<uint64_t>();
  return {{"name", name}, {"link", "up"}, {"rx_packets", rx}, {"rx_bytes", rx_bytes}, {"tx_packets", tx}, {"tx_bytes", tx_bytes},
          {"drops_total", total}, {"drops", drops}, {"device", {{"rx_missed", missed}, {"rx_errors", 0}, {"tx_errors", 0}}}};
}

json flow(const char* src, const char* dst, uint64_t pf, uint64_t pr, uint64_t bf, uint64_t br, uint64_t age) {
  return {{"proto", "udp"}, {"src", src}, {"dst", dst}, {"network", "web"}, {"state", "established"}, {"rule", "r1"},
          {"packets", {{"forward", pf}, {"reverse", pr}}}, {"bytes", {{"forward", bf}, {"reverse", br}}}, {"age_s", age}};
}

Sample sample(double t, double uptime, json ports, json pmds, json flows, uint64_t total_flows, uint64_t installed,
              uint64_t expired, uint64_t upcalls) {
  Sample s;
  s.t = s.t_pmd = s.t_policy = s.t_flows = t;
  s.ports = {{"ports", ports}};
  s.pmd = {{"pmds", pmds}};
  s.flows = {{"flows", flows}, {"total", total_flows}, {"shown", flows.size()}};
  s.policy = {{"flows", {{"entries", total_flows}, {"capacity", 1024}, {"installed", installed}, {"expired", expired}}},
              {"slow_path", {{"upcalls", upcalls}}}};
  s.stats = {{"uptime_s", uptime}};
  return s;
}

json pmd(uint64_t packets, uint64_t busy, uint64_t idle, double slept) {
  return {{"index", 0}, {"cpu", 3}, {"ports", {"vm1", "vm2"}}, {"packets", packets}, {"busy_cycles", busy},
          {"idle_cycles", idle}, {"sleep_seconds", slept}, {"tsc_hz", 1e9}};
}

TEST(Top, PortRatesAreTheGrowthOverTheInterval) {
  const auto a = sample(10, 100, {port("vm1", 1000, 100000, 50, 5000), port("vm2", 0, 0, 0, 0)}, {pmd(0, 0, 0, 0)}, {}, 0, 0, 0, 0);
  const auto b = sample(12, 102, {port("vm1", 3000, 300000, 250, 25000), port("vm2", 10, 640, 2000, 200000)},
                        {pmd(0, 0, 0, 0)}, {}, 0, 0, 0, 0);
  const Frame f = compute(a, b);
  ASSERT_EQ(f.ports.size(), 2u);
  EXPECT_DOUBLE_EQ(f.interval_s, 2);
  EXPECT_DOUBLE_EQ(f.ports[0].rx_pps, 1000);
  EXPECT_DOUBLE_EQ(f.ports[0].rx_bps, 800000);  // 100 kB/s in bits
  EXPECT_DOUBLE_EQ(f.ports[0].tx_pps, 100);
  EXPECT_DOUBLE_EQ(f.ports[1].tx_bps, 800000);
  EXPECT_DOUBLE_EQ(f.totals.rx_pps, 1005);
  EXPECT_EQ(f.ports[0].rx_packets, 3000u);
  EXPECT_FALSE(f.restarted);
}

TEST(Top, DropsByReasonWithTheDevicesOwn) {
  const auto a = sample(0, 5, {port("vm1", 0, 0, 0, 0, {{"l3.route.ttl_expired", 4}}, 1)}, {}, {}, 0, 0, 0, 0);
  const auto b = sample(1, 6, {port("vm1", 0, 0, 0, 0, {{"l3.route.ttl_expired", 9}, {"policy.denied", 3}}, 1)}, {}, {}, 0, 0, 0, 0);
  const Frame f = compute(a, b);
  ASSERT_EQ(f.drops.size(), 3u);
  std::map<std::string, DropRate> by;
  for (const auto& d : f.drops) by[d.reason] = d;
  EXPECT_DOUBLE_EQ(by["l3.route.ttl_expired"].per_s, 5);
  EXPECT_EQ(by["l3.route.ttl_expired"].total, 9u);
  EXPECT_DOUBLE_EQ(by["policy.denied"].per_s, 3);  // a reason that first appears counts from 0
  EXPECT_DOUBLE_EQ(by["device.rx_missed"].per_s, 0);
  EXPECT_EQ(by["device.rx_missed"].total, 1u);
  EXPECT_DOUBLE_EQ(f.totals.drop_pps, 8);
  EXPECT_DOUBLE_EQ(f.ports[0].drop_pps, 8);
}

TEST(Top, ADaemonRestartCountsFromZero) {
  const auto a = sample(0, 500, {port("vm1", 90000, 9000000, 0, 0)}, {pmd(90000, 100, 100, 1)}, {}, 5, 700, 600, 800);
  const auto b = sample(1, 0.5, {port("vm1", 40, 4000, 0, 0)}, {pmd(40, 10, 10, 0.1)}, {}, 2, 3, 1, 4);
  const Frame f = compute(a, b);
  EXPECT_TRUE(f.restarted);
  EXPECT_DOUBLE_EQ(f.ports[0].rx_pps, 40);  // not a huge wrapped number
  EXPECT_DOUBLE_EQ(f.totals.installed_ps, 3);
  EXPECT_DOUBLE_EQ(f.pmds[0].pps, 40);
  EXPECT_GE(f.pmds[0].sleep_pct, 0);
}

TEST(Top, ThreadLoadIsTheShareOfWallTime) {
  // 2 s at 1 GHz: 0.5 G busy cycles = 25 %, 1 G idle = 50 %, 0.5 s asleep = 25 %.
  const auto a = sample(0, 1, {}, {pmd(1000, 1000000, 2000000, 3.0)}, {}, 0, 0, 0, 0);
  const auto b = sample(2, 3, {}, {pmd(11000, 501000000, 1002000000, 3.5)}, {}, 0, 0, 0, 0);
  const Frame f = compute(a, b);
  ASSERT_EQ(f.pmds.size(), 1u);
  EXPECT_NEAR(f.pmds[0].busy_pct, 25, 1e-9);
  EXPECT_NEAR(f.pmds[0].idle_pct, 50, 1e-9);
  EXPECT_NEAR(f.pmds[0].sleep_pct, 25, 1e-9);
  EXPECT_DOUBLE_EQ(f.pmds[0].pps, 5000);
  EXPECT_DOUBLE_EQ(f.pmds[0].cycles_per_packet, 50000);
  EXPECT_EQ(f.pmds[0].ports, "vm1,vm2");
}

TEST(Top, FlowTableRatesInstalledExpiredUpcalls) {
  const auto a = sample(0, 1, {}, {}, {flow("10.0.1.11:5000", "10.0.1.12:5201", 100, 10, 100000, 1000, 3)}, 1, 10, 4, 12);
  const auto b = sample(2, 3,
                        {}, {},
                        {flow("10.0.1.11:5000", "10.0.1.12:5201", 300, 30, 300000, 3000, 5),
                         flow("10.0.1.11:5001", "10.0.1.12:5201", 8, 0, 800, 0, 1)},
                        2, 16, 5, 20);
  const Frame f = compute(a, b);
  ASSERT_EQ(f.flows.size(), 2u);
  EXPECT_DOUBLE_EQ(f.flows[0].pps, 110);              // (330 - 110) / 2
  EXPECT_DOUBLE_EQ(f.flows[0].bps, 8 * 101000.0);     // (303000 - 101000) / 2 bytes/s
  EXPECT_DOUBLE_EQ(f.flows[1].pps, 4);                // new: all its packets are the interval's
  EXPECT_DOUBLE_EQ(f.totals.installed_ps, 3);
  EXPECT_DOUBLE_EQ(f.totals.expired_ps, 0.5);
  EXPECT_DOUBLE_EQ(f.totals.upcalls_ps, 4);
  EXPECT_EQ(f.totals.flows, 2u);
}

TEST(Top, EachPartOfASampleUsesItsOwnTimes) {
  auto a = sample(0, 1, {port("vm1", 0, 0, 0, 0)}, {}, {flow("a:1", "b:2", 0, 0, 0, 0, 1)}, 1, 0, 0, 0);
  auto b = sample(1, 2, {port("vm1", 1000, 0, 0, 0)}, {}, {flow("a:1", "b:2", 1000, 0, 0, 0, 2)}, 1, 10, 0, 0);
  a.t_flows = 0.1, b.t_flows = 1.35;  // the flows were read later, and not 1 s apart
  a.t_policy = 0.05, b.t_policy = 0.55;
  const Frame f = compute(a, b);
  EXPECT_DOUBLE_EQ(f.ports[0].rx_pps, 1000);
  EXPECT_DOUBLE_EQ(f.flows[0].pps, 800);  // 1000 packets over 1.25 s
  EXPECT_DOUBLE_EQ(f.totals.installed_ps, 20);
}

TEST(Top, AFlowTheFirstPartialListingMissedIsAveragedOverItsLife) {
  auto a = sample(0, 1, {}, {}, {flow("a:1", "b:2", 1, 0, 100, 0, 60)}, 2, 0, 0, 0);  // 2 flows, 1 listed
  const auto b = sample(1, 2, {}, {}, {flow("c:1", "d:2", 1000, 0, 100000, 0, 100)}, 2, 0, 0, 0);
  const Frame f = compute(a, b);
  ASSERT_EQ(f.flows.size(), 1u);
  EXPECT_DOUBLE_EQ(f.flows[0].pps, 10);  // 1000 packets over its 100 s, not 1000/s
}

TEST(Top, SortingAndTheScreenText) {
  const auto a = sample(0, 3725, {port("vm1", 0, 0, 0, 0), port("vm2", 0, 0, 0, 0)}, {pmd(0, 0, 0, 0)}, {}, 0, 0, 0, 0);
  const auto b = sample(1, 3726, {port("vm1", 5000, 5000000, 10, 1000), port("vm2", 10, 1000, 5000, 5000000)}, {pmd(5010, 0, 0, 0)},
                        {}, 0, 0, 0, 0);
  const Frame f = compute(a, b);
  ViewState s;
  auto rows = table_lines(f, s);
  ASSERT_GE(rows.size(), 4u);
  EXPECT_NE(rows[0].find("PORTS   sort: rx pkt/s (high first)"), std::string::npos) << rows[0];
  EXPECT_EQ(rows[2].rfind("vm1", 0), 0u) << rows[2];  // the busiest receiver first
  EXPECT_NE(rows[2].find("5.00k"), std::string::npos) << rows[2];
  EXPECT_NE(rows[2].find("40.00M"), std::string::npos) << rows[2];  // 5 MB/s = 40 Mbit/s
  s.sort = 1;  // tx pkt/s
  rows = table_lines(f, s);
  EXPECT_EQ(rows[2].rfind("vm2", 0), 0u) << rows[2];
  s.reversed = true;
  rows = table_lines(f, s);
  EXPECT_NE(rows[0].find("(low first)"), std::string::npos);
  EXPECT_EQ(rows[2].rfind("vm1", 0), 0u) << rows[2];
  EXPECT_EQ(sort_key_names(View::kPorts).size(), 6u);

  const auto head = header_lines(f, s);
  EXPECT_NE(head[0].find("up 1h02m06s"), std::string::npos) << head[0];
  EXPECT_NE(head[0].find("rx 5.01k pkt/s"), std::string::npos) << head[0];
  EXPECT_NE(head[2].find("pmd0 cpu3"), std::string::npos) << head[2];

  s = ViewState{.view = View::kDrops};
  EXPECT_NE(table_lines(f, s).back().find("no drops"), std::string::npos);
}

TEST(Top, SiUnitsAndJson) {
  EXPECT_EQ(si(0), "0.0");
  EXPECT_EQ(si(999.4), "999.4");
  EXPECT_EQ(si(999.96), "1.00k");
  EXPECT_EQ(si(1234567), "1.23M");
  EXPECT_EQ(si(9.41e9), "9.41G");

  const auto a = sample(0, 1, {}, {}, {}, 0, 0, 0, 0);
  const auto b = sample(1, 2, {}, {},
                        {flow("a:1", "b:2", 1, 0, 100, 0, 0), flow("c:1", "d:2", 1, 0, 900, 0, 0), flow("e:1", "f:2", 1, 0, 500, 0, 0)},
                        3, 0, 0, 0);
  const json j = to_json(compute(a, b), 2);
  ASSERT_EQ(j["busiest_flows"].size(), 2u);
  EXPECT_EQ(j["busiest_flows"][0]["src"], "c:1");
  EXPECT_EQ(j["busiest_flows"][1]["src"], "e:1");
  EXPECT_DOUBLE_EQ(j["busiest_flows"][0]["bps"].get<double>(), 7200);
  EXPECT_EQ(j["flows"]["listed"], 3);
}

}  // namespace
}  // namespace ivs::cli::top
