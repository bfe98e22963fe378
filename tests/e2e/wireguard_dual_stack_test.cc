// tartand's wireguard backend in a dual-stack cluster, against a node set
// up as flanneld sets one up in its default Mode, "separate": flannel-wg
// (IPv4 pods over the IPv4 underlay, ListenPort 51820) and flannel-wg-v6
// (IPv6 pods over the IPv6 underlay, ListenPortV6 51821), one key for
// both, each device with a session of its own (wireguard-go here, one
// process per device: the kernel has no WireGuard module).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "tests/e2e/cluster.h"

namespace tartan::testing {
namespace {

// A peer line of `wg show <device> dump`: its endpoint, when it last
// completed a handshake (Unix seconds) and its transfer.
struct DumpedPeer {
  std::string endpoint;
  uint64_t latest_handshake = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
};

// The one peer of `device` (the dump's first line is the device's own).
std::optional<DumpedPeer> dumped_peer(Cluster& c, ClusterNode& go, const std::string& device) {
  std::istringstream lines(c.sh(*go.ns, "wg show " + device + " dump").output);
  std::string line;
  std::getline(lines, line);
  if (!std::getline(lines, line)) return std::nullopt;
  // public-key, preshared-key, endpoint, allowed-ips, latest-handshake,
  // transfer-rx, transfer-tx, persistent-keepalive: tab separated.
  std::vector<std::string> f;
  std::istringstream fields(line);
  for (std::string s; std::getline(fields, s, '\t');) f.push_back(s);
  if (f.size() < 8) return std::nullopt;
  return DumpedPeer{f[2], std::stoull(f[4]), std::stoull(f[5]), std::stoull(f[6])};
}

class TartanAndWireguardGoDualStack : public WireguardGoAndTartanCluster {
 protected:
  TartanAndWireguardGoDualStack()
      : WireguardGoAndTartanCluster("wd", "", "", 51820, Stack::kDual) {}
};

TEST_F(TartanAndWireguardGoDualStack, EachFamilysPodsTalkBothWaysOverItsOwnDevicesSession) {
  ASSERT_TRUE(path_up(c, *tartan, *go)) << c.sh(*go->ns, "wg show").output;
  ASSERT_TRUE(path_up6(c, *tartan, *go)) << c.sh(*go->ns, "wg show").output;
  EXPECT_TRUE(all_replied(ping(c, *go, *tartan)));
  EXPECT_TRUE(all_replied(ping6(c, *go, *tartan)));
  EXPECT_TRUE(all_replied(ping6(c, *tartan, *go)));
  // Each device completed a handshake with tartand, and wireguard-go took
  // each device's peer at the address and port of that device's family:
  // tartand sends IPv6 from its public IPv6 and ListenPortV6.
  const auto v4 = dumped_peer(c, *go, go->wg_device);
  const auto v6 = dumped_peer(c, *go, go->wg_device_v6);
  ASSERT_TRUE(v4 && v6) << c.sh(*go->ns, "wg show").output;
  EXPECT_EQ(v4->endpoint, tartan->public_ip.str() + ":51820");
  EXPECT_EQ(v6->endpoint, "[" + tartan->public_ipv6->str() + "]:51821");
  EXPECT_NE(v4->latest_handshake, 0u);
  EXPECT_NE(v6->latest_handshake, 0u);
  EXPECT_NE(v6->rx_bytes, 0u);
  EXPECT_NE(v6->tx_bytes, 0u);
  // TCP over IPv6, both ways, through the IPv6 sessions.
  tcp_transfer(c, *go, *tartan, 8 << 20, true);
  tcp_transfer(c, *tartan, *go, 8 << 20, true);
  // `tartanctl nodes` shows both of the node's peers.
  const CommandResult nodes = c.tartanctl(*tartan, {"-o", "json", "nodes", "get", go->name});
  ASSERT_EQ(nodes.exit_code, 0) << nodes.output;
  const auto status = nlohmann::json::parse(nodes.output)["status"];
  EXPECT_NE(status["wireguard"].value("latest_handshake_ns", "0"), "0") << nodes.output;
  EXPECT_NE(status["wireguard_v6"].value("latest_handshake_ns", "0"), "0") << nodes.output;
  EXPECT_EQ(status["wireguard_v6"].value("endpoint", ""), "[" + go->public_ipv6->str() + "]:51821")
      << nodes.output;
  // Nothing failed to authenticate or came from outside its peer's podCIDR.
  for (const char* reason : {"wg_bad_mac", "wg_not_allowed_ip", "wg_unknown_index"})
    EXPECT_EQ(drop_count(c, *tartan, reason), 0u) << reason;
}

}  // namespace
}  // namespace tartan::testing
