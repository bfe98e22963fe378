// Dual-stack and IPv6-only flannel clusters (issue 14): flannel-v6 next to
// flannel.1, or alone, in network namespaces.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <regex>
#include <set>
#include <string>
#include <utility>

#include "tests/e2e/cluster.h"
#include "tests/e2e/wire_compare.h"
#include "tests/support/files.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::all_replied;
using testing::Cluster;
using testing::ClusterNode;
using testing::Process;
using testing::read_file;
using testing::Stack;
using testing::tcp_transfer;

// Whether ping's output says the path MTU is `mtu`: a Packet Too Big it
// received ("mtu=1430"), or the one the route cache already had ("local
// error: message too long, mtu: 1430").
// The error ping reported for its first probe, as "<source> <what>"
// ("fd00:10:244:2:: Time exceeded: Hop limit"); "" when there is none.
std::string first_error(const std::string& ping_output) {
  std::smatch m;
  if (!std::regex_search(ping_output, m, std::regex("From (\\S+) icmp_seq=1 ([^\\n]+)"))) return "";
  return m[1].str() + " " + m[2].str();
}

bool says_mtu(const std::string& ping_output, int mtu) {
  return std::regex_search(ping_output, std::regex("mtu[=:] ?" + std::to_string(mtu) + "\\b"));
}

// The reference the tartan nodes are held to: two kernel nodes set up as
// flanneld sets up a dual-stack node reach each other's pods over both
// families, the IPv6 ones through flannel-v6.1 with an IPv6 outer header.
TEST(KernelDualStack, PodsReachEachOtherOverIpv4AndOverFlannelV6) {
  Cluster c("ds", Stack::kDual);
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

// Pods ping each other over IPv6 both ways, with the hop limits of a
// kernel-flannel path (each node's kernel forwards once: 64 - 2).
void expect_ipv6_pings_both_ways(Cluster& c, ClusterNode& tartan, ClusterNode& kernel) {
  const std::string there = ping6(c, tartan, kernel);
  EXPECT_TRUE(all_replied(there)) << there << tartan.tartand->output()
                                  << c.tartanctl(tartan, {"stats"}).output;
  EXPECT_NE(there.find("ttl=62"), std::string::npos) << there;
  const std::string back = ping6(c, kernel, tartan);
  EXPECT_TRUE(all_replied(back)) << back;
  EXPECT_NE(back.find("ttl=62"), std::string::npos) << back;
}

// `bytes` over TCP over IPv6 each way, intact and without a retransmission
// storm.
void expect_tcp6_both_ways(Cluster& c, ClusterNode& tartan, ClusterNode& kernel, uint64_t bytes) {
  EXPECT_LT(tcp_transfer(c, tartan, kernel, bytes, true), 0.01)
      << c.tartanctl(tartan, {"stats"}).output;
  EXPECT_LT(tcp_transfer(c, kernel, tartan, bytes, true), 0.01)
      << c.tartanctl(tartan, {"stats"}).output;
}

// A kernel-flannel dual-stack node and a tartan one: pods reach each other
// over IPv4 through flannel.1 and over IPv6 through flannel-v6.1, with the
// hop limits of a kernel-flannel path, and TCP over IPv6 arrives intact.
using KernelAndTartanDualStack = testing::KernelAndTartanCluster<Stack::kDual>;

TEST_F(KernelAndTartanDualStack, PodsPingBothWaysOverBothFamilies) {
  expect_ipv6_pings_both_ways(c, *tartan, *kernel);
  EXPECT_TRUE(all_replied(ping(c, *tartan, *kernel)));
  EXPECT_TRUE(all_replied(ping(c, *kernel, *tartan)));
  const std::string routes = c.tartanctl(*tartan, {"routes"}).output;
  EXPECT_NE(routes.find("fd00:10:244:1::/64"), std::string::npos) << routes;
}

TEST_F(KernelAndTartanDualStack, TcpOverIpv6ArrivesIntactBothWays) {
  expect_tcp6_both_ways(c, *tartan, *kernel, 16 << 20);
}

// An IPv6-only cluster (EnableIPv4 false): no interface has an IPv4
// address, the kernel node has flannel-v6.1 alone as flanneld sets it up
// then, and tartand runs without ports.underlay.address.
using KernelAndTartanIpv6Only = testing::KernelAndTartanCluster<Stack::kIpv6>;

TEST_F(KernelAndTartanIpv6Only, PodsPingBothWaysAndTcpArrivesIntact) {
  expect_ipv6_pings_both_ways(c, *tartan, *kernel);
  expect_tcp6_both_ways(c, *tartan, *kernel, 8 << 20);
}

// Nothing of IPv4 is written anywhere (flanneld with EnableIPv4 false
// writes public-ipv6 and backend-v6-data alone, and the IPv6 lines of
// subnet.env), and tartanctl shows the IPv6 side only.
TEST_F(KernelAndTartanIpv6Only, OnlyTheIpv6SideIsWrittenAndShown) {
  ASSERT_TRUE(all_replied(ping6(c, *tartan, *kernel)));
  const auto lease = nlohmann::json::parse(c.tartanctl(*tartan, {"-o", "json", "lease"}).output);
  EXPECT_EQ(read_file(tartan->dir + "/subnet.env"),
            "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:2::1/64\n"
            "FLANNEL_MTU=" +
                std::to_string(lease.at("mtu").get<int>()) + "\nFLANNEL_IPMASQ=false\n");
  std::set<std::string> keys;
  for (const auto& [k, v] : lease.at("annotations").items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"flannel.alpha.coreos.com/backend-type",
                                         "flannel.alpha.coreos.com/backend-v6-data",
                                         "flannel.alpha.coreos.com/kube-subnet-manager",
                                         "flannel.alpha.coreos.com/public-ipv6"}));
  EXPECT_EQ(lease.at("annotations").at("flannel.alpha.coreos.com/public-ipv6"), "2001:db8::12");
  EXPECT_EQ(lease.at("pod_cidr"), "");
  EXPECT_EQ(lease.at("public_ip"), "");

  // The host's side of the overlay: IPv6 routes and addresses only.
  EXPECT_EQ(c.sh(*tartan->ns,
                 "ip -4 addr show dev flannel-v6.1; ip -4 route show table all "
                 "dev flannel-v6.1; ip -4 neigh show dev flannel-v6.1")
                .output,
            "");
  EXPECT_NE(c.sh(*tartan->ns, "ip -6 route show fd00:10:244:1::/64").output.find("flannel-v6.1"),
            std::string::npos);
  // No ARP from the data plane either.
  const auto stats = nlohmann::json::parse(c.tartanctl(*tartan, {"-o", "json", "stats"}).output);
  EXPECT_EQ(stats.at("events").at("arp_requests_sent"), "0") << stats.dump(2);
  EXPECT_EQ(stats.at("events").at("arp_replies"), "0");

  const std::string shown = c.tartanctl(*tartan, {"lease"}).output;
  EXPECT_EQ(shown.rfind("POD-CIDR-V6 ", 0), 0u) << shown;
  EXPECT_EQ(shown.find("PUBLIC-IP "), std::string::npos) << shown;
  EXPECT_NE(shown.find("fd00:10:244:2::/64"), std::string::npos) << shown;
  const std::string routes = c.tartanctl(*tartan, {"routes"}).output;
  EXPECT_NE(routes.find("fd00:10:244:1::/64"), std::string::npos) << routes;
  EXPECT_EQ(routes.find("10.244."), std::string::npos) << routes;
  const std::string nodes = c.tartanctl(*tartan, {"nodes", "list"}).output;
  EXPECT_EQ(nodes.rfind("NAME ", 0), 0u) << nodes;
  EXPECT_EQ(nodes.find(" PUBLIC-IP "), std::string::npos) << "no IPv4 columns: " << nodes;
  EXPECT_NE(nodes.find("2001:db8::11"), std::string::npos) << nodes;
  EXPECT_NE(nodes.find("ROUTED-V6"), std::string::npos) << nodes;
}

// flannel-v6.1's wire format, byte for byte: the outer IPv6 header (traffic
// class, flow label, payload length, next header, hop limit), UDP (port,
// length, checksum), VXLAN and the inner frame of what tartan sends equal
// the kernel's.
TEST_F(KernelAndTartanDualStack, Ipv6TunnelFramesEqualFlannelV6sFieldByField) {
  testing::expect_kernel_wire_format(c, *kernel, *tartan, true);
}

// What tartand says about IPv6 while a pod pings over flannel-v6: its
// neighbour discovery in the counters (tartanctl stats, /metrics, which
// promtool accepts), the flannel-v6 peer under its public IPv6 and node
// name, and the trace of the packets both ways in IPv6's words.
TEST(KernelAndTartanDualStackTelemetry, Ipv6ShowsInStatsMetricsAndTrace) {
  constexpr const char* kMetrics = "127.0.0.1:9464";  // in the tartan node's namespace
  Cluster c("dm", Stack::kDual);
  ClusterNode& kernel = c.add_kernel_node(1);
  ClusterNode& tartan = c.add_tartan_node(2, "vxlan", false, "vnet_tap",
                                          std::string(", http: {listen: '") + kMetrics + "'}");
  c.connect(kernel, tartan);
  Process pings(tartan.pod->exec({"ping", "-c", "40", "-i", "0.2", kernel.pod_ip_v6->str()}));

  // Out through the overlay port: routed over IPv6 to node-1's podCIDR,
  // encapsulated to its public IPv6.
  const std::string out =
      c.tartanctl(tartan, {"trace", "-p", "flannel.1", "-f", "icmp6 and ip6[40] == 128", "-c", "1",
                           "--duration", "20"})
          .output;
  EXPECT_NE(out.find("IPv6 fd00:10:244:2::2 > fd00:10:244:1::2 ICMPv6 type 128 code 0"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("classify    ipv6: IPv6"), std::string::npos) << out;
  EXPECT_TRUE(
      std::regex_search(out, std::regex(R"(route +fd00:10:244:1::2 via fd00:10:244:1::/64: )"
                                        R"(next hop \d+ \(vxlan, node node-1\))")))
      << out;
  EXPECT_TRUE(std::regex_search(
      out, std::regex(R"(rewrite +encap vxlan to 2001:db8::11, outer UDP source port \d+, out )")))
      << out;
  EXPECT_NE(out.find("verdict     tx underlay"), std::string::npos) << out;
  // In from the underlay: a known VTEP's flannel-v6 packet, delivered.
  const std::string in =
      c.tartanctl(tartan, {"trace", "-p", "underlay", "-f", "ip6 and udp port 8472", "-c", "1",
                           "--duration", "20"})
          .output;
  EXPECT_NE(in.find("IPv6 2001:db8::11 > 2001:db8::12 UDP"), std::string::npos) << in;
  EXPECT_NE(in.find("VXLAN vni 1: IPv6 fd00:10:244:1::2 > fd00:10:244:2::2 ICMPv6 type 129"),
            std::string::npos)
      << in;
  EXPECT_TRUE(std::regex_search(
      in, std::regex(R"(sender +known VTEP 2001:db8::11 \(node node-1, next hop \d+\))")))
      << in;
  EXPECT_TRUE(std::regex_search(in, std::regex(R"(route +fd00:10:244:2::2 via fd00:10:244:2::/64: )"
                                               R"(next hop \d+ \(local\))")))
      << in;
  ASSERT_TRUE(pings.wait(30s).has_value());

  // Each node resolved the other's public IPv6 by neighbour discovery.
  const auto stats = nlohmann::json::parse(c.tartanctl(tartan, {"-o", "json", "stats"}).output);
  const auto event = [&](const char* name) {
    return std::stoull(stats["events"].value(name, "0"));
  };
  EXPECT_GE(event("nd_solicits_sent"), 1u) << stats.dump(2);
  EXPECT_GE(event("nd_learned"), 1u);
  EXPECT_GE(event("nd_solicits_answered"), 1u);
  EXPECT_GE(event("nd_adverts_received"), 1u);
  bool peer = false;
  for (const auto& p : stats["peers"]) peer |= p.value("public_ip", "") == "2001:db8::11";
  EXPECT_TRUE(peer) << stats["peers"].dump(2);
  const std::string table = c.tartanctl(tartan, {"stats"}).output;
  EXPECT_NE(table.find("ND-SOLICITS-SENT"), std::string::npos) << table;

  const std::string m =
      c.sh(*tartan.ns, std::string("curl -sf http://") + kMetrics + "/metrics").output;
  EXPECT_TRUE(std::regex_search(
      m,
      std::regex(R"(\ntartan_peer_encap_packets_total\{node="node-1",public_ip="2001:db8::11"\} )"
                 R"([1-9])")))
      << m;
  EXPECT_TRUE(std::regex_search(m, std::regex(R"(\ntartan_nd_learned_total [1-9])"))) << m;
  EXPECT_NE(m.find("\ntartan_drops_total{reason=\"nd_bad_option\"} "), std::string::npos);
  const auto lint = c.sh(
      *tartan.ns, std::string("curl -sf http://") + kMetrics + "/metrics | promtool check metrics");
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
}

// Pods whose links keep MTU 1500, above the 1430 an IPv6 tunnel carries:
// as between two kernel nodes, the sending pod's node answers a too-big
// packet with Packet Too Big (on the tartan node its host: the tap has the
// IPv6 overlay MTU, as flannel-v6.1 has), and the pod caches the path MTU.
TEST_F(KernelAndTartanDualStack, PodsLearnTheIpv6PathMtuAsBetweenKernelNodes) {
  // 1382 bytes of payload + 48 of headers = 1430: fits, both ways.
  EXPECT_TRUE(all_replied(ping6(c, *tartan, *kernel, "-c 1 -W 2 -M do -s 1382")));
  EXPECT_TRUE(all_replied(ping6(c, *kernel, *tartan, "-c 1 -W 2 -M do -s 1382")));
  for (const auto& [from, to] : {std::pair(tartan, kernel), std::pair(kernel, tartan)}) {
    const std::string too_big = ping6(c, *from, *to, "-c 2 -W 2 -M do -s 1452");
    EXPECT_TRUE(says_mtu(too_big, 1430)) << from->name << ": " << too_big;
    const std::string route = c.sh(*from->pod, "ip -6 route get " + to->pod_ip_v6->str()).output;
    EXPECT_NE(route.find("mtu 1430"), std::string::npos) << from->name << ": " << route;
  }
}

// Only a host that forwards more than the IPv6 overlay MTU into the tap
// makes tartan, not the host, answer: a tap MTU raised from outside, in the
// half second before the watchdog puts it back (as for IPv4 in
// overlay_device_test). tartan's Packet Too Big comes from the packet's
// destination (our overlay address is the host's own on the tap); the host
// forwards it to the pod, whose path MTU drops to the IPv6 overlay MTU.
TEST_F(KernelAndTartanDualStack, TartansPacketTooBigReachesThePodThroughItsHost) {
  const std::string probe = "ip netns exec " + tartan->pod->name() +
                            " ping -c 1 -W 1 -M do -s 1452 " + kernel->pod_ip_v6->str() + " 2>&1";
  const std::string from_tartan = kernel->pod_ip_v6->str() + " Packet too big: mtu=1430";
  std::string answer;
  for (int attempt = 0; attempt < 10; ++attempt) {
    c.sh(*tartan->pod, "ip -6 route flush cache");
    answer = c.sh(*tartan->ns, "ip link set flannel.1 mtu 1500 && " + probe).output;
    if (first_error(answer) == from_tartan) break;
  }
  EXPECT_EQ(first_error(answer), from_tartan)
      << "no Packet Too Big from tartan reached the pod: " << answer << tartan->tartand->output();
  const std::string route =
      c.sh(*tartan->pod, "ip -6 route get " + kernel->pod_ip_v6->str()).output;
  EXPECT_NE(route.find("mtu 1430"), std::string::npos) << route;
}

// A tartan node that is its pod's router (the pod's link is tartan's
// overlay port, as with memif or vhost-user) next to a kernel-flannel
// node: tartan answers its pod as a kernel-flannel node's kernel answers
// its own, with errors from our IPv6 overlay address (our podCIDR's
// network address, which the kernel node's flannel-v6.1 holds for its).
class KernelAndTartanRouterDualStack : public KernelAndTartanDualStack {
 protected:
  KernelAndTartanRouterDualStack() : KernelAndTartanDualStack(true) {}
  static std::string overlay_address(const ClusterNode& n) { return n.pod_cidr_v6->addr.str(); }
};

TEST_F(KernelAndTartanRouterDualStack, PodsReachEachOtherWithTartanAsTheHop) {
  // tartan takes its pod's hop as the kernel node's host takes its pod's:
  // 64 - 2 both ways, over both families.
  for (const auto& [from, to] : {std::pair(tartan, kernel), std::pair(kernel, tartan)}) {
    for (const std::string& out : {ping6(c, *from, *to), ping(c, *from, *to)}) {
      EXPECT_TRUE(all_replied(out) && out.find("ttl=62") != std::string::npos)
          << from->name << ": " << out << tartan->tartand->output();
    }
  }
}

TEST_F(KernelAndTartanRouterDualStack, HopLimitRunningOutGetsTimeExceededFromTheOverlayAddress) {
  const std::string expired = " Time exceeded: Hop limit";
  // Hop limit 1 from tartan's pod: tartan, the first hop, answers.
  const std::string at_tartan = ping6(c, *tartan, *kernel, "-c 1 -W 2 -t 1");
  EXPECT_EQ(first_error(at_tartan), overlay_address(*tartan) + expired) << at_tartan;
  // Hop limit 2: tartan forwards it, and the kernel node, where it runs out
  // on its way from flannel-v6.1, answers from flannel-v6.1's address,
  // back through tartan.
  const std::string at_kernel = ping6(c, *tartan, *kernel, "-c 1 -W 2 -t 2");
  EXPECT_EQ(first_error(at_kernel), overlay_address(*kernel) + expired) << at_kernel;
  // The other way: the kernel node forwards it, and tartan, where it runs
  // out on its way to the pod, answers through the tunnel as the kernel
  // node did.
  const std::string back = ping6(c, *kernel, *tartan, "-c 1 -W 2 -t 2");
  EXPECT_EQ(first_error(back), overlay_address(*tartan) + expired) << back;
  EXPECT_EQ(testing::drop_count(c, *tartan, "hop_limit_expired"), 0u);
}

TEST_F(KernelAndTartanRouterDualStack, TooBigAndNoRouteAreAnsweredAndTcpFindsThePathMtu) {
  const std::string too_big = ping6(c, *tartan, *kernel, "-c 1 -W 2 -M do -s 1452");
  EXPECT_EQ(first_error(too_big), overlay_address(*tartan) + " Packet too big: mtu=1430")
      << too_big;
  const std::string route =
      c.sh(*tartan->pod, "ip -6 route get " + kernel->pod_ip_v6->str()).output;
  EXPECT_NE(route.find("mtu 1430"), std::string::npos) << route;
  EXPECT_TRUE(says_mtu(ping6(c, *tartan, *kernel, "-c 1 -W 2 -M do -s 1452"), 1430));
  // An address in no node's podCIDR: tartan has no route, and says so.
  const std::string lost = c.sh(*tartan->pod, "ping -c 1 -W 2 fd00:10:244:99::2 2>&1").output;
  EXPECT_EQ(first_error(lost), overlay_address(*tartan) + " Destination unreachable: No route")
      << lost;
  // TCP from pods whose MSS is the link's: the sender finds the path MTU
  // from tartan's Packet Too Big one way, the kernel node's the other.
  c.sh(*tartan->pod, "ip -6 route flush cache");
  EXPECT_LT(tcp_transfer(c, *tartan, *kernel, 4 << 20, true), 0.05)
      << c.tartanctl(*tartan, {"stats"}).output;
  EXPECT_LT(tcp_transfer(c, *kernel, *tartan, 4 << 20, true), 0.05)
      << c.tartanctl(*tartan, {"stats"}).output;
}

}  // namespace
}  // namespace tartan
