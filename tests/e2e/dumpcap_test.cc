// DPDK's own capture tool against a running tartand started with
// eal.secondary_processes: dpdk-dumpcap attaches as a secondary process and
// rte_pdump hands it copies of what a port receives; what EAL keeps for
// secondaries (runtime directory, hugepage files) is gone after tartand.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "tests/support/files.h"
#include "tests/support/null_node.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::Process;
using testing::run_command;

// Files EAL keeps for prefix `prefix`: its hugepage files and runtime directory.
size_t eal_files(const std::string& prefix) {
  size_t n = std::filesystem::exists("/var/run/dpdk/" + prefix) ? 1 : 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/dev/hugepages", ec))
    n += e.path().filename().string().rfind(prefix + "map_", 0) == 0;
  return n;
}

class DpdkDumpcap : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_null_node_config(dir_.path(), "hugepages: 'on', memory_mb: 256, file_prefix: " +
                                                     prefix_ + ", secondary_processes: true");
  }
  void TearDown() override {
    run_command(
        {"sh", "-c", "rm -rf /var/run/dpdk/" + prefix_ + " /dev/hugepages/" + prefix_ + "map_*"});
  }

  std::unique_ptr<Process> start() {
    auto daemon = std::make_unique<Process>(
        std::vector<std::string>{testing::required_env("TARTAND"), "--config",
                                 dir_.path() + "/tartan.yaml", "--stats-interval", "0"});
    EXPECT_TRUE(testing::eventually(
        [&] {
          return run_command({testing::required_env("TARTANCTL"), "--socket",
                              dir_.path() + "/tartan.sock", "health"})
                     .output.find("cannot reach") == std::string::npos;
        },
        60s))
        << daemon->output();
    return daemon;
  }

  const testing::ScopedTempDir dir_{"h15-dumpcap"};
  const std::string prefix_ = "h15-dumpcap-" + std::to_string(getpid());
};

TEST_F(DpdkDumpcap, CapturesWhatAPortReceivesAndTartandLeavesNothingBehind) {
  auto daemon = start();
  const std::string prefix_arg = "--file-prefix=" + prefix_;
  auto r = run_command({"dpdk-dumpcap", prefix_arg, "-D"}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.output << daemon->output();
  EXPECT_NE(r.output.find("0. net_null0\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1. net_null1\n"), std::string::npos) << r.output;

  const std::string file = dir_.path() + "/underlay.pcapng";
  r = run_command({"dpdk-dumpcap", prefix_arg, "-q", "-i", "net_null0", "-c", "10", "-w", file},
                  60s);
  ASSERT_EQ(r.exit_code, 0) << r.output << daemon->output();
  r = run_command({"sh", "-c",
                   "tshark -r " + file +
                       " -T fields -e frame.interface_name -e frame.len 2>&1 "
                       "| grep -v 'Running as user'"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream in(r.output);
  size_t packets = 0;
  for (std::string line; std::getline(in, line); ++packets)
    EXPECT_EQ(line, "dpdk:0\t64") << r.output;  // dumpcap names interfaces by port id
  EXPECT_GE(packets, 10u) << r.output;

  // The capture has ended; tartand goes on, and on SIGTERM takes what EAL
  // kept for secondaries with it.
  EXPECT_EQ(run_command({testing::required_env("TARTANCTL"), "--socket",
                         dir_.path() + "/tartan.sock", "stats"})
                .exit_code,
            0);
  EXPECT_GT(eal_files(prefix_), 0u);
  daemon->signal(SIGTERM);
  const auto code = daemon->wait(30s);
  ASSERT_TRUE(code.has_value()) << daemon->output();
  EXPECT_EQ(*code, 0) << daemon->output();
  EXPECT_EQ(eal_files(prefix_), 0u);
}

// Each capture's end removes rte_pdump's callbacks while the worker polls
// net_null, which never runs dry; dumpcap then frees what the callbacks
// copy into (engine/callback_barrier.h). Capture after capture, tartand
// stays up.
TEST_F(DpdkDumpcap, CaptureAfterCaptureEndsUnderTrafficAndTartandStaysUp) {
  auto daemon = start();
  const std::string prefix_arg = "--file-prefix=" + prefix_;
  const std::string file = dir_.path() + "/underlay.pcapng";
  for (int capture = 1; capture <= 5; ++capture) {
    SCOPED_TRACE("capture " + std::to_string(capture));
    const auto r = run_command(
        {"dpdk-dumpcap", prefix_arg, "-q", "-i", "net_null0", "-c", "1000", "-w", file}, 60s);
    ASSERT_EQ(r.exit_code, 0) << r.output << daemon->output();
    ASSERT_TRUE(daemon->running()) << daemon->output();
  }
  EXPECT_EQ(run_command({testing::required_env("TARTANCTL"), "--socket",
                         dir_.path() + "/tartan.sock", "stats"})
                .exit_code,
            0);
  daemon->signal(SIGTERM);
  const auto code = daemon->wait(30s);
  ASSERT_TRUE(code.has_value()) << daemon->output();
  EXPECT_EQ(*code, 0) << daemon->output();
}

TEST_F(DpdkDumpcap, TheNextStartRemovesWhatAKilledTartandKeptForSecondaries) {
  auto killed = start();
  killed->signal(SIGKILL);
  ASSERT_TRUE(killed->wait(30s).has_value());
  ASSERT_GT(eal_files(prefix_), 1u) << "the runtime directory and hugepage files stay";

  auto daemon = start();
  EXPECT_NE(daemon->output().find("hugepage files of " + prefix_ + " a dead tartand left"),
            std::string::npos)
      << daemon->output();
  daemon->signal(SIGTERM);
  ASSERT_TRUE(daemon->wait(30s).has_value());
  EXPECT_EQ(eal_files(prefix_), 0u);
}

TEST(DpdkDumpcapConfig, SecondaryProcessesWithoutHugepagesIsAConfigError) {
  const testing::ScopedTempDir dir("h15-dumpcap-cfg");
  testing::write_file(dir.path() + "/tartan.yaml",
                      "eal: {hugepages: auto, secondary_processes: true}\n"
                      "ports: {underlay: {device: net_null0, address: 192.0.2.10/24}}\n"
                      "network: {Network: 10.244.0.0/16}\n");
  const auto r = run_command({testing::required_env("TARTAND"), "--config",
                              dir.path() + "/tartan.yaml", "--print-config"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("eal.secondary_processes: secondary processes map the primary's "
                          "hugepages: needs eal.hugepages: on"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace tartan
