// tartan-nodeload against a whole tartand in this process: the nodes it
// applies become the routes tartan-perf's addressing scheme expects, churn
// moves them and back at the asked rate, and failures are reported.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_fixture.h"
#include "tests/support/process.h"

namespace tartan::testing {
namespace {

std::string nodeload_binary() {
  const char* p = std::getenv("TARTAN_NODELOAD");
  return p != nullptr ? p : "build/perf/tartan-nodeload";
}

// The perf suite's cluster: 10.0.0.0/7 in /24s, remote nodes behind the
// gateway at 172.16.0.2 + k.
DaemonOptions perf_cluster() {
  return {.network = "{Network: 10.0.0.0/7, SubnetLen: 24, Backend: {Type: vxlan}}",
          .dataplane =
              "{max_routes: 2048, static_neighbours: [{ip: 192.0.2.1, mac: "
              "'02:00:00:00:00:fe'}]}",
          .subnet = "10.0.1.0/24"};
}

class NodeLoad : public ::testing::Test {
 protected:
  CommandResult nodeload(std::vector<std::string> args) {
    args.insert(args.begin(),
                {nodeload_binary(), "-s", fx_.dir() + "/tartan.sock", "--pod-network", "10.0.0.0/7",
                 "--vtep-base", "172.16.0.2", "--json", fx_.dir() + "/result.json"});
    return run_command(args, std::chrono::seconds(60));
  }
  // A churn run that must succeed, and how long it took in seconds.
  double churn(std::vector<std::string> args) {
    const auto start = std::chrono::steady_clock::now();
    const CommandResult r = nodeload(std::move(args));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  nlohmann::json result() {
    std::ifstream in(fx_.dir() + "/result.json");
    return nlohmann::json::parse(in);
  }
  std::optional<RouteView> route(const std::string& prefix) {
    for (const RouteView& r : fx_.daemon().engine().routes())
      if (r.prefix.str() == prefix) return r;
    return std::nullopt;
  }

  DaemonFixture fx_{perf_cluster()};
};

TEST_F(NodeLoad, AppliedNodesBecomeTheSchemesRoutes) {
  const CommandResult r = nodeload({"--nodes", "1000", "--concurrency", "8"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(fx_.daemon().engine().routes().size(), 1001u) << "1000 remote + our own";
  // Node 999: /24 number 1001 = 0x3e9 is 10.3.233.0/24, at 172.16.3.233.
  const auto last = route("10.3.233.0/24");
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->public_ip.str(), "172.16.3.233");
  EXPECT_EQ(last->vtep_mac.str(), "0e:00:00:00:03:e9");
  const auto j = result();
  EXPECT_EQ(j["action"], "apply");
  EXPECT_EQ(j["applied"], 1000);
  EXPECT_EQ(j["failed"], 0);
  EXPECT_GT(j["rate_per_s"].get<double>(), 0);
}

// The suite's dual-stack cluster: fd00::/40 in /64s beside 10.0.0.0/7,
// remote nodes behind the gateways at 172.16.0.2 + k and 2001:db8:1::2 + k.
DaemonOptions perf_cluster_dual_stack() {
  return {.network =
              "{Network: 10.0.0.0/7, SubnetLen: 24, EnableIPv6: true, IPv6Network: "
              "fd00::/40, IPv6SubnetLen: 64, Backend: {Type: vxlan}}",
          .dataplane =
              "{max_routes: 2048, static_neighbours: [{ip: 192.0.2.1, mac: "
              "'02:00:00:00:00:fe'}], static_neighbours_v6: [{ip: '2001:db8::1', mac: "
              "'02:00:00:00:00:fe'}]}",
          .subnet = "10.0.1.0/24",
          .lease_yaml = ", subnet_v6: 'fd00:0:0:1::/64'",
          .underlay_yaml = ", ipv6_address: '2001:db8::13/64', ipv6_gateway: '2001:db8::1'"};
}

// --dual-stack nodes carry node k's IPv6 podCIDR, public IPv6 and
// flannel-v6 VtepMAC too (tartan-perf --family ipv6's scheme), and count as
// applied only when routed for both families.
TEST(NodeLoadDualStack, NodesAreRoutedForBothFamilies) {
  DaemonFixture fx(perf_cluster_dual_stack());
  const CommandResult r = run_command(
      {nodeload_binary(), "-s", fx.dir() + "/tartan.sock", "--pod-network", "10.0.0.0/7",
       "--vtep-base", "172.16.0.2", "--pod-network6", "fd00::/40", "--vtep-base6", "2001:db8:1::2",
       "--dual-stack", "--nodes", "300", "--batch", "100", "--concurrency", "2"},
      std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(fx.daemon().engine().routes().size(), 301u);
  const auto routes6 = fx.daemon().engine().routes6();
  EXPECT_EQ(routes6.size(), 301u) << "300 remote + our own";
  // Node 299: /64 number 301 = 0x12d of fd00::/40, at 2001:db8:1::2 + 299.
  bool found = false;
  for (const Route6View& v : routes6) {
    if (v.prefix.str() != "fd00:0:0:12d::/64") continue;
    found = true;
    EXPECT_EQ(v.public_ip.str(), "2001:db8:1::12d");
    EXPECT_EQ(v.vtep_mac.str(), "0e:06:00:00:01:2d");
  }
  EXPECT_TRUE(found);

  // A node whose IPv6 side tartand refuses is a failure, with tartand's reason.
  const CommandResult bad =
      run_command({nodeload_binary(), "-s", fx.dir() + "/tartan.sock", "--pod-network",
                   "10.0.0.0/7", "--vtep-base", "172.16.0.2", "--pod-network6", "2001:db9::/40",
                   "--dual-stack", "--first", "400", "--nodes", "1"},
                  std::chrono::seconds(60));
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("remote-400: pod_cidrs: 2001:db9:0:192::/64 is outside the cluster "
                            "IPv6 network fd00::/40"),
            std::string::npos)
      << bad.output;
}

TEST_F(NodeLoad, ChurnMovesNodesBetweenTwoPublicIpsAtTheRate) {
  ASSERT_EQ(nodeload({"--nodes", "10"}).exit_code, 0);
  // 1000 changes over 10 nodes: each moves 100 times, ending where it began
  // (one sender, so the last change to a node is the last applied).
  const double took =
      churn({"--nodes", "10", "--churn-rate", "2000", "--duration", "0.5", "--concurrency", "1"});
  const auto j = result();
  EXPECT_EQ(j["action"], "churn");
  EXPECT_EQ(j["applied"], 1000);
  EXPECT_GE(took, 0.45) << "paced, not as fast as possible";
  EXPECT_EQ(route("10.0.2.0/24")->public_ip.str(), "172.16.0.2");

  // An odd number of passes leaves them moved, one /8 further on.
  ASSERT_EQ(nodeload({"--nodes", "10", "--churn-rate", "100", "--duration", "0.1"}).exit_code, 0);
  EXPECT_EQ(route("10.0.2.0/24")->public_ip.str(), "173.16.0.2");
  EXPECT_EQ(route("10.0.11.0/24")->public_ip.str(), "173.16.0.11");
}

TEST_F(NodeLoad, BatchedChurnSendsBatchesOnTheRatesSchedule) {
  ASSERT_EQ(nodeload({"--nodes", "100", "--batch", "100"}).exit_code, 0);
  // 2000 changes over 100 nodes in ApplyNodes of 50, one every 25 ms: each
  // node moves 20 times, ending where it began. One sender, as above: with
  // several, two calls moving the same nodes can cross when one is slow to
  // answer, and the last applied need not be the last sent.
  const double took = churn({"--nodes", "100", "--churn-rate", "2000", "--duration", "1", "--batch",
                             "50", "--concurrency", "1"});
  const auto j = result();
  EXPECT_EQ(j["action"], "churn");
  EXPECT_EQ(j["batch"], 50);
  EXPECT_EQ(j["applied"], 2000);
  EXPECT_GE(took, 0.95) << "paced, not as fast as possible";
  EXPECT_EQ(route("10.0.2.0/24")->public_ip.str(), "172.16.0.2");
  // 150 changes in three batches, in order (one sender): nodes 0..49 on,
  // nodes 50..99 on, nodes 0..49 back.
  churn({"--nodes", "100", "--churn-rate", "1500", "--duration", "0.1", "--batch", "50",
         "--concurrency", "1"});
  EXPECT_EQ(route("10.0.2.0/24")->public_ip.str(), "172.16.0.2");
  EXPECT_EQ(route("10.0.52.0/24")->public_ip.str(), "173.16.0.52");
  EXPECT_EQ(route("10.0.101.0/24")->public_ip.str(), "173.16.0.101");
}

TEST_F(NodeLoad, RefusedOrUnroutedNodesCountAsFailures) {
  // Outside the cluster's Network: refused by the API.
  CommandResult r = run_command({nodeload_binary(), "-s", fx_.dir() + "/tartan.sock",
                                 "--pod-network", "192.168.0.0/16", "--nodes", "3"},
                                std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("outside the cluster network"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("3 failed"), std::string::npos) << r.output;
  // Another VNI: mirrored, but not a route of ours.
  r = nodeload({"--nodes", "2", "--vni", "7"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("not routed"), std::string::npos) << r.output;
  EXPECT_EQ(result()["failed"], 2);
}

TEST_F(NodeLoad, BadOptionsExitTwoNamingTheOption) {
  for (const auto& [args, option] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--nodes", "0"}, "--nodes"},
           {{"--backend", "gre"}, "--backend"},
           {{"--concurrency", "100"}, "--concurrency"},
           {{"--nodes", "10", "--churn-rate", "100", "--batch", "11"}, "--batch"},
           {{"--pod-network", "10.0.0.0"}, "--pod-network"},
           {{"--bogus"}, "--bogus"}}) {
    std::vector<std::string> argv{nodeload_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    const CommandResult r = run_command(argv, std::chrono::seconds(10));
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.output;
    EXPECT_NE(r.output.find(option), std::string::npos) << args[0] << ": " << r.output;
  }
  const CommandResult help = run_command({nodeload_binary(), "--help"}, std::chrono::seconds(10));
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--churn-rate"), std::string::npos);
}

}  // namespace
}  // namespace tartan::testing
