// The real tartand and tartanctl binaries, as an operator runs them.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/support/files.h"
#include "tests/support/netns.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::CommandResult;
using testing::Process;
using testing::run_command;

std::string temp_socket(const std::string& tag) {
  return "/tmp/tartan-" + tag + "-" + std::to_string(getpid()) + ".sock";
}

// Whether tartand on `sock` answers `tartanctl health` within a minute
// (EAL, ports and workers come up first).
bool answers_health(const std::string& ctl, const std::string& sock) {
  return testing::eventually(
      [&] {
        return run_command({ctl, "--socket", sock, "health"}).exit_code == 0;
      },
      60s);
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

TEST(TartandProcess, DefaultConfigBecomesReadyServesCountersAndExitsCleanlyOnSigterm) {
  testing::Netns ns("proc");  // the default config's tap lives in its own namespace
  const std::string sock = temp_socket("proc");
  const testing::ScopedTempDir scoped("proc");
  const std::string& dir = scoped.path();
  Process daemon(
      ns.exec({testing::required_env("TARTAND"), "--listen", "unix://" + sock, "--stats-interval",
               "1", "--subnet-file", dir + "/subnet.env", "--state-dir", dir + "/state"}));
  const std::string ctl = testing::required_env("TARTANCTL");
  ASSERT_TRUE(answers_health(ctl, sock)) << daemon.output();

  const CommandResult health = run_command({ctl, "--socket", sock, "health"});
  EXPECT_NE(health.output.find("ready"), std::string::npos) << health.output;
  EXPECT_NE(health.output.find("workers_running"), std::string::npos) << health.output;
  EXPECT_NE(health.output.find("static 10.244.1.0/24"), std::string::npos) << health.output;
  const CommandResult stats = run_command({ctl, "--socket", sock, "-o", "json", "stats"});
  EXPECT_EQ(stats.exit_code, 0) << stats.output;
  EXPECT_NE(stats.output.find("\"name\": \"tartan0\""), std::string::npos) << stats.output;
  EXPECT_NE(stats.output.find("\"name\": \"underlay\""), std::string::npos) << stats.output;
  const CommandResult config = run_command({ctl, "--socket", sock, "config"});
  EXPECT_NE(config.output.find("# source: <embedded configs/tartan.yaml>"), std::string::npos)
      << config.output;
  // DPDK's own telemetry client sees tartan's commands.
  const std::string banner = daemon.output();
  const auto at = banner.find("dpdk-telemetry.py -f ");
  ASSERT_NE(at, std::string::npos) << banner;
  const std::string prefix = banner.substr(at + 21, banner.find(')', at) - at - 21);
  const CommandResult tel =
      run_command({"sh", "-c", "echo /tartan/drops | dpdk-telemetry.py -f '" + prefix + "' 2>&1"});
  EXPECT_NE(tel.output.find("\"no_route\": "), std::string::npos) << tel.output;
  // tartanctl config names the prefix EAL runs with, not the config's "".
  EXPECT_NE(config.output.find("file_prefix: \"" + prefix + "\"\n"), std::string::npos)
      << config.output;
  struct stat st {};
  ASSERT_EQ(stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  // flannel's CNI plugin reads this, byte for byte as flanneld writes it.
  EXPECT_EQ(testing::read_file(dir + "/subnet.env"),
            "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/"
            "24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n");
  const std::string vtep_mac = testing::read_file(dir + "/state/vtep_mac");
  EXPECT_EQ(vtep_mac.size(), 18u) << vtep_mac;

  daemon.signal(SIGTERM);
  const auto code = daemon.wait(30s);
  ASSERT_TRUE(code.has_value()) << "tartand did not exit within 30 s of SIGTERM\n"
                                << daemon.output();
  EXPECT_EQ(*code, 0) << daemon.output();
  const std::string out = daemon.output();
  EXPECT_NE(out.find("tartand: ready."), std::string::npos) << out;
  EXPECT_NE(out.find("tartand: stats | underlay"), std::string::npos) << out;
  EXPECT_NE(out.find("tartand: stopped cleanly"), std::string::npos) << out;
  EXPECT_FALSE(file_exists(sock)) << "socket left behind";
}

// A node handed over from kube-flannel still has its flannel.<VNI> VXLAN
// device, under the name tartand's tap takes: tartand removes it (and only
// a VXLAN device) instead of failing to start.
TEST(TartandProcess, AVxlanDeviceLeftUnderTheTapsNameIsReplacedAndNothingElseIs) {
  testing::Netns ns("stale");
  const std::string sock = temp_socket("stale");
  const testing::ScopedTempDir scoped("stale");
  const std::vector<std::string> tartand{
      testing::required_env("TARTAND"), "--listen",    "unix://" + sock,        "--subnet-file",
      scoped.path() + "/subnet.env",    "--state-dir", scoped.path() + "/state"};
  const auto link_kind = [&] {
    return run_command(ns.exec({"ip", "-d", "-o", "link", "show", "tartan0"})).output;
  };

  // Something else of that name is not ours to remove: tartand says why it
  // cannot start.
  ASSERT_EQ(run_command(ns.exec({"ip", "link", "add", "tartan0", "type", "bridge"})).exit_code, 0);
  const CommandResult refused = run_command(ns.exec(tartand), 60s);
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(link_kind().find("bridge"), std::string::npos) << link_kind();
  ASSERT_EQ(run_command(ns.exec({"ip", "link", "del", "tartan0"})).exit_code, 0);

  ASSERT_EQ(run_command(ns.exec({"ip", "link", "add", "tartan0", "type", "vxlan", "id", "1",
                                 "dstport", "8472", "nolearning"}))
                .exit_code,
            0);
  Process daemon(ns.exec(tartand));
  const std::string ctl = testing::required_env("TARTANCTL");
  ASSERT_TRUE(answers_health(ctl, sock)) << daemon.output();
  EXPECT_NE(daemon.output().find("removed the VXLAN device tartan0 that kube-flannel left"),
            std::string::npos)
      << daemon.output();
  EXPECT_NE(link_kind().find(" tun "), std::string::npos) << link_kind();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(30s), 0) << daemon.output();
}

TEST(TartandProcess, BadConfigExitsTwoNamingTheKeyAndStartsNothing) {
  const std::string path = "/tmp/tartan-badconfig-" + std::to_string(getpid()) + ".yaml";
  const std::string sock = temp_socket("bad");
  {
    std::ofstream f(path);
    f << "ports:\n  underlay: {device: net_null0, address: 192.0.2.10/24}\n  overlay: [{device: "
         "net_null1}]\n"
         "network: {Network: 10.244.0.0/16, Backend: {Type: vxlan, VNI: 20000000}}\n"
         "lease: {subnet: 10.244.1.0/24}\ncontrol: {listen: 'unix://"
      << sock << "'}\n";
  }
  const CommandResult r = run_command({testing::required_env("TARTAND"), "--config", path});
  unlink(path.c_str());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(
      r.output.find(path + ":4:63: network.Backend.VNI: 20000000 is out of range 0..16777215"),
      std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("EAL"), std::string::npos) << "EAL started despite a bad config:\n"
                                                     << r.output;
  EXPECT_FALSE(file_exists(sock));
}

TEST(TartandProcess, PrintConfigShowsDefaultsAndExits) {
  const CommandResult r = run_command({testing::required_env("TARTAND"), "--print-config"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("SubnetLen: 24"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Port: 8472"), std::string::npos) << r.output;
}

TEST(TartandProcess, HelpListsOptionsAndBadOptionsExitTwo) {
  const CommandResult help = run_command({testing::required_env("TARTAND"), "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--config FILE"), std::string::npos) << help.output;
  EXPECT_EQ(run_command({testing::required_env("TARTAND"), "--log-level", "loud"}).exit_code, 2);
  EXPECT_EQ(run_command({testing::required_env("TARTAND"), "--no-such-flag"}).exit_code, 2);
}

TEST(Tartanctl, UnreachableDaemonIsReportedWithExitOne) {
  const CommandResult r = run_command({testing::required_env("TARTANCTL"), "--socket",
                                       "/nonexistent/tartan.sock", "--timeout", "1", "health"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("cannot reach tartand at /nonexistent/tartan.sock"), std::string::npos)
      << r.output;
}

TEST(Tartanctl, HelpAndUnknownCommands) {
  const CommandResult help = run_command({testing::required_env("TARTANCTL"), "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("health"), std::string::npos);
  EXPECT_EQ(run_command({testing::required_env("TARTANCTL"), "stats", "--help"}).exit_code, 0);
  const CommandResult bad = run_command({testing::required_env("TARTANCTL"), "frobnicate"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("unknown command 'frobnicate'"), std::string::npos);
}

}  // namespace
}  // namespace tartan
