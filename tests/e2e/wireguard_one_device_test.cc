// tartand's wireguard backend in flannel's one-device modes, against a
// node set up as flanneld sets one up in them: flannel-wg alone (wireguard-go
// here), ListenPort 51820 for both families, both podCIDRs and both network
// routes on it, and each peer one peer allowed both podCIDRs at the endpoint
// of the mode's family. One session carries both families' pods.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/e2e/cluster.h"

namespace tartan::testing {
namespace {

// The endpoint wireguard-go took for its one peer (tartand), from
// `wg show <device> endpoints`.
std::string endpoint_of_peer(Cluster& c, ClusterNode& go) {
  const std::string out = c.sh(*go.ns, "wg show " + go.wg_device + " endpoints").output;
  const size_t tab = out.find('\t');
  if (tab == std::string::npos) return "";
  return out.substr(tab + 1, out.find('\n') - tab - 1);
}

class TartanAndWireguardGoOneDevice : public WireguardGoAndTartanCluster {
 protected:
  TartanAndWireguardGoOneDevice(const std::string& tag, const std::string& mode,
                                uint16_t listen_port_v6)
      : WireguardGoAndTartanCluster(tag, "", "", 51820, Stack::kDual) {
    wireguard_mode_ = mode;
    listen_port_v6_ = listen_port_v6;
  }

  // Both families' pods talk both ways through the one session, which
  // wireguard-go holds with tartand at `tartan_endpoint`.
  void both_families_over_one_session(const std::string& tartan_endpoint) {
    ASSERT_TRUE(path_up(c, *tartan, *go)) << c.sh(*go->ns, "wg show").output;
    ASSERT_TRUE(path_up6(c, *tartan, *go)) << c.sh(*go->ns, "wg show").output;
    EXPECT_TRUE(all_replied(ping(c, *go, *tartan)));
    EXPECT_TRUE(all_replied(ping6(c, *go, *tartan)));
    EXPECT_TRUE(all_replied(ping6(c, *tartan, *go)));
    EXPECT_EQ(endpoint_of_peer(c, *go), tartan_endpoint);
    tcp_transfer(c, *go, *tartan, 4 << 20, true);
    tcp_transfer(c, *tartan, *go, 4 << 20, true);
    tcp_transfer(c, *go, *tartan, 4 << 20, false);
    // tartanctl shows the node's one peer, on flannel-wg, no IPv6 device's.
    const CommandResult nodes = c.tartanctl(*tartan, {"-o", "json", "nodes", "get", go->name});
    ASSERT_EQ(nodes.exit_code, 0) << nodes.output;
    const auto status = nlohmann::json::parse(nodes.output)["status"];
    EXPECT_NE(status["wireguard"].value("latest_handshake_ns", "0"), "0") << nodes.output;
    EXPECT_FALSE(status.contains("wireguard_v6")) << nodes.output;
    EXPECT_TRUE(status.value("routed", false) && status.value("routed_v6", false)) << nodes.output;
    for (const char* reason : {"wg_bad_mac", "wg_not_allowed_ip", "wg_unknown_index"})
      EXPECT_EQ(drop_count(c, *tartan, reason), 0u) << reason;
  }
};

class TartanAndWireguardGoModeIpv4 : public TartanAndWireguardGoOneDevice {
 protected:
  TartanAndWireguardGoModeIpv4() : TartanAndWireguardGoOneDevice("w4", "ipv4", 51821) {}
};

TEST_F(TartanAndWireguardGoModeIpv4, BothFamiliesPodsTalkOverOneSessionOnTheIpv4Underlay) {
  both_families_over_one_session(tartan->public_ip.str() + ":51820");
}

// Mode ipv6: flanneld announces ListenPortV6 in backend-v6-data and sends
// to it, while flannel-wg listens on ListenPort: the two are set equal.
class TartanAndWireguardGoModeIpv6 : public TartanAndWireguardGoOneDevice {
 protected:
  TartanAndWireguardGoModeIpv6() : TartanAndWireguardGoOneDevice("w6", "ipv6", 51820) {}
};

TEST_F(TartanAndWireguardGoModeIpv6, BothFamiliesPodsTalkOverOneSessionOnTheIpv6Underlay) {
  both_families_over_one_session("[" + tartan->public_ipv6->str() + "]:51820");
}

}  // namespace
}  // namespace tartan::testing
