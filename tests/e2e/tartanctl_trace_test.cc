// tartanctl trace against the real tartand while packets flow: a node on
// net_null devices (support/null_node.h), so every trace has packets and
// decisions to show, in the human form and as JSON.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
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

class TartanctlTrace : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string d = dir_.path();
    testing::write_null_node_config(d, "hugepages: off, memory_mb: 256, file_prefix: h15obs-trace");
    daemon_ = std::make_unique<Process>(std::vector<std::string>{
        testing::required_env("TARTAND"), "--config", d + "/tartan.yaml", "--stats-interval", "0"});
    ASSERT_TRUE(testing::eventually(
        [&] { return ctl("health").output.find("cannot reach") == std::string::npos; }, 60s))
        << daemon_->output();
  }

  std::string tartanctl() const {
    return testing::required_env("TARTANCTL") + " --socket " + dir_.path() + "/tartan.sock ";
  }
  // tartanctl `args`, stdout and stderr together.
  CommandResult ctl(const std::string& args) {
    return run_command({"sh", "-c", tartanctl() + args + " 2>&1"}, 60s);
  }
  // Only stdout.
  CommandResult ctl_stdout(const std::string& args) {
    return run_command({"sh", "-c", tartanctl() + args + " 2>/dev/null"}, 60s);
  }
  static std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
      if (l.find("Running as user") == std::string::npos) out.push_back(l);
    }
    return out;
  }
  static size_t count_of(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  const testing::ScopedTempDir dir_{"h15obs-trace"};
  std::unique_ptr<Process> daemon_;
};

TEST_F(TartanctlTrace, OneBlockPerPacketWithItsDecisionsAndVerdict) {
  const auto r = ctl("trace -p underlay -c 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(count_of(r.output, "\npacket ") + (r.output.starts_with("packet ") ? 1 : 0), 3u)
      << r.output;
  EXPECT_EQ(count_of(r.output, "rx underlay queue 0  64 bytes"), 3u) << r.output;
  EXPECT_EQ(count_of(r.output, "  ethertype 0x0000\n"), 3u) << r.output;
  EXPECT_EQ(count_of(r.output, "  classify    not_ipv4: neither IPv4 nor ARP\n"), 3u) << r.output;
  EXPECT_EQ(count_of(r.output, "  verdict     drop: not_ipv4\n"), 3u) << r.output;
  EXPECT_NE(r.output.find("3 packets traced"), std::string::npos) << r.output;
}

TEST_F(TartanctlTrace, JsonIsOneObjectPerPacket) {
  const auto r = ctl_stdout("-o json trace -c 4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::vector<std::string> objects = lines(r.output);
  ASSERT_EQ(objects.size(), 4u) << r.output;
  uint64_t index = 0;
  for (const std::string& line : objects) {
    const nlohmann::json p = nlohmann::json::parse(line);
    EXPECT_EQ(p["index"].get<std::string>(), std::to_string(++index)) << line;  // uint64: a string
    EXPECT_TRUE(p["rx_port"] == "underlay" || p["rx_port"] == "overlay0") << line;
    EXPECT_EQ(p["length"], 64) << line;
    ASSERT_EQ(p["decisions"].size(), 2u) << line;
    EXPECT_EQ(p["decisions"][0]["step"], "classify") << line;
    EXPECT_EQ(p["decisions"][0]["fields"]["class"], "not_ipv4") << line;
    EXPECT_EQ(p["decisions"][1]["step"], "drop") << line;
    EXPECT_EQ(p["decisions"][1]["fields"]["reason"], "not_ipv4") << line;
    EXPECT_EQ(p["verdict"], "drop: not_ipv4") << line;
    EXPECT_GT(std::stoull(p["timestamp_ns"].get<std::string>()), 1600000000000000000ull) << line;
  }
}

TEST_F(TartanctlTrace, TheFilterSelectsAndTheDurationEndsATraceThatFindsNothing) {
  auto r = ctl_stdout("-o json trace -p overlay0 -f 'ether[0] == 0' -c 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(lines(r.output).size(), 1u) << r.output;
  EXPECT_EQ(nlohmann::json::parse(lines(r.output)[0])["rx_port"], "overlay0");
  r = ctl("trace -f 'udp port 8472' --duration 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("0 packets traced"), std::string::npos) << r.output;
}

TEST_F(TartanctlTrace, BadRequestsAreRefusedNamingWhatIsWrong) {
  auto r = ctl("trace -f 'udp prot 1'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("tartanctl: filter: "), std::string::npos) << r.output;
  r = ctl("trace -c 2000");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("count: 2000 is outside 1..1000"), std::string::npos) << r.output;
  r = ctl("trace --duration 4000");
  EXPECT_NE(r.output.find("duration_s: 4000 is outside 1..3600"), std::string::npos) << r.output;
  r = ctl("trace -p eth9");
  EXPECT_NE(r.output.find("ports: no port named 'eth9'"), std::string::npos) << r.output;
}

TEST_F(TartanctlTrace, OneAtATimeAndAClientThatGoesAwayFreesTheWay) {
  {
    // Matches nothing: it runs until it is killed.
    Process first({testing::required_env("TARTANCTL"), "--socket", dir_.path() + "/tartan.sock",
                   "trace", "-f", "udp port 1", "--duration", "60"});
    CommandResult r;
    ASSERT_TRUE(testing::eventually(
        [&] {
          r = ctl("trace -c 1");
          return r.output.find("a trace is already running") != std::string::npos;
        },
        30s, 200ms))
        << r.output;
    EXPECT_EQ(r.exit_code, 1);
    first.signal(SIGKILL);
  }
  CommandResult r;
  ASSERT_TRUE(testing::eventually(
      [&] {
        r = ctl("trace -c 1");
        return r.exit_code == 0;
      },
      30s, 200ms))
      << r.output;
  EXPECT_NE(r.output.find("verdict     drop: not_ipv4"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tartan
