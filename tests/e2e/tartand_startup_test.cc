// tartand's start-up as an operator meets it: bad configs fail before
// anything on the host is touched, a killed tartand's leftovers are cleaned,
// and the log says what happened, one timestamped line each.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <regex>
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

bool exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

// A config whose ports need no kernel device but the overlay tap, in the
// test's namespace; every name tartand would create carries `tag`.
std::string config_text(const std::string& dir, const std::string& tag,
                        const std::string& extra = "") {
  return "eal: {file_prefix: " + tag +
         "}\n"
         "ports:\n"
         "  underlay: {device: 'net_null0,no-rx=1', address: 192.0.2.10/24}\n"
         "  overlay: [{name: tartan0, device: 'net_tap0,iface=" +
         tag +
         "', host_routes: off}]\n"
         "network: {Network: 10.244.0.0/16, Backend: {Type: vxlan}}\n"
         "node: {name: node-1, state_dir: " +
         dir + "/state}\n" + "control: {listen: 'unix://" + dir +
         "/tartan.sock'}\n"
         "lease: {source: static, subnet: 10.244.1.0/24}\n"
         "subnet_file: " +
         dir + "/subnet.env\n" + extra;
}

class TartandStartup : public ::testing::Test {
 protected:
  // Runs tartand on `config` (plus `args`) to completion in the namespace.
  CommandResult run_tartand(const std::string& config, std::vector<std::string> args = {}) {
    testing::write_file(dir_ + "/tartan.yaml", config);
    args.insert(args.begin(), {testing::required_env("TARTAND"), "-c", dir_ + "/tartan.yaml"});
    return run_command(ns_.exec(args), 60s);
  }

  // Nothing tartand creates exists: EAL runtime dir, tap, socket, subnet.env.
  void expect_nothing_created(const std::string& tag, const std::string& output) {
    EXPECT_FALSE(exists("/var/run/dpdk/" + tag)) << output;
    EXPECT_NE(run_command(ns_.exec({"ip", "link", "show", tag})).exit_code, 0) << output;
    EXPECT_FALSE(exists(dir_ + "/tartan.sock")) << output;
    EXPECT_FALSE(exists(dir_ + "/subnet.env")) << output;
  }

  testing::Netns ns_{"h18st"};
  testing::ScopedTempDir scoped_{"h18st"};
  const std::string& dir_ = scoped_.path();
};

TEST_F(TartandStartup, ALcoreOnACpuThatDoesNotExistFailsWithExitTwoNamingTheKey) {
  const CommandResult r = run_tartand(config_text(dir_, "h18st-cpu", "workers: {lcores: [127]}\n"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("workers.lcores[0]: CPU 127 does not exist"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("EAL"), std::string::npos) << r.output;
  expect_nothing_created("h18st-cpu", r.output);
}

TEST_F(TartandStartup, TcpListenWithoutTlsFromTheCommandLineFailsWithExitTwo) {
  const CommandResult r =
      run_tartand(config_text(dir_, "h18st-tcp"), {"--listen", "127.0.0.1:7443"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("control.listen: TCP listen address '127.0.0.1:7443' needs "
                          "control.tls.cert and control.tls.key"),
            std::string::npos)
      << r.output;
  expect_nothing_created("h18st-tcp", r.output);
  // --print-config checks as much.
  EXPECT_EQ(
      run_tartand(config_text(dir_, "h18st-tcp"), {"--listen", "127.0.0.1:7443", "--print-config"})
          .exit_code,
      2);
}

TEST_F(TartandStartup, HugepagesOnWithMoreMemoryThanFreeHugepagesFailsWithExitTwo) {
  const std::string config = config_text(dir_, "h18st-huge");
  const std::string on =
      std::regex_replace(config, std::regex("eal: \\{file_prefix: h18st-huge\\}"),
                         "eal: {file_prefix: h18st-huge, hugepages: 'on', memory_mb: 1048576}");
  const CommandResult refused = run_tartand(on);
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("eal.hugepages is on but eal.memory_mb 1048576 exceeds the"),
            std::string::npos)
      << refused.output;
  expect_nothing_created("h18st-huge", refused.output);
}

TEST_F(TartandStartup, ASecondTartandOnAServedSocketFailsWithExitTwoBeforeEal) {
  // Whoever answers on the socket: tartand must not take it over.
  const int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sock = dir_ + "/tartan.sock";
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock.c_str());
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  const CommandResult r = run_tartand(config_text(dir_, "h18st-two"));
  close(listener);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(
      r.output.find("control.listen: another process (a running tartand?) serves unix://" + sock),
      std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("EAL"), std::string::npos) << r.output;
  EXPECT_FALSE(exists("/var/run/dpdk/h18st-two")) << r.output;
  EXPECT_NE(run_command(ns_.exec({"ip", "link", "show", "h18st-two"})).exit_code, 0);
  unlink(sock.c_str());
}

// Every line of `output` is "TIME LEVEL COMPONENT: MESSAGE", TIME in RFC 3339.
void expect_timestamped(const std::string& output) {
  static const std::regex line(
      R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (emerg|alert|crit|err|warning|notice|info|debug) [a-z]+: .*)");
  std::istringstream lines(output);
  std::string l;
  size_t n = 0;
  while (std::getline(lines, l)) {
    EXPECT_TRUE(std::regex_match(l, line)) << "not a timestamped log line: " << l;
    ++n;
  }
  EXPECT_GT(n, 5u);
}

TEST_F(TartandStartup, ASigkilledTartandsSocketAndRuntimeDirAreRemovedByTheNextStart) {
  testing::write_file(dir_ + "/tartan.yaml", config_text(dir_, "h18st-kill"));
  const std::vector<std::string> argv{testing::required_env("TARTAND"), "-c", dir_ + "/tartan.yaml",
                                      "--stats-interval", "0"};
  const std::string ctl = testing::required_env("TARTANCTL");
  const std::string sock = dir_ + "/tartan.sock";
  const auto healthy = [&] {
    return testing::eventually(
        [&] {
          return run_command({ctl, "--socket", sock, "health"}).exit_code == 0;
        },
        60s);
  };
  {
    Process first(ns_.exec(argv));
    ASSERT_TRUE(healthy()) << first.output();
    first.signal(SIGKILL);
    ASSERT_TRUE(first.wait(30s).has_value());
  }
  ASSERT_TRUE(exists(sock)) << "SIGKILL left no socket: nothing to test";
  ASSERT_TRUE(exists("/var/run/dpdk/h18st-kill")) << "SIGKILL left no runtime dir";

  Process second(ns_.exec(argv));
  ASSERT_TRUE(healthy()) << second.output();
  second.signal(SIGTERM);
  ASSERT_EQ(second.wait(30s), 0) << second.output();
  const std::string out = second.output();
  EXPECT_NE(out.find("notice tartand: removed the API socket " + sock +
                     " a dead tartand left (nothing answers on it)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("notice tartand: removed the DPDK runtime directory /var/run/dpdk/h18st-kill "
                     "a dead tartand left"),
            std::string::npos)
      << out;
  EXPECT_FALSE(exists("/var/run/dpdk/h18st-kill")) << out;
  EXPECT_FALSE(exists(sock)) << out;
  // --stats-interval 0: no summary promised, none printed.
  EXPECT_EQ(out.find("every 0 s"), std::string::npos) << out;
  EXPECT_EQ(out.find("tartand: stats |", 0), out.rfind("tartand: stats |")) << out;
  expect_timestamped(out);
}

TEST_F(TartandStartup, NodeChangesAreLoggedOneTimestampedLineEachAndJsonLogsAreOneObjectALine) {
  testing::write_file(dir_ + "/tartan.yaml", config_text(dir_, "h18st-log"));
  // node-2 as flanneld annotates it, in flow style.
  testing::write_file(
      dir_ + "/node2.yaml",
      "{apiVersion: v1, kind: Node, metadata: {name: node-2, annotations: {"
      "flannel.alpha.coreos.com/backend-data: '{\"VNI\":1,\"VtepMAC\":\"0e:00:00:00:00:02\"}', "
      "flannel.alpha.coreos.com/backend-type: vxlan, "
      "flannel.alpha.coreos.com/kube-subnet-manager: 'true', "
      "flannel.alpha.coreos.com/public-ip: 192.0.2.20}}, spec: {podCIDR: 10.244.2.0/24}}\n");
  testing::write_file(dir_ + "/self.yaml",
                      "{apiVersion: v1, kind: Node, metadata: {name: node-1}, spec: {podCIDR: "
                      "10.244.9.0/24}}\n");
  const std::string ctl = testing::required_env("TARTANCTL");
  const std::string sock = dir_ + "/tartan.sock";
  const auto run_ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {ctl, "--socket", sock});
    return run_command(args);
  };
  for (const std::string format : {"text", "json"}) {
    Process daemon(ns_.exec(
        {testing::required_env("TARTAND"), "-c", dir_ + "/tartan.yaml", "--log-format", format}));
    ASSERT_TRUE(testing::eventually([&] { return run_ctl({"health"}).exit_code == 0; }, 60s))
        << daemon.output();
    ASSERT_EQ(run_ctl({"nodes", "apply", "-f", dir_ + "/node2.yaml"}).exit_code, 0);
    ASSERT_EQ(run_ctl({"nodes", "delete", "node-2"}).exit_code, 0);
    // A node under our own name with another podCIDR is refused, and said so.
    const CommandResult self = run_ctl({"nodes", "apply", "-f", dir_ + "/self.yaml"});
    EXPECT_NE(self.exit_code, 0) << self.output;
    EXPECT_NE(self.output.find("10.244.9.0/24 differs from our own lease 10.244.1.0/24"),
              std::string::npos)
        << self.output;
    daemon.signal(SIGTERM);
    ASSERT_EQ(daemon.wait(30s), 0) << daemon.output();
    const std::string out = daemon.output();
    if (format == "text") {
      expect_timestamped(out);
      for (const std::string want :
           {" info control: lease set: this node (node-1) has podCIDR 10.244.1.0/24 (from static)",
            " info control: node node-2 added (applied through the API): podCIDR 10.244.2.0/24, "
            "routed via 192.0.2.20",
            " info control: node node-2 deleted (deleted through the API): podCIDR "
            "10.244.2.0/24, route removed",
            " warning control: node node-1 refused (applied through the API): podCIDR "
            "10.244.9.0/24 differs from our own lease 10.244.1.0/24"}) {
        EXPECT_NE(out.find(want), std::string::npos) << want << "\n" << out;
      }
    } else {
      std::istringstream lines(out);
      std::string l;
      static const std::regex object(
          R"(^\{"time":"[0-9T:.Z-]+","level":"[a-z]+","component":"[a-z]+","msg":".*"\}$)");
      while (std::getline(lines, l))
        EXPECT_TRUE(std::regex_match(l, object)) << "not a JSON log line: " << l;
      EXPECT_NE(out.find(R"("level":"info","component":"control","msg":"node node-2 deleted)"),
                std::string::npos)
          << out;
    }
  }
}

}  // namespace
}  // namespace tartan
