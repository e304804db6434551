// Test main: brings the DPDK EAL up once for the whole test binary (it can only be
// initialised once per process) in --no-huge mode with no shared files, so unit tests
// can use mbufs, rte_hash, rte_lpm and ring ports without hugepages or root-owned state.
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace {
class EalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const std::string prefix = "ivs_unit_" + std::to_string(getpid());
    std::vector<std::string> args = {"ivs_unit_tests", "--no-huge", "--no-shconf", "-m", "512", "--no-pci",
                                     "-l", "0", "--file-prefix", prefix, "--log-level", "lib.eal:error"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    ASSERT_GE(rte_eal_init(static_cast<int>(argv.size()), argv.data()), 0) << "EAL init failed";
  }
  void TearDown() override {
    const std::string dir = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);  // leave nothing in /var/run/dpdk
  }
};
}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new EalEnvironment);
  return RUN_ALL_TESTS();
}
