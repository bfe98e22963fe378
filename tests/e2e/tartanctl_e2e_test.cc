// An operator's loop with the real binaries: tartand in a network namespace
// with kernel taps for both ports, driven only by tartanctl; the packets
// are the kernel's own and are captured on the underlay by tshark. The host
// routes are set by hand (host_routes: off), so what tartand drops after a
// node is deleted still reaches it.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/support/capture.h"
#include "tests/support/files.h"
#include "tests/support/netns.h"
#include "tests/support/node_manifest.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::CommandResult;
using testing::Process;
using testing::run_command;

// Whether a table line starts with these cells, in order, separated by blanks.
bool has_row(const std::string& table, const std::vector<std::string>& cells) {
  std::istringstream lines(table);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string w;
    size_t i = 0;
    while (i < cells.size() && words >> w && w == cells[i]) ++i;
    if (i == cells.size()) return true;
  }
  return false;
}

class TartanctlE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/tartan-ctl-e2e-" + std::to_string(getpid());
    run_command({"rm", "-rf", dir_});
    run_command({"mkdir", "-p", dir_});
    sock_ = dir_ + "/tartan.sock";
    testing::write_file(
        dir_ + "/tartan.yaml",
        "ports:\n"
        "  underlay: {device: 'net_af_packet0,iface=ul0', address: 192.0.2.19/24}\n"
        "  overlay: [{name: tartan0, device: 'net_tap1,iface=tartan0', host_routes: off}]\n"
        "workers: {lcores: [1]}\n"
        "network: {Network: 10.244.0.0/16, Backend: {Type: vxlan}}\n"
        "node: {name: node-1, state_dir: " +
            dir_ +
            "/state}\n"
            "control: {listen: 'unix://" +
            sock_ +
            "'}\n"
            "lease: {source: static, subnet: 10.244.1.0/24}\n"
            "subnet_file: " +
            dir_ + "/subnet.env\n");
    testing::write_file(dir_ + "/node2.yaml", testing::kFlannelNode2Yaml);
    // The underlay is a veth pair: tartand has ul0 (af_packet), the kernel
    // ul1, which stands in for node-2 on the same segment.
    ASSERT_EQ(
        sh("ip link add ul0 type veth peer name ul1 && ip link set ul0 up && ip link set ul1 up && "
           "ip addr add 192.0.2.20/24 dev ul1")
            .exit_code,
        0);
    daemon_ = std::make_unique<Process>(ns_.exec({testing::required_env("TARTAND"), "--config",
                                                  dir_ + "/tartan.yaml", "--stats-interval", "0"}));
    ASSERT_TRUE(testing::eventually([&] { return ctl({"health"}).exit_code == 0; }, 60s))
        << daemon_->output();
    // The overlay tap is where the host routes pod traffic, as to flannel.1.
    sh("ip link set tartan0 up && ip addr add 10.244.1.0/32 dev tartan0 && ip route add "
       "10.244.2.0/24 dev tartan0");
  }

  void TearDown() override {
    if (daemon_) {
      daemon_->signal(SIGTERM);
      EXPECT_EQ(daemon_->wait(30s), 0) << daemon_->output();
    }
    run_command({"rm", "-rf", dir_});
  }

  CommandResult ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {testing::required_env("TARTANCTL"), "--socket", sock_});
    return run_command(args);
  }
  CommandResult sh(const std::string& script) {
    return run_command(ns_.exec({"sh", "-c", script}));
  }

  // Starts tshark on ul1 for VXLAN, pings node-2's pod, returns the
  // decoded VXLAN frames tshark saw.
  std::string ping_and_capture() {
    testing::Capture capture(ns_, "ul1", "udp port 8472", 4, dir_ + "/ul1.pcap");
    // A few pings: the capture may start a moment after tshark says so.
    sh("ping -c 3 -i 0.3 -W 1 -I 10.244.1.0 10.244.2.5");
    const std::string decoded = capture.read(
        "-d udp.port==8472,vxlan -T fields -E separator=' ' -E aggregator=';' -e ip.src -e ip.dst "
        "-e vxlan.vni "
        "-e eth.dst -e icmp.type");
    last_capture_log_ = capture.log();
    return decoded;
  }

  testing::Netns ns_{"ctl"};
  std::string dir_, sock_;
  std::unique_ptr<Process> daemon_;
  std::string last_capture_log_;
};

TEST_F(TartanctlE2e, AppliedNodeIsReachedThroughVxlanAndDeletedNodeIsNot) {
  const CommandResult applied = ctl({"nodes", "apply", "-f", dir_ + "/node2.yaml"});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_NE(applied.output.find("node/node-2 applied (version 1, routed)"), std::string::npos)
      << applied.output;

  // The kernel pings a pod of node-2: it leaves the underlay in VXLAN to
  // node-2's public IP, for node-2's VtepMAC.
  const std::string seen = ping_and_capture();
  EXPECT_NE(seen.find("192.0.2.19;10.244.1.0 192.0.2.20;10.244.2.5 1 "), std::string::npos)
      << seen << last_capture_log_ << daemon_->output();
  EXPECT_NE(seen.find(";0e:00:00:00:00:02 8"), std::string::npos)
      << "inner destination: node-2's VtepMAC\n"
      << seen;
  const CommandResult routes = ctl({"routes"});
  EXPECT_NE(routes.output.find("10.244.2.0/24   vxlan   node-2"), std::string::npos)
      << routes.output;

  const CommandResult deleted = ctl({"nodes", "delete", "node-2"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_EQ(ping_and_capture(), "") << "nothing may leave for a deleted node";

  // Both show in the counters: the packet encapsulated while node-2 was
  // there, the one dropped for no route after.
  const CommandResult stats = ctl({"stats"});
  ASSERT_EQ(stats.exit_code, 0);
  EXPECT_TRUE(has_row(stats.output, {"no_route", "3"})) << stats.output;
  EXPECT_TRUE(has_row(stats.output, {"tartan0", "overlay"})) << stats.output;
  const CommandResult json = run_command(
      {"sh", "-c",
       testing::required_env("TARTANCTL") + " --socket " + sock_ +
           " -o json stats | /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin); "
           "print(sum(int(p[\"tx_packets\"]) for p in s[\"ports\"] if "
           "p[\"role\"]==\"underlay\"))'"});
  EXPECT_GE(std::stoi(json.output), 1) << "the VXLAN packet left the underlay";
}

// tartanctl capture on the same node: the kernel's pings leave the underlay
// as VXLAN (tx, filtered), and once node-2 is gone they are dropped on the
// overlay tap with the reason in their comment.
TEST_F(TartanctlE2e, CaptureShowsTheVxlanPacketsSentAndTheDropsWithTheirReason) {
  ASSERT_EQ(ctl({"nodes", "apply", "-f", dir_ + "/node2.yaml"}).exit_code, 0);
  const auto capture = [&](const std::string& args, const std::string& fields) {
    Process client({"sh", "-c",
                    testing::required_env("TARTANCTL") + " --socket " + sock_ + " capture " + args +
                        " --duration 20 -w " + dir_ + "/c.pcapng"});
    // The capture is attached once the header is written.
    testing::eventually([&] { return testing::read_file(dir_ + "/c.pcapng").size() > 0; }, 10s);
    sh("ping -c 3 -i 0.3 -W 1 -I 10.244.1.0 10.244.2.5");
    EXPECT_EQ(client.wait(30s), 0) << client.output();
    return run_command({"sh", "-c",
                        "tshark -r " + dir_ + "/c.pcapng -d udp.port==8472,vxlan -T fields " +
                            fields + " 2>/dev/null"})
        .output;
  };
  const std::string sent = capture("-i underlay --direction tx -f 'udp port 8472' -c 3",
                                   "-e frame.interface_name -e ip.dst -e vxlan.vni -e icmp.type");
  EXPECT_EQ(sent,
            "underlay\t192.0.2.20,10.244.2.5\t1\t8\n"
            "underlay\t192.0.2.20,10.244.2.5\t1\t8\n"
            "underlay\t192.0.2.20,10.244.2.5\t1\t8\n")
      << daemon_->output();

  ASSERT_EQ(ctl({"nodes", "delete", "node-2"}).exit_code, 0);
  const std::string dropped = capture("--direction drop -f icmp -c 2",
                                      "-e frame.interface_name -e frame.comment -e ip.dst");
  EXPECT_EQ(dropped,
            "tartan0\tdrop: no_route\t10.244.2.5\n"
            "tartan0\tdrop: no_route\t10.244.2.5\n");
}

TEST_F(TartanctlE2e, ErrorsComeBackWithTheServersMessageAndExitOne) {
  std::string bad = testing::kFlannelNode2Yaml;
  for (size_t at; (at = bad.find("10.244.2.0/24")) != std::string::npos;)
    bad.replace(at, 13, "10.244.1.0/24");
  testing::write_file(dir_ + "/bad.yaml", bad);
  const CommandResult r = ctl({"nodes", "apply", "-f", dir_ + "/bad.yaml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("tartanctl: node 'node-2': pod_cidrs: 10.244.1.0/24 overlaps our own "
                          "podCIDR 10.244.1.0/24"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(ctl({"nodes", "get", "node-2"}).exit_code, 1);
  const CommandResult lease = ctl({"lease"});
  EXPECT_NE(lease.output.find("flannel.alpha.coreos.com/public-ip: '192.0.2.19'"),
            std::string::npos)
      << lease.output;
  EXPECT_EQ(ctl({"nodes", "frob"}).exit_code, 2);
}

TEST_F(TartanctlE2e, PortsSayWhereFlowRulesRunAndPrintThemForTestpmd) {
  ASSERT_EQ(ctl({"nodes", "apply", "-f", dir_ + "/node2.yaml"}).exit_code, 0);
  const CommandResult ports = ctl({"ports"});
  ASSERT_EQ(ports.exit_code, 0) << ports.output;
  EXPECT_TRUE(has_row(ports.output, {"underlay", "underlay"})) << ports.output;
  EXPECT_NE(ports.output.find("net_af_packet"), std::string::npos) << ports.output;
  // af_packet has no rte_flow: every class runs in the workers, and says why.
  EXPECT_TRUE(
      has_row(ports.output, {"tunnel_steering", "ipv4", "software", "-", "rte_flow_validate:"}))
      << ports.output;
  EXPECT_TRUE(
      has_row(ports.output, {"hw_decap", "ipv4", "software", "-", "needs", "tunnel_steering"}))
      << ports.output;
  // The rules a dedicated NIC would get, node-2 admitted, as testpmd reads them.
  const CommandResult flows = ctl({"ports", "--flows"});
  ASSERT_EQ(flows.exit_code, 0) << flows.output;
  EXPECT_NE(flows.output.find("# sender_filter ipv4: software on this device\n"), std::string::npos)
      << flows.output;
  EXPECT_NE(flows.output.find(" priority 1 ingress pattern eth / ipv4 src is 192.0.2.20 dst is "
                              "192.0.2.19 / udp dst is 8472 / vxlan vni is 1 / end actions rss "
                              "queues 0 end level 2 types ipv4 ipv4-tcp ipv4-udp end / end\n"),
            std::string::npos)
      << flows.output;
  EXPECT_EQ(ctl({"ports", "--frob"}).exit_code, 2);
}

}  // namespace
}  // namespace tartan
