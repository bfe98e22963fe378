// Fault injection on a real tartand in a cluster of network namespaces:
// stopped while it forwards at full speed and its tables change, killed and
// restarted, its overlay tap deleted under it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "tests/e2e/cluster.h"
#include "tests/support/files.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::all_replied;
using testing::Cluster;
using testing::ClusterNode;
using testing::CommandResult;
using testing::ping;
using testing::Process;

// `count` (at most 156) vxlan nodes node-100.. with podCIDRs
// 10.244.100.0/24.. as one List manifest; `variant` moves their public
// IPs, so applying the two variants in turn replaces every route. Every
// node is valid: tartanctl applies a file all or nothing.
std::string many_nodes(int count, int variant) {
  nlohmann::json items = nlohmann::json::array();
  for (int k = 0; k < count; ++k) {
    const std::string cidr = "10.244." + std::to_string(100 + k) + ".0/24";
    // Each variant moves every node to another node's public IP.
    const std::string ip = "192.0.2." + std::to_string(100 + (k + variant) % count);
    char mac[18];
    std::snprintf(mac, sizeof mac, "0e:00:00:00:%02x:%02x", static_cast<unsigned char>(k >> 8),
                  static_cast<unsigned char>(k));
    items.push_back({{"apiVersion", "v1"},
                     {"kind", "Node"},
                     {"metadata",
                      {{"name", "node-" + std::to_string(100 + k)},
                       {"annotations",
                        {{"flannel.alpha.coreos.com/backend-data",
                          std::string(R"({"VNI":1,"VtepMAC":")") + mac + R"("})"},
                         {"flannel.alpha.coreos.com/backend-type", "vxlan"},
                         {"flannel.alpha.coreos.com/kube-subnet-manager", "true"},
                         {"flannel.alpha.coreos.com/public-ip", ip}}}}},
                     {"spec", {{"podCIDR", cidr}, {"podCIDRs", {cidr}}}},
                     {"status", {{"addresses", {{{"type", "InternalIP"}, {"address", ip}}}}}}});
  }
  return nlohmann::json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}}.dump();
}

// The DPDK file prefix tartand printed at start.
std::string file_prefix(const std::string& output) {
  std::smatch m;
  if (!std::regex_search(output, m, std::regex(R"(dpdk-telemetry\.py -f ([A-Za-z0-9_-]+))")))
    return "";
  return m[1];
}

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

// `ip route show proto 116` (tartan's host routes) in the node's namespace.
std::string host_routes(Cluster& c, ClusterNode& n) {
  return c.sh(*n.ns, "ip -4 route show proto 116").output;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A kernel-flannel node and a tartan node that reach each other.
class TartandFaults : public ::testing::Test {
 protected:
  TartandFaults() : c("tf"), kernel(c.add_kernel_node(1)), tartan(c.add_tartan_node(2)) {
    c.connect(kernel, tartan);
  }
  void SetUp() override { ASSERT_TRUE(all_replied(ping(c, tartan, kernel))); }

  Cluster c;
  ClusterNode& kernel;
  ClusterNode& tartan;
};

TEST_F(TartandFaults, SigtermDuringHeavyTrafficAndATableUpdateExitsZeroLeavingNothingBehind) {
  const std::string prefix = file_prefix(tartan.tartand->output());
  ASSERT_FALSE(prefix.empty()) << tartan.tartand->output();

  // Both directions at full speed ...
  Process server(kernel.pod->exec({"iperf3", "-s", "-1"}));
  std::this_thread::sleep_for(300ms);
  Process traffic(tartan.pod->exec(
      {"iperf3", "-c", kernel.pod_ip.str(), "-u", "-b", "0", "-l", "1400", "--bidir", "-t", "60"}));
  // ... while 200 routes are replaced again and again.
  testing::write_file(tartan.dir + "/a.json", many_nodes(150, 0));
  testing::write_file(tartan.dir + "/b.json", many_nodes(150, 1));
  const std::string apply = testing::required_env("TARTANCTL") + " --socket " + tartan.dir +
                            "/tartan.sock nodes apply -f " + tartan.dir;
  Process churn({"sh", "-c",
                 "while :; do " + apply + "/a.json >/dev/null 2>&1; " + apply +
                     "/b.json >/dev/null 2>&1; done"});
  ASSERT_TRUE(testing::eventually(
      [&] { return count_of(host_routes(c, tartan), "dev flannel.1") > 100; }, 30s))
      << "the churn did not get going";
  // Heavy traffic on every port before the signal; how soon it gets there
  // depends on how loaded the machine is, so the test waits for it.
  std::string last_stats;
  const bool heavy = testing::eventually(
      [&] {
        const CommandResult stats = c.tartanctl(tartan, {"-o", "json", "stats"});
        last_stats = stats.output;
        const auto parsed = nlohmann::json::parse(stats.output, nullptr, false);
        if (stats.exit_code != 0 || !parsed.is_object() || !parsed.contains("ports")) return false;
        for (const auto& p : parsed.at("ports")) {
          if (std::stoull(p.at("rx_packets").get<std::string>()) <= 10000u) return false;
        }
        return true;
      },
      30s);
  EXPECT_TRUE(heavy) << "not 10,000 packets received on every port within 30 s:\n" << last_stats;

  tartan.tartand->signal(SIGTERM);
  const auto code = tartan.tartand->wait(30s);
  ASSERT_TRUE(code.has_value()) << "tartand did not exit within 30 s of SIGTERM\n"
                                << tartan.tartand->output();
  EXPECT_EQ(*code, 0) << tartan.tartand->output();
  const std::string out = tartan.tartand->output();
  EXPECT_NE(out.find("tartand: stopped cleanly"), std::string::npos) << out;
  EXPECT_EQ(out.find("LeakSanitizer"), std::string::npos) << out;
  EXPECT_EQ(out.find("AddressSanitizer"), std::string::npos) << out;
  EXPECT_FALSE(exists("/var/run/dpdk/" + prefix)) << "DPDK runtime directory left behind";
  EXPECT_FALSE(exists(tartan.dir + "/tartan.sock")) << "API socket left behind";
  EXPECT_NE(c.sh(*tartan.ns, "ip link show flannel.1").exit_code, 0) << "tap left behind";
  EXPECT_EQ(host_routes(c, tartan), "") << "host routes left behind";
}

TEST_F(TartandFaults, AfterSigkillARestartKeepsVtepMacAndLeaseAndHostRoutesAreNotDuplicated) {
  const std::string vtep_mac = tartan.vtep_mac;
  const std::string subnet_env = testing::read_file(tartan.dir + "/subnet.env");
  const std::string routes = host_routes(c, tartan);
  ASSERT_EQ(count_of(routes, "10.244.1.0/24 via 10.244.1.0 dev flannel.1"), 1u) << routes;

  const std::string killed_prefix = file_prefix(tartan.tartand->output());
  ASSERT_FALSE(killed_prefix.empty()) << tartan.tartand->output();
  tartan.tartand->signal(SIGKILL);
  ASSERT_TRUE(tartan.tartand->wait(10s).has_value());
  // Only its telemetry socket outlives a killed process (nothing runs its
  // exit handlers): the test removes it.
  std::filesystem::remove_all("/var/run/dpdk/" + killed_prefix);
  // tartand's tap went with it, and its routes with the tap. Where the
  // interface outlives tartand (a persistent tap, as here), what it left
  // stays: a route of tartan's for a node that is gone meanwhile.
  ASSERT_EQ(c.sh(*tartan.ns,
                 "ip tuntap add dev flannel.1 mode tap multi_queue && ip link set flannel.1 up && "
                 "ip route add 10.244.99.0/24 via 10.244.99.0 dev flannel.1 onlink proto 116")
                .exit_code,
            0);
  c.start_tartand(tartan);
  EXPECT_EQ(host_routes(c, tartan), "") << "stale host routes were not removed at start";
  EXPECT_EQ(tartan.vtep_mac, vtep_mac) << "the kernel node's neighbour entry for us went stale";
  EXPECT_EQ(testing::read_file(tartan.dir + "/subnet.env"), subnet_env);
  // The restarted tartand learns the kernel node again (as a controller
  // re-applies every Node); the kernel node keeps what it had for us.
  c.learn(tartan, kernel);
  c.learn(tartan, kernel);  // twice: applying the same node is idempotent
  EXPECT_EQ(host_routes(c, tartan), routes);
  EXPECT_TRUE(all_replied(ping(c, tartan, kernel))) << tartan.tartand->output();
  EXPECT_TRUE(all_replied(ping(c, kernel, tartan))) << tartan.tartand->output();
  c.forget(tartan, kernel);
  EXPECT_EQ(host_routes(c, tartan), "") << "a deleted node's host route stayed";
}

TEST_F(TartandFaults, AnOverlayTapDeletedFromOutsideIsCreatedAgainWithItsAddressAndRoutes) {
  const std::string routes = host_routes(c, tartan);
  ASSERT_NE(routes, "");
  const auto address = [&] {
    return c.sh(*tartan.ns, "ip -4 -o addr show dev flannel.1 | awk '{print $4}'").output;
  };
  const std::string before = address();
  ASSERT_EQ(before, "10.244.2.0/32\n");

  ASSERT_EQ(c.sh(*tartan.ns, "ip link del flannel.1").exit_code, 0);
  EXPECT_TRUE(testing::eventually(
      [&] { return address() == before && host_routes(c, tartan) == routes; }, 10s, 100ms))
      << "address: " << address() << "routes: " << host_routes(c, tartan)
      << tartan.tartand->output();
  EXPECT_NE(tartan.tartand->output().find("was deleted from outside"), std::string::npos);
  EXPECT_TRUE(all_replied(ping(c, tartan, kernel))) << tartan.tartand->output();
  EXPECT_TRUE(all_replied(ping(c, kernel, tartan))) << tartan.tartand->output();
}

}  // namespace
}  // namespace tartan
