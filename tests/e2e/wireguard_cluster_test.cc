// tartand's wireguard backend against a node configured as flanneld
// configures flannel-wg (wireguard-go here: the kernel has no WireGuard
// module): the handshake is tartand's own (no keys given to it), pods
// reach each other both ways, and after a tartand restart (same key, kept
// in its state directory) a new handshake brings the path back.
#include <signal.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/e2e/cluster.h"
#include "tests/support/files.h"

namespace tartan::testing {
namespace {

using namespace std::chrono_literals;

// Pings until one is answered: the first packets wait for the handshake.
bool path_up(Cluster& c, ClusterNode& from, ClusterNode& to) {
  return eventually([&] { return all_replied(ping(c, from, to, "-c 1 -W 1")); }, 30s);
}

constexpr const char* kMetrics = "127.0.0.1:9464";  // in the tartan node's namespace

class TartanAndWireguardGo : public ::testing::Test {
 protected:
  void SetUp() override {
    go = &c.add_wireguard_go_node(1);
    tartan = &c.add_tartan_node(2, "wireguard", false, "vnet_tap",
                                std::string(", http: {listen: '") + kMetrics + "'}");
    c.connect(*go, *tartan);
  }
  Cluster c{"wg"};
  ClusterNode* go = nullptr;
  ClusterNode* tartan = nullptr;
};

TEST_F(TartanAndWireguardGo, PodsPingBothWaysAndATartandRestartHandshakesAgain) {
  ASSERT_TRUE(path_up(c, *tartan, *go)) << c.sh(*go->ns, "wg show").output;
  EXPECT_TRUE(all_replied(ping(c, *tartan, *go)));
  EXPECT_TRUE(all_replied(ping(c, *go, *tartan)));
  // `tartanctl nodes` shows the peer as `wg show` would: a handshake, and
  // the pings' transfer both ways.
  const CommandResult nodes = c.tartanctl(*tartan, {"-o", "json", "nodes", "get", go->name});
  ASSERT_EQ(nodes.exit_code, 0) << nodes.output;
  const auto peer = nlohmann::json::parse(nodes.output)["status"]["wireguard"];
  EXPECT_NE(peer.value("latest_handshake_ns", "0"), "0") << nodes.output;
  EXPECT_NE(peer.value("rx_bytes", "0"), "0") << nodes.output;
  EXPECT_NE(peer.value("tx_bytes", "0"), "0") << nodes.output;
  // The handshakes' counters on /metrics, which promtool accepts.
  const std::string metrics = std::string("curl -sf http://") + kMetrics + "/metrics";
  const std::string m = c.sh(*tartan->ns, metrics).output;
  EXPECT_NE(m.find("\ntartan_wg_handshakes_completed_total "), std::string::npos) << m;
  EXPECT_EQ(m.find("\ntartan_wg_handshakes_completed_total 0\n"), std::string::npos) << m;
  EXPECT_NE(m.find("\ntartan_wg_handshake_rejected_total{reason=\"bad_mac1\"} "),
            std::string::npos);
  const auto lint = c.sh(*tartan->ns, metrics + " | promtool check metrics");
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
  // flannel's MTU for the pods: the underlay's less WireGuard's 80.
  EXPECT_NE(read_file(tartan->dir + "/subnet.env").find("FLANNEL_MTU=1420"), std::string::npos);

  tartan->tartand->signal(SIGTERM);
  ASSERT_TRUE(tartan->tartand->wait(30s).has_value());
  c.start_tartand(*tartan);
  c.learn(*tartan, *go);
  // wireguard-go still holds the old session; tartand, with none, makes a
  // new one.
  ASSERT_TRUE(path_up(c, *go, *tartan)) << c.sh(*go->ns, "wg show").output;
  EXPECT_TRUE(all_replied(ping(c, *go, *tartan)));
  EXPECT_TRUE(all_replied(ping(c, *tartan, *go)));
}

TEST_F(TartanAndWireguardGo, TcpBulkBothWays) {
  ASSERT_TRUE(path_up(c, *tartan, *go));
  tcp_transfer(c, *tartan, *go, 20 << 20);
  tcp_transfer(c, *go, *tartan, 20 << 20);
}

}  // namespace
}  // namespace tartan::testing
