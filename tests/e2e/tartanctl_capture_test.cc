// tartanctl capture against the real tartand, read back by tshark: a node on
// net_null devices (support/null_node.h), so captures of rx and drops have
// packets to take.
#include <gtest/gtest.h>
#include <signal.h>

#include <sstream>

#include "tests/support/files.h"
#include "tests/support/null_node.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::CommandResult;
using testing::Process;
using testing::run_command;

class TartanctlCapture : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string d = dir_.path();
    testing::write_null_node_config(d, "hugepages: off, memory_mb: 256, file_prefix: h15obs-cap");
    daemon_ = std::make_unique<Process>(std::vector<std::string>{
        testing::required_env("TARTAND"), "--config", d + "/tartan.yaml", "--stats-interval", "0"});
    ASSERT_TRUE(testing::eventually(
        [&] { return ctl("health").output.find("cannot reach") == std::string::npos; }, 60s))
        << daemon_->output();
  }

  // tartanctl with `args`, its pcapng on stdout read by tshark, which prints
  // `fields` per packet.
  CommandResult capture_fields(const std::string& args, const std::string& fields) {
    return run_command({"bash", "-c",
                        "set -o pipefail; " + testing::required_env("TARTANCTL") + " --socket " +
                            dir_.path() + "/tartan.sock capture " + args +
                            " -w - 2>/dev/null | tshark -r - -T fields " + fields + " 2>&1"},
                       60s);
  }
  CommandResult ctl(const std::string& args) {
    return run_command({"sh", "-c",
                        testing::required_env("TARTANCTL") + " --socket " + dir_.path() +
                            "/tartan.sock " + args + " 2>&1"});
  }
  static std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
      if (l.find("Running as user") == std::string::npos) out.push_back(l);
    }
    return out;
  }

  const testing::ScopedTempDir dir_{"h15obs-cap"};
  std::unique_ptr<Process> daemon_;
};

TEST_F(TartanctlCapture, DropsCarryTheirReasonOnTheNamedInterface) {
  const auto r = capture_fields("-i underlay --direction drop -c 3",
                                "-e frame.interface_name -e frame.comment -e frame.len");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(lines(r.output), std::vector<std::string>(3, "underlay\tdrop: not_ipv4\t64"))
      << r.output;
}

TEST_F(TartanctlCapture, ReceivedPacketsAreInboundAndTheFilterSelects) {
  auto r = capture_fields("-i underlay --direction rx -c 2 -f 'ether[0] == 0'",
                          "-e frame.interface_name -e frame.packet_flags_direction");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(lines(r.output), std::vector<std::string>(2, "underlay\t0x00000001")) << r.output;
  // A filter nothing matches: the duration ends it with a valid empty file.
  r = capture_fields("-f 'udp port 8472' --duration 1", "-e frame.len");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(lines(r.output).empty()) << r.output;
}

TEST_F(TartanctlCapture, BadRequestsAreRefusedNamingWhatIsWrong) {
  auto r = ctl("capture -f 'udp prot 1' -w -");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("tartanctl: filter: "), std::string::npos) << r.output;
  r = ctl("capture --snaplen 10 -w -");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("snaplen: 10 is outside 64..16384"), std::string::npos) << r.output;
  r = ctl("capture -i eth9 -w -");
  EXPECT_NE(r.output.find("ports: no port named 'eth9'"), std::string::npos) << r.output;
  r = ctl("capture -c 2000000 -w -");
  EXPECT_NE(r.output.find("count: 2000000 is outside 1..1000000"), std::string::npos) << r.output;
}

TEST_F(TartanctlCapture, AClientThatGoesAwayEndsItsCaptureAndFreesTheWayForTheNext) {
  {
    Process gone({testing::required_env("TARTANCTL"), "--socket", dir_.path() + "/tartan.sock",
                  "capture", "--direction", "drop", "--rate", "1", "-w",
                  dir_.path() + "/gone.pcapng"});
    ASSERT_TRUE(testing::eventually(
        [&] { return testing::read_file(dir_.path() + "/gone.pcapng").size() > 0; }, 30s));
    gone.signal(SIGKILL);
  }
  CommandResult r;
  ASSERT_TRUE(testing::eventually(
      [&] {
        r = capture_fields("--direction drop -c 1", "-e frame.comment");
        return r.exit_code == 0;
      },
      30s, 200ms))
      << r.output;
  EXPECT_EQ(lines(r.output), std::vector<std::string>{"drop: not_ipv4"});
}

}  // namespace
}  // namespace tartan
