// Dual-stack flannel clusters (issue 14): flannel-v6 next to flannel.1, in
// network namespaces.
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/cluster.h"

namespace tartan {
namespace {

using testing::all_replied;
using testing::Cluster;
using testing::ClusterNode;

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

}  // namespace
}  // namespace tartan
