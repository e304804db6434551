// What a careless operator or a local attacker hands the control plane: paths the switch
// (root) would write to, filters that would hold the control thread for minutes, request
// parameters of the wrong type or range, a reload after DPDK narrowed the CPU affinity,
// port types the daemon cannot run. Each is refused at once with what is wrong and where.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/loader.hpp"
#include "config/mirror_reader.hpp"
#include "config/paths.hpp"
#include "common/params.hpp"

using namespace ivs;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/ivs-hostile-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(HostilePaths, OutputFilesOnlyWhereTheSwitchMayWrite) {
  TempDir t;
  const std::string dir = t.path.string();
  EXPECT_FALSE(config::output_file_problem(dir + "/new.pcapng"));
  std::ofstream(dir + "/old.pcapng") << "x";
  EXPECT_FALSE(config::output_file_problem(dir + "/old.pcapng"));  // a regular file: rewritten

  auto has = [](const std::optional<std::string>& why, const std::string& part) {
    return why && why->find(part) != std::string::npos;
  };
  EXPECT_TRUE(has(config::output_file_problem("/proc/self/mem"), "under /proc"));
  EXPECT_TRUE(has(config::output_file_problem("/sys/kernel/x"), "under /sys"));
  EXPECT_TRUE(has(config::output_file_problem("/dev/sda"), "under /dev"));
  EXPECT_TRUE(has(config::output_file_problem(dir), "not a regular file"));
  EXPECT_TRUE(has(config::output_file_problem(dir + "/missing/x.pcapng"), "does not exist"));
  EXPECT_TRUE(has(config::output_file_problem("x.pcapng"), "not an absolute path"));
  EXPECT_TRUE(has(config::output_file_problem(""), "required"));

  // A symbolic link (to a file an attacker wants truncated): refused, and never followed.
  const std::string victim = dir + "/victim", link = dir + "/link.pcapng";
  std::ofstream(victim) << "precious";
  ASSERT_EQ(::symlink(victim.c_str(), link.c_str()), 0);
  EXPECT_TRUE(has(config::output_file_problem(link), "symbolic link"));
  EXPECT_LT(config::open_output_file(link), 0);
  EXPECT_EQ(slurp(victim), "precious");

  // A hard link: refused too (the other name keeps its content).
  const std::string hard = dir + "/hard.pcapng";
  ASSERT_EQ(::link(victim.c_str(), hard.c_str()), 0);
  EXPECT_TRUE(has(config::output_file_problem(hard), "hard links"));
  EXPECT_LT(config::open_output_file(hard), 0);
  EXPECT_EQ(slurp(victim), "precious");

  // A FIFO put where the file goes: refused, and opening it does not hang.
  const std::string fifo = dir + "/fifo.pcapng";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_TRUE(has(config::output_file_problem(fifo), "not a regular file"));
  EXPECT_LT(config::open_output_file(fifo), 0);

  // A regular file is opened and truncated.
  const int fd = config::open_output_file(dir + "/old.pcapng");
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_EQ(fs::file_size(dir + "/old.pcapng"), 0u);
}

TEST(HostilePaths, SocketsReplaceOnlySockets) {
  TempDir t;
  const std::string file = (t.path / "ctl.sock").string();
  EXPECT_FALSE(config::socket_path_problem(file));  // absent: fine
  std::ofstream(file) << "keep me";
  auto why = config::socket_path_problem(file);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("not a socket"), std::string::npos) << *why;
  EXPECT_TRUE(config::socket_path_problem("/tmp/" + std::string(120, 'x')));  // over sun_path

  const std::string sock = (t.path / "real.sock").string();
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ::close(fd);
  EXPECT_FALSE(config::socket_path_problem(sock));  // a stale socket may be replaced

  // The config check says so too, with the line.
  auto cfg = config::load_string("switch: {control_socket: " + file + "}\n", "s.yaml");
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error()[0].find("s.yaml:1: switch.control_socket: " + file + " exists and is not a socket"), std::string::npos)
      << cfg.error()[0];
}

TEST(HostileFilters, CostIsBoundedBeforeLibpcapSeesTheExpression) {
  std::string big;
  for (int i = 0; i < 400; ++i) big += (i ? " or host 10.0." : "host 10.0.") + std::to_string(i / 256) + "." + std::to_string(i % 256);
  const auto t0 = std::chrono::steady_clock::now();
  auto err = config::pcap_filter_error(big);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("bytes; at most 1024"), std::string::npos) << *err;
  EXPECT_LT(took, std::chrono::milliseconds(100));  // 400 terms took 22 s in libpcap

  std::string many;  // short, but many terms
  for (int i = 0; i < 80; ++i) many += i ? " or port " + std::to_string(i) : "port 0";
  ASSERT_LE(many.size(), config::kMaxFilterBytes);
  err = config::pcap_filter_error(many);
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("80 terms; at most 64"), std::string::npos) << *err;
  std::string nots;  // operators in all spellings count
  for (int i = 0; i < 70; ++i) nots += "!";
  EXPECT_TRUE(config::filter_cost_error(nots + "tcp"));
  EXPECT_FALSE(config::filter_cost_error("tcp and (port 80 || port 443) and not host 10.0.0.1"));
  EXPECT_FALSE(config::pcap_filter_error("tcp and (port 80 or port 443)"));
  EXPECT_FALSE(config::filter_cost_error("android or ornament"));  // words inside names are not operators
}

TEST(HostileParams, TypeAndRangeErrorsNameTheParameter) {
  using nlohmann::json;
  // Params returns its errors (ivs::Error) instead of throwing them: the same messages as
  // before, read from the Result (the code and path are checked in control_error_test.cpp).
  auto what = [](const auto& r) { return r ? std::string("(no error)") : r.error().message; };
  const json p = {{"limit", -3}, {"big", 1e30}, {"text", 7}, {"name", std::string(100, 'a')}};
  EXPECT_EQ(what(control::Params(p).integer("limit", 1, 1, 100)), "params.limit: expected an integer in 1..100, got -3");
  EXPECT_EQ(what(control::Params(p).integer("big", 1, 1, 100)), "params.big: expected an integer in 1..100, got 1e+30");
  EXPECT_EQ(what(control::Params(json{{"limit", 101}}).integer("limit", 1, 1, 100)),
            "params.limit: expected an integer in 1..100, got 101");
  EXPECT_EQ(what(control::Params(p).string("text", "", 10)), "params.text: expected a string, got 7");
  EXPECT_EQ(what(control::Params(p).string("name", "", 64)), "params.name: 100 bytes, at most 64 allowed");
  EXPECT_EQ(what(control::Params(p).string("missing", "", 64, true)), "params.missing: required (a string)");
  EXPECT_EQ(control::Params(json::object()).integer("limit", 1000, 1, 100000), 1000u);
}

TEST(HostileConfig, RingPortsAreRefusedForTheDaemonWithTheirLine) {
  const std::string text = "ports:\n  - {name: r, type: ring, network: web}\nnetworks:\n  - {name: web, vlan: 10}\n";
  EXPECT_TRUE(config::load_string(text, "rig.yaml"));  // the unit rigs run them
  auto cfg = config::load_string(text, "d.yaml", true);
  ASSERT_FALSE(cfg);
  ASSERT_EQ(cfg.error().size(), 1u);
  EXPECT_EQ(cfg.error()[0],
            "d.yaml:2: ports[0]: type 'ring' is for the unit tests' rigs and does not run in ivswitchd; use 'pcap' (replay/record "
            "frames) or 'discard' (a sink)");
}

// DPDK narrows the main thread to one CPU after the first check; a reload of the same file
// (switch.cores naming another CPU) must not be refused for it.
TEST(HostileConfig, ReloadIsCheckedAgainstTheCpusTheProcessStartedWith) {
  cpu_set_t before;
  CPU_ZERO(&before);
  ASSERT_EQ(sched_getaffinity(0, sizeof(before), &before), 0);
  int mine = -1, other = -1;
  for (int c = 0; c < CPU_SETSIZE && mine < 0; ++c)
    if (CPU_ISSET(c, &before)) mine = c;
  const std::string text = "switch: {cores: [" + std::to_string(mine) + "]}\n";
  ASSERT_TRUE(config::load_string(text, "cores.yaml"));
  for (int c = 0; c < 64 && other < 0; ++c) {
    if (c == mine) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(c, &one);
    if (sched_setaffinity(0, sizeof(one), &one) == 0) other = c;
  }
  if (other < 0) GTEST_SKIP() << "only one CPU available to this process";
  auto again = config::load_string(text, "cores.yaml");
  sched_setaffinity(0, sizeof(before), &before);
  EXPECT_TRUE(again) << (again ? "" : again.error()[0]);
}

// A pcap port's files are checked as the daemon will open them: rx_file readable, tx_file
// where a mirror's file may go (written as root: a symlink there would be followed).
TEST(HostileConfig, PcapPortFilesAreCheckedForTheDaemon) {
  TempDir t;
  const std::string dir = t.path.string();
  std::ofstream(dir + "/in.pcap") << "x";
  ASSERT_EQ(::symlink("/etc/hostname", (dir + "/link.pcap").c_str()), 0);
  auto text = [&](const std::string& rx, const std::string& tx) {
    return "ports:\n  - {name: p, type: pcap, network: web,\n     rx_file: " + rx + ",\n     tx_file: " + tx +
           "}\nnetworks:\n  - {name: web, vlan: 10}\n";
  };
  EXPECT_TRUE(config::load_string(text(dir + "/in.pcap", dir + "/out.pcap"), "p.yaml", true));
  auto cfg = config::load_string(text(dir + "/missing.pcap", dir + "/link.pcap"), "p.yaml", true);
  ASSERT_FALSE(cfg);
  ASSERT_EQ(cfg.error().size(), 2u);
  EXPECT_EQ(cfg.error()[0], "p.yaml:3: ports[0]: rx_file " + dir + "/missing.pcap is not a readable file");
  EXPECT_EQ(cfg.error()[1], "p.yaml:4: ports[0]: tx_file: " + dir + "/link.pcap is a symbolic link; the switch does not follow links");
  EXPECT_TRUE(config::load_string(text(dir + "/missing.pcap", dir + "/link.pcap"), "p.yaml"));  // the unit rigs open no files
}
