// tartand's wireguard backend against a node configured as flanneld
// configures flannel-wg (wireguard-go here: the kernel has no WireGuard
// module): the handshake is tartand's own (no keys given to it), pods
// reach each other both ways, and after a tartand restart (same key, kept
// in its state directory) a new handshake brings the path back.
#include <signal.h>

#include <gtest/gtest.h>

#include "tests/e2e/cluster.h"
#include "tests/support/files.h"

namespace tartan::testing {
namespace {

using namespace std::chrono_literals;

class TartanAndWireguardGo : public WireguardGoAndTartanCluster {
 protected:
  TartanAndWireguardGo() : WireguardGoAndTartanCluster("wg") {}
};

TEST_F(TartanAndWireguardGo, PodsPingBothWaysAndATartandRestartHandshakesAgain) {
  ASSERT_TRUE(path_up(c, *tartan, *go)) << c.sh(*go->ns, "wg show").output;
  EXPECT_TRUE(all_replied(ping(c, *tartan, *go)));
  EXPECT_TRUE(all_replied(ping(c, *go, *tartan)));
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
