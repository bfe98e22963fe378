// flannel's wireguard Mode: which of a node's addresses its one peer is
// reached at in the one-device modes, auto as flannel's selectMode picks.
#include "control/cluster/wireguard_mode.h"

#include <gtest/gtest.h>

namespace tartan {
namespace {

Ipv4Addr v4(const char* s) {
  return *Ipv4Addr::parse(s);
}
Ipv6Addr v6(const char* s) {
  return *Ipv6Addr::parse(s);
}

TEST(WireguardMode, SeparateHasNoOnePeerAndIpv4AndIpv6AreFixed) {
  WireguardModeSettings s{WireguardMode::kSeparate, v4("192.0.2.10"), v6("2001:db8::10")};
  EXPECT_EQ(one_peer_over_ipv6(s, v4("192.0.2.20"), v6("2001:db8::20")), std::nullopt);
  s.mode = WireguardMode::kIpv4;
  EXPECT_EQ(one_peer_over_ipv6(s, v4("192.0.2.20"), v6("2001:db8::20")), false);
  s.mode = WireguardMode::kIpv6;
  EXPECT_EQ(one_peer_over_ipv6(s, v4("192.0.2.20"), std::nullopt), true);
}

TEST(WireguardMode, AutoPicksAsFlannelsSelectMode) {
  const WireguardModeSettings ours{WireguardMode::kAuto, v4("10.0.0.10"), v6("2001:db8::10")};
  // No IPv6 on the node: IPv4.
  EXPECT_EQ(one_peer_over_ipv6(ours, v4("10.0.0.20"), std::nullopt), false);
  // A public (not RFC 1918) IPv4 on the node, and we have one: IPv4.
  EXPECT_EQ(one_peer_over_ipv6(ours, v4("192.0.2.20"), v6("2001:db8::20")), false);
  // A private IPv4, public IPv6 on both sides: IPv6.
  for (const char* private_ip : {"10.1.2.3", "172.16.0.1", "172.31.255.1", "192.168.1.1"})
    EXPECT_EQ(one_peer_over_ipv6(ours, v4(private_ip), v6("2001:db8::20")), true) << private_ip;
  EXPECT_EQ(one_peer_over_ipv6(ours, v4("172.32.0.1"), v6("2001:db8::20")), false)
      << "172.32/16 is not RFC 1918";
  // An RFC 4193 IPv6 on either side: IPv4.
  EXPECT_EQ(one_peer_over_ipv6(ours, v4("10.0.0.20"), v6("fd00::20")), false);
  EXPECT_EQ(one_peer_over_ipv6(ours, v4("10.0.0.20"), v6("fc12::20")), false);
  WireguardModeSettings ula = ours;
  ula.underlay_ip6 = v6("fd00::10");
  EXPECT_EQ(one_peer_over_ipv6(ula, v4("10.0.0.20"), v6("2001:db8::20")), false);
  // No IPv6 of ours: IPv4.
  WireguardModeSettings no_v6 = ours;
  no_v6.underlay_ip6.reset();
  EXPECT_EQ(one_peer_over_ipv6(no_v6, v4("10.0.0.20"), v6("2001:db8::20")), false);
  // A public IPv4 on the node but none of ours: its IPv6 is weighed.
  WireguardModeSettings no_v4 = ours;
  no_v4.underlay_ip.reset();
  EXPECT_EQ(one_peer_over_ipv6(no_v4, v4("192.0.2.20"), v6("2001:db8::20")), true);
}

}  // namespace
}  // namespace tartan
