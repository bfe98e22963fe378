// Dual-stack flannel clusters (issue 14): flannel-v6 next to flannel.1, in
// network namespaces.
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/cluster.h"
#include "tests/e2e/wire_compare.h"

namespace tartan {
namespace {

using testing::all_replied;
using testing::Cluster;
using testing::ClusterNode;
using testing::tcp_transfer;

// The reference the tartan nodes are held to: two kernel nodes set up as
// flanneld sets up a dual-stack node reach each other's pods over both
// families, the IPv6 ones through flannel-v6.1 with an IPv6 outer header.
TEST(KernelDualStack, PodsReachEachOtherOverIpv4AndOverFlannelV6) {
  Cluster c("ds", true);
  ClusterNode& a = c.add_kernel_node(1);
  ClusterNode& b = c.add_kernel_node(2);
  c.connect(a, b);
  EXPECT_TRUE(all_replied(ping(c, a, b)));
  const std::string v6 = ping6(c, a, b);
  EXPECT_TRUE(all_replied(v6)) << v6;
  // Each node's kernel forwards once: hop limit 64 - 2.
  EXPECT_NE(v6.find("ttl=62"), std::string::npos) << v6;
  EXPECT_TRUE(all_replied(ping6(c, b, a)));
  EXPECT_EQ(c.sh(*a.ns, "cat /sys/class/net/flannel-v6.1/mtu").output, "1430\n");
  const std::string route = c.sh(*a.ns, "ip -6 route show fd00:10:244:2::/64").output;
  EXPECT_NE(route.find("via fd00:10:244:2:: dev flannel-v6.1"), std::string::npos) << route;
}

// A kernel-flannel dual-stack node and a tartan one: pods reach each other
// over IPv4 through flannel.1 and over IPv6 through flannel-v6.1, with the
// hop limits of a kernel-flannel path, and TCP over IPv6 arrives intact.
class KernelAndTartanDualStack : public ::testing::Test {
 protected:
  KernelAndTartanDualStack() : c("dk", true) {}
  void SetUp() override {
    kernel = &c.add_kernel_node(1);
    tartan = &c.add_tartan_node(2);
    c.connect(*kernel, *tartan);
  }
  Cluster c;
  ClusterNode* kernel = nullptr;
  ClusterNode* tartan = nullptr;
};

TEST_F(KernelAndTartanDualStack, PodsPingBothWaysOverBothFamilies) {
  const std::string there = ping6(c, *tartan, *kernel);
  EXPECT_TRUE(all_replied(there)) << there << tartan->tartand->output()
                                  << c.tartanctl(*tartan, {"stats"}).output;
  EXPECT_NE(there.find("ttl=62"), std::string::npos) << there;
  const std::string back = ping6(c, *kernel, *tartan);
  EXPECT_TRUE(all_replied(back)) << back;
  EXPECT_NE(back.find("ttl=62"), std::string::npos) << back;
  EXPECT_TRUE(all_replied(ping(c, *tartan, *kernel)));
  EXPECT_TRUE(all_replied(ping(c, *kernel, *tartan)));
  const std::string routes = c.tartanctl(*tartan, {"routes"}).output;
  EXPECT_NE(routes.find("fd00:10:244:1::/64"), std::string::npos) << routes;
}

TEST_F(KernelAndTartanDualStack, TcpOverIpv6ArrivesIntactBothWays) {
  EXPECT_LT(tcp_transfer(c, *tartan, *kernel, 16 << 20, true), 0.01)
      << c.tartanctl(*tartan, {"stats"}).output;
  EXPECT_LT(tcp_transfer(c, *kernel, *tartan, 16 << 20, true), 0.01)
      << c.tartanctl(*tartan, {"stats"}).output;
}

// flannel-v6.1's wire format, byte for byte: the outer IPv6 header (traffic
// class, flow label, payload length, next header, hop limit), UDP (port,
// length, checksum), VXLAN and the inner frame of what tartan sends equal
// the kernel's.
TEST_F(KernelAndTartanDualStack, Ipv6TunnelFramesEqualFlannelV6sFieldByField) {
  testing::expect_kernel_wire_format(c, *kernel, *tartan, true);
}

}  // namespace
}  // namespace tartan
