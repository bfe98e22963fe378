// Tunnel probes against a kernel-flannel node: tartand's ICMP echo to the
// node's flannel.1 address goes through the tunnel and the node's host
// answers; once its VTEP stops answering, tartanctl and /metrics say so
// within the probe interval plus its timeout.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/e2e/cluster.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::Cluster;
using testing::ClusterNode;
using testing::eventually;

constexpr auto kInterval = 500ms;
constexpr auto kTimeout = 300ms;
constexpr const char* kMetrics = "127.0.0.1:9464";  // in the tartan node's namespace

nlohmann::json probe_of(Cluster& c, ClusterNode& tartan, const std::string& node) {
  const auto r = c.tartanctl(tartan, {"-o", "json", "nodes", "get", node});
  if (r.exit_code != 0) return {};
  const auto j = nlohmann::json::parse(r.output, nullptr, false);
  if (j.is_discarded() || !j.contains("status") || !j["status"].contains("probe")) return {};
  return j["status"]["probe"];
}

std::string state_of(Cluster& c, ClusterNode& tartan, const std::string& node) {
  const nlohmann::json p = probe_of(c, tartan, node);
  return p.is_object() ? p.value("state", "") : "";
}

std::string metrics(Cluster& c, ClusterNode& tartan) {
  return c.sh(*tartan.ns, std::string("curl -sf http://") + kMetrics + "/metrics").output;
}

TEST(TunnelProbes, AKernelNodeAnswersThroughTheTunnelAndIsReportedUnreachableOnceItsVtepIsDown) {
  Cluster c("tp");
  ClusterNode& kernel = c.add_kernel_node(1);
  ClusterNode& tartan =
      c.add_tartan_node(2, "vxlan", false, "vnet_tap",
                        ", probe: {interval_ms: " + std::to_string(kInterval.count()) +
                            ", timeout_ms: " + std::to_string(kTimeout.count()) +
                            "}, http: {listen: '" + kMetrics + "'}");
  c.connect(kernel, tartan);

  // Reachable, with a round trip, in the table and in JSON.
  ASSERT_TRUE(eventually([&] { return state_of(c, tartan, "node-1") == "REACHABLE"; }, 10s))
      << probe_of(c, tartan, "node-1").dump() << "\n"
      << tartan.tartand->output();
  const nlohmann::json up = probe_of(c, tartan, "node-1");
  EXPECT_EQ(up.value("target", ""), "10.244.1.0");
  const uint64_t rtt = std::stoull(up.value("last_rtt_ns", "0"));
  EXPECT_GT(rtt, 0u);
  EXPECT_LT(rtt, 1'000'000'000u) << "a round trip over veths within a second";
  EXPECT_EQ(up.value("lost", 0), 0);
  const std::string table = c.tartanctl(tartan, {"nodes", "list"}).output;
  EXPECT_TRUE(std::regex_search(table, std::regex(R"(node-1 .* reachable +[0-9.]+ms +0/[0-9]+ )")))
      << table;
  std::string m = metrics(c, tartan);
  EXPECT_NE(m.find("tartan_probe_nodes{state=\"reachable\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("tartan_peer_probe_reachable{node=\"node-1\",target=\"10.244.1.0\"} 1\n"),
            std::string::npos)
      << m;
  EXPECT_TRUE(std::regex_search(
      m,
      std::regex(R"(tartan_peer_probe_rtt_seconds\{node="node-1",target="10.244.1.0"\} 0\.\d+)")))
      << m;
  // Pods still reach each other: the probes took nothing from them.
  EXPECT_TRUE(testing::all_replied(testing::ping(c, tartan, kernel)));

  // The kernel node's VTEP goes: reported within the interval plus the
  // timeout (and a second for tartanctl and the scheduling of this host).
  c.sh(*kernel.ns, "ip link set flannel.1 down");
  const auto down_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return state_of(c, tartan, "node-1") == "UNREACHABLE"; }, 10s))
      << probe_of(c, tartan, "node-1").dump();
  const auto took = std::chrono::steady_clock::now() - down_at;
  EXPECT_LT(took, kInterval + kTimeout + 1s)
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  const nlohmann::json gone = probe_of(c, tartan, "node-1");
  EXPECT_GE(gone.value("lost", 0), 1);
  EXPECT_NE(gone.value("last_rtt_ns", "0"), "0") << "the last round trip is kept";
  const std::string down_table = c.tartanctl(tartan, {"nodes", "list"}).output;
  EXPECT_TRUE(std::regex_search(
      down_table, std::regex(R"(node-1 .* unreachable since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ )")))
      << down_table;
  m = metrics(c, tartan);
  EXPECT_NE(m.find("tartan_probe_nodes{state=\"unreachable\"} 1\n"), std::string::npos) << m;
  const auto lint = c.sh(
      *tartan.ns, std::string("curl -sf http://") + kMetrics + "/metrics | promtool check metrics");
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
  EXPECT_NE(m.find("tartan_peer_probe_reachable{node=\"node-1\",target=\"10.244.1.0\"} 0\n"),
            std::string::npos)
      << m;

  // Back up (the link's routes went with it; flanneld's replace puts them
  // back): reachable again.
  c.sh(*kernel.ns, "ip link set flannel.1 up && ip addr replace 10.244.1.0/32 dev flannel.1");
  c.learn(kernel, tartan);
  EXPECT_TRUE(eventually([&] { return state_of(c, tartan, "node-1") == "REACHABLE"; }, 10s))
      << probe_of(c, tartan, "node-1").dump();
}

}  // namespace
}  // namespace tartan
