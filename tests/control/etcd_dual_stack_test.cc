// Dual-stack and IPv6-only leases in a real etcd, shared with flanneld
// nodes: flanneld's keys and values read and written byte for byte, each
// family allocated, renewed and given up as flanneld does it.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "control/config/pod_mtu.h"
#include "control/sources/etcd/etcd_lease_json.h"
#include "tests/support/etcd_node.h"
#include "tests/support/etcd_server.h"
#include "tests/support/files.h"
#include "tests/support/log_capture.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::EtcdNode;
using testing::EtcdServer;
using testing::eventually;
using testing::flanneld_dual_stack_lease;
using testing::flanneld_ipv6_only_lease;
using testing::flanneld_vxlan_lease;
using testing::kSubnets;

const std::string kDualStack =
    "{Network: 10.244.0.0/16, EnableIPv6: true, IPv6Network: 'fd00:10:244::/56', "
    "Backend: {Type: vxlan}}";
const std::string kIpv6Only =
    "{EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fd00:10:244::/56', "
    "Backend: {Type: vxlan}}";

// Node `index` of an IPv6-only cluster: no IPv4 address on its underlay.
testing::EtcdNodeOptions ipv6_only(int index, const EtcdServer& etcd) {
  return {.index = index,
          .endpoints = {etcd.endpoint()},
          .network = kIpv6Only,
          .ipv4 = false,
          .ipv6 = true};
}

std::string key_of(const EtcdNode& n) {
  return kSubnets + subnet_key_name(n.subnets());
}

Ipv6Prefix cidr6(const char* text) {
  return *Ipv6Prefix::parse(text);
}

std::optional<RouteView> route_to(const EtcdNode& n, const std::string& prefix) {
  for (const RouteView& r : n.routes()) {
    if (r.prefix.str() == prefix) return r;
  }
  return std::nullopt;
}

std::optional<Route6View> route6_to(const EtcdNode& n, const std::string& prefix) {
  for (const Route6View& r : n.routes6()) {
    if (r.prefix.str() == prefix) return r;
  }
  return std::nullopt;
}

// A hook that, before our first create, puts a flanneld dual-stack lease
// (192.0.2.21) at the key `where` gives for ours, and keeps that key in
// `planted`.
EtcdLeaseSource::Hooks plant_once(EtcdServer& etcd, std::string& planted,
                                  std::function<std::string(const std::string&)> where) {
  return {.before_create = [&etcd, &planted, where](const std::string& key) {
    if (!planted.empty()) return;
    planted = where(key);
    etcd.put_with_lease(planted, flanneld_dual_stack_lease("192.0.2.21", "ae:4b:8f:00:00:03",
                                                           "2001:db8::21", "ae:4b:8f:00:06:03"));
  }};
}

TEST(EtcdDualStack, OurLeaseIsFlanneldsDualStackKeyAndValue) {
  EtcdServer etcd;
  EtcdNode n({.index = 5, .endpoints = {etcd.endpoint()}, .network = kDualStack, .ipv6 = true});
  ASSERT_TRUE(n.start().ok());
  const PodCidrs s = n.subnets();
  ASSERT_TRUE(s.v4 && s.v6) << s.str();
  EXPECT_EQ(s.v6->len, 64);
  EXPECT_TRUE(cidr6("fd00:10:244::/56").contains(*s.v6));
  EXPECT_NE(s.v6->addr, cidr6("fd00:10:244::/64").addr) << "the first subnet is skipped";
  EXPECT_EQ(etcd.keys(kSubnets), std::vector<std::string>{kSubnets + s.v4->addr.str() + "-24&" +
                                                          s.v6->addr.str() + "-64"});
  EXPECT_EQ(etcd.get(key_of(n)),
            R"({"PublicIP":"192.0.2.15","PublicIPv6":"2001:db8::15","BackendType":"vxlan",)"
            R"("BackendData":{"VNI":1,"VtepMAC":"0e:00:00:00:00:05"},)"
            R"("BackendV6Data":{"VNI":1,"VtepMAC":"0e:00:00:01:00:05"}})");
  EXPECT_EQ(n.engine().local_subnet(), s.v4);
  EXPECT_EQ(n.engine().local_subnet6(), s.v6);
  Ipv6Addr first6 = s.v6->addr;
  first6.bytes[15] = 1;
  const Ipv4Prefix first{Ipv4Addr{s.v4->addr.value + 1}, 24};
  EXPECT_EQ(testing::read_file(n.dir() + "/subnet.env"),
            "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=" + first.str() +
                "\nFLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=" + first6.str() +
                "/64\nFLANNEL_MTU=" +
                std::to_string(pod_mtu(n.config().network, n.config().engine.dataplane)) +
                "\nFLANNEL_IPMASQ=false\n");
}

// flanneld nodes of both kinds next to a dual-stack tartan node: a
// dual-stack one is routed for both families, a v4-only one for IPv4 and
// says why not for IPv6; a node that gives up its IPv6 half loses only
// that route.
TEST(EtcdDualStack, FlanneldLeasesAreRoutedForTheFamiliesTheirKeysHave) {
  EtcdServer etcd;
  const std::string dual_key = kSubnets + "10.244.2.0-24&fd00:10:244:2::-64";
  etcd.put_with_lease(dual_key, flanneld_dual_stack_lease("192.0.2.20", "ae:4b:8f:00:00:02",
                                                          "2001:db8::20", "ae:4b:8f:00:06:02"));
  etcd.put_with_lease(kSubnets + "10.244.3.0-24",
                      flanneld_vxlan_lease("192.0.2.21", "ae:4b:8f:00:00:03"));
  EtcdNode n({.index = 1, .endpoints = {etcd.endpoint()}, .network = kDualStack, .ipv6 = true});
  ASSERT_TRUE(n.start().ok());

  ASSERT_EQ(n.routes().size(), 2u);
  EXPECT_EQ(route_to(n, "10.244.2.0/24")->public_ip.str(), "192.0.2.20");
  EXPECT_EQ(route_to(n, "10.244.2.0/24")->vtep_mac.str(), "ae:4b:8f:00:00:02");
  EXPECT_EQ(route_to(n, "10.244.3.0/24")->public_ip.str(), "192.0.2.21");
  ASSERT_EQ(n.routes6().size(), 1u);
  const auto r6 = route6_to(n, "fd00:10:244:2::/64");
  ASSERT_TRUE(r6);
  EXPECT_EQ(r6->public_ip.str(), "2001:db8::20");
  EXPECT_EQ(r6->vtep_mac.str(), "ae:4b:8f:00:06:02");
  const auto dual = n.mirror().get("10.244.2.0-24-fd00-10-244-2---64");
  ASSERT_TRUE(dual);
  EXPECT_TRUE(dual->status.routed);
  EXPECT_TRUE(dual->status.routed_v6);
  const auto v4_only = n.mirror().get("10.244.3.0-24");
  ASSERT_TRUE(v4_only);
  EXPECT_TRUE(v4_only->status.routed);
  EXPECT_FALSE(v4_only->status.routed_v6);
  EXPECT_EQ(v4_only->status.reason_v6, "no IPv6 podCIDR");

  // That flanneld restarts without IPv6: it deletes its lease (no longer
  // compatible) and takes the IPv4 subnet alone.
  etcd.del(dual_key);
  etcd.put_with_lease(kSubnets + "10.244.2.0-24",
                      flanneld_vxlan_lease("192.0.2.20", "ae:4b:8f:00:00:02"));
  ASSERT_TRUE(eventually(
      [&] { return n.routes6().empty() && route_to(n, "10.244.2.0/24").has_value(); }, 10s));
  EXPECT_FALSE(n.mirror().get("10.244.2.0-24-fd00-10-244-2---64"));
  EXPECT_EQ(n.mirror().get("10.244.2.0-24")->status.reason_v6, "no IPv6 podCIDR");
  EXPECT_EQ(route_to(n, "10.244.2.0/24")->vtep_mac.str(), "ae:4b:8f:00:00:02");
}

// A flanneld node that takes the IPv6 subnet we were about to create, and
// the IPv6 range running out: choose again, or say which range is full.
TEST(EtcdDualStack, AnIpv6SubnetTakenFirstIsChosenAgainAndAFullRangeIsNamed) {
  EtcdServer etcd;
  const std::string three =
      "{Network: 10.244.0.0/16, EnableIPv6: true, IPv6Network: 'fd00:10:244::/56', "
      "IPv6SubnetMax: 'fd00:10:244:3::', Backend: {Type: vxlan}}";
  etcd.put_with_lease(kSubnets + "10.244.1.0-24&fd00:10:244:1::-64",
                      flanneld_dual_stack_lease("192.0.2.20", "ae:4b:8f:00:00:02", "2001:db8::20",
                                                "ae:4b:8f:00:06:02"));
  std::string stolen;
  EtcdNode n({.index = 1,
              .endpoints = {etcd.endpoint()},
              .network = three,
              .ipv6 = true,
              .hooks = plant_once(etcd, stolen, [](const std::string& key) { return key; })});
  ASSERT_TRUE(n.start().ok());
  ASSERT_FALSE(stolen.empty());
  EXPECT_EQ(n.source().status().conflicts, 1u);
  EXPECT_NE(key_of(n), stolen);
  // :1:: and the stolen one's are taken: ours is the third of the range.
  const auto taken = parse_subnet_key_name(stolen.substr(kSubnets.size()));
  ASSERT_TRUE(taken && taken->v6);
  std::set<std::string> v6{"fd00:10:244:1::/64", taken->v6->str(), n.subnets().v6->str()};
  EXPECT_EQ(v6, (std::set<std::string>{"fd00:10:244:1::/64", "fd00:10:244:2::/64",
                                       "fd00:10:244:3::/64"}));
  EXPECT_EQ(n.routes6().size(), 2u);
  EXPECT_EQ(etcd.get(stolen), flanneld_dual_stack_lease("192.0.2.21", "ae:4b:8f:00:00:03",
                                                        "2001:db8::21", "ae:4b:8f:00:06:03"));

  EtcdNode full({.index = 2, .endpoints = {etcd.endpoint()}, .network = three, .ipv6 = true});
  const Status s = full.start();
  EXPECT_EQ(s.code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(s.message(),
            "out of IPv6 subnets: all 3 /64 subnets from IPv6SubnetMin fd00:10:244:1:: to "
            "IPv6SubnetMax fd00:10:244:3:: of IPv6Network fd00:10:244::/56 are leased");
  EXPECT_EQ(etcd.keys(kSubnets).size(), 3u) << "nothing left behind";
}

// A node that takes the same IPv4 subnet with another IPv6 one between our
// choice and our create writes another key, so the create succeeds; the
// key created first keeps the subnet, and we choose again.
TEST(EtcdDualStack, AKeySharingOneFamilysSubnetCreatedFirstKeepsIt) {
  EtcdServer etcd;
  std::string planted;
  const auto same_v4 = [](const std::string& key) {
    const auto ours = parse_subnet_key_name(key.substr(kSubnets.size()));
    return kSubnets + subnet_key_name({ours->v4, cidr6("fd00:10:244:ff::/64")});
  };
  EtcdNode n({.index = 1,
              .endpoints = {etcd.endpoint()},
              .network = kDualStack,
              .ipv6 = true,
              .hooks = plant_once(etcd, planted, same_v4)});
  testing::LogCapture log;
  ASSERT_TRUE(n.start().ok());
  ASSERT_FALSE(planted.empty());
  EXPECT_EQ(n.source().status().conflicts, 1u);
  const PodCidrs theirs = *parse_subnet_key_name(planted.substr(kSubnets.size()));
  EXPECT_FALSE(n.subnets().overlaps(theirs)) << n.subnets().str() << " vs " << theirs.str();
  EXPECT_EQ(etcd.keys(kSubnets).size(), 2u) << "ours given up, not left behind";
  EXPECT_EQ(etcd.get(planted), flanneld_dual_stack_lease("192.0.2.21", "ae:4b:8f:00:00:03",
                                                         "2001:db8::21", "ae:4b:8f:00:06:03"));
  const auto node = n.mirror().get(lease_node_name(theirs));
  ASSERT_TRUE(node);
  EXPECT_TRUE(node->status.routed) << node->status.reason;
  EXPECT_TRUE(node->status.routed_v6) << node->status.reason_v6;
  EXPECT_NE(log.text().find("overlaps " + planted + ", which was created first"), std::string::npos)
      << log.text();
}

// A flanneld IPv6-only lease ("0.0.0.0-0&...") next to a dual-stack node:
// routed for IPv6, and blocking no IPv4 subnet.
TEST(EtcdDualStack, AnIpv6OnlyLeaseIsRoutedForIpv6Alone) {
  EtcdServer etcd;
  etcd.put_with_lease(kSubnets + "0.0.0.0-0&fd00:10:244:2::-64",
                      flanneld_ipv6_only_lease("2001:db8::20", "ae:4b:8f:00:06:02"));
  EtcdNode n({.index = 1, .endpoints = {etcd.endpoint()}, .network = kDualStack, .ipv6 = true});
  ASSERT_TRUE(n.start().ok());
  EXPECT_NE(n.subnets().v6, cidr6("fd00:10:244:2::/64"));
  EXPECT_TRUE(n.routes().empty());
  ASSERT_EQ(n.routes6().size(), 1u);
  EXPECT_EQ(n.routes6()[0].prefix.str(), "fd00:10:244:2::/64");
  EXPECT_EQ(n.routes6()[0].public_ip.str(), "2001:db8::20");
  EXPECT_EQ(n.routes6()[0].vtep_mac.str(), "ae:4b:8f:00:06:02");
  const auto node = n.mirror().get("0.0.0.0-0-fd00-10-244-2---64");
  ASSERT_TRUE(node);
  EXPECT_FALSE(node->status.routed);
  EXPECT_TRUE(node->status.routed_v6) << node->status.reason_v6;
}

// Keys that are not flannel's subnets, listed or watched: a warning naming
// the key and why, as flanneld's "Ignoring bad subnet node"; nothing else
// changes.
TEST(EtcdDualStack, BadSubnetKeysAreWarnedAboutAndIgnored) {
  EtcdServer etcd;
  const std::string lease = flanneld_dual_stack_lease("192.0.2.20", "ae:4b:8f:00:00:02",
                                                      "2001:db8::20", "ae:4b:8f:00:06:02");
  const std::string listed = kSubnets + "10.244.8.7-24";
  etcd.put_with_lease(listed, flanneld_vxlan_lease("192.0.2.22", "ae:4b:8f:00:00:04"));
  etcd.put_with_lease(kSubnets + "10.244.2.0-24&fd00:10:244:2::-64", lease);
  EtcdNode n({.index = 1, .endpoints = {etcd.endpoint()}, .network = kDualStack, .ipv6 = true});
  testing::LogCapture log;
  ASSERT_TRUE(n.start().ok());
  EXPECT_NE(log.text().find("etcd: ignoring bad subnet key " + listed +
                            ": IPv4 part 10.244.8.7/24 has host bits set"),
            std::string::npos)
      << log.text();

  const std::string watched = kSubnets + "10.244.9.0-24&fd00:10:244:9::-128";
  etcd.put_with_lease(watched, flanneld_dual_stack_lease("192.0.2.23", "ae:4b:8f:00:00:05",
                                                         "2001:db8::23", "ae:4b:8f:00:06:05"));
  // A good lease after it: once it is routed, the bad one was seen.
  etcd.put_with_lease(kSubnets + "10.244.5.0-24&fd00:10:244:5::-64",
                      flanneld_dual_stack_lease("192.0.2.24", "ae:4b:8f:00:00:06", "2001:db8::24",
                                                "ae:4b:8f:00:06:06"));
  ASSERT_TRUE(eventually([&] { return n.routes6().size() == 2; }, 10s));
  EXPECT_NE(log.text().find("etcd: ignoring bad subnet key " + watched + ": IPv6 length 128 > 127"),
            std::string::npos)
      << log.text();
  EXPECT_EQ(n.routes().size(), 2u);
  EXPECT_EQ(n.mirror().footprint().nodes, 2u) << "no node for either bad key";
  EXPECT_EQ(n.source().status().failures, 0u);
  EXPECT_EQ(n.source().status().own_lost, 0u);
  EXPECT_EQ(n.source().status().syncs, 1u) << "the watch went on";
}

TEST(EtcdDualStack, RenewalRewritesTheSameKeyAndValue) {
  EtcdServer etcd;
  EtcdNode n({.index = 1,
              .endpoints = {etcd.endpoint()},
              .network = kDualStack,
              .ipv6 = true,
              .etcd_yaml = ", lease_ttl_s: 5, renew_margin_s: 3"});
  ASSERT_TRUE(n.start().ok());
  const std::string key = key_of(n);
  const std::string value = etcd.get(key);
  const int64_t first_lease = n.source().status().lease_id;
  // Two renewals, about 2.5 s apart: the key never expires in between.
  ASSERT_TRUE(eventually([&] { return n.source().status().renewals >= 2; }, 20s));
  EXPECT_EQ(etcd.keys(kSubnets), std::vector<std::string>{key});
  EXPECT_EQ(etcd.get(key), value);
  EXPECT_NE(n.source().status().lease_id, first_lease);
  EXPECT_EQ(n.source().status().own_lost, 0u);
}

// Our own IPv6 half goes when this node is restarted without IPv6: the
// dual-stack lease found by our public IP no longer fits, is deleted, and
// the IPv4 subnet of the last run is taken alone.
TEST(EtcdDualStack, RestartedWithoutIpv6OurLeaseLosesItsIpv6Half) {
  EtcdServer etcd;
  EtcdNode dual({.index = 1, .endpoints = {etcd.endpoint()}, .network = kDualStack, .ipv6 = true});
  ASSERT_TRUE(dual.start().ok());
  const PodCidrs before = dual.subnets();
  const std::string dual_key = key_of(dual);
  dual.stop();
  EtcdNode v4({.index = 1, .endpoints = {etcd.endpoint()}});
  testing::write_file(v4.dir() + "/subnet.env", testing::read_file(dual.dir() + "/subnet.env"));
  ASSERT_TRUE(v4.start().ok());
  EXPECT_EQ(v4.subnets(), PodCidrs{before.v4});
  EXPECT_EQ(etcd.keys(kSubnets), std::vector<std::string>{kSubnets + subnet_key_name({before.v4})});
  EXPECT_EQ(etcd.get(key_of(v4)),
            R"({"PublicIP":"192.0.2.11","PublicIPv6":null,"BackendType":"vxlan",)"
            R"("BackendData":{"VNI":1,"VtepMAC":"0e:00:00:00:00:01"}})");
  EXPECT_EQ(etcd.get(dual_key), "");
}

// <prefix>/config with EnableIPv6 is the network of a node without one of
// its own, IPv6 subnets included; a node whose underlay has no IPv6
// address is told which key it needs, one whose MTU is too small for IPv6
// the numbers.
TEST(EtcdDualStack, EtcdsDualStackNetworkIsAdoptedWithItsIpv6Subnets) {
  EtcdServer etcd;
  etcd.put("/coreos.com/network/config",
           R"({"Network":"10.5.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:5::/48",)"
           R"("IPv6SubnetLen":80,"Backend":{"Type":"vxlan"}})");
  EtcdNode n({.index = 1, .endpoints = {etcd.endpoint()}, .network = "", .ipv6 = true});
  ASSERT_TRUE(n.start().ok());
  EXPECT_EQ(n.subnets().v6->len, 80);
  EXPECT_TRUE(cidr6("fd00:5::/48").contains(*n.subnets().v6));
  EtcdNode no_ipv6({.index = 2, .endpoints = {etcd.endpoint()}, .network = ""});
  EXPECT_EQ(no_ipv6.start().message(),
            "/coreos.com/network/config: ports.underlay.ipv6_address: required with "
            "network.EnableIPv6 (our underlay IPv6 address and its prefix, e.g. 2001:db8::10/64)");
  // Nor one whose underlay MTU leaves IPv6 less than its minimum, which only
  // etcd's EnableIPv6 made a problem.
  EtcdNode small_mtu({.index = 3,
                      .endpoints = {etcd.endpoint()},
                      .network = "",
                      .ipv6 = true,
                      .underlay_yaml = ", mtu: 1300"});
  EXPECT_EQ(small_mtu.start().message(),
            "/coreos.com/network/config: ports.underlay.mtu: 1300 leaves an IPv6 overlay MTU of "
            "1230, below IPv6's minimum 1280 (network.EnableIPv6: vxlan over IPv6 takes 70, so the "
            "underlay needs at least 1350)");
}

// IPv6 only (EnableIPv4 false): flanneld's "0.0.0.0-0&..." keys with
// PublicIP 0.0.0.0, ours found again by its PublicIPv6.
TEST(EtcdIpv6Only, LeasesAreFlanneldsIpv6OnlyKeysAndValues) {
  EtcdServer etcd;
  const std::string theirs = kSubnets + "0.0.0.0-0&fd00:10:244:2::-64";
  etcd.put_with_lease(theirs, flanneld_ipv6_only_lease("2001:db8::20", "ae:4b:8f:00:06:02"));
  EtcdNode a(ipv6_only(1, etcd));
  ASSERT_TRUE(a.start().ok());
  const PodCidrs ours = a.subnets();
  ASSERT_TRUE(ours.v6 && !ours.v4) << ours.str();
  EXPECT_NE(*ours.v6, cidr6("fd00:10:244:2::/64"));
  EXPECT_NE(*ours.v6, cidr6("fd00:10:244::/64")) << "the first subnet is skipped";
  EXPECT_EQ(key_of(a), kSubnets + "0.0.0.0-0&" + ours.v6->addr.str() + "-64");
  EXPECT_EQ(etcd.get(key_of(a)),
            R"({"PublicIP":"0.0.0.0","PublicIPv6":"2001:db8::11","BackendType":"vxlan",)"
            R"("BackendV6Data":{"VNI":1,"VtepMAC":"0e:00:00:01:00:01"}})");
  EXPECT_TRUE(a.routes().empty());
  ASSERT_EQ(a.routes6().size(), 1u);
  EXPECT_EQ(a.routes6()[0].public_ip.str(), "2001:db8::20");
  EXPECT_EQ(a.routes6()[0].vtep_mac.str(), "ae:4b:8f:00:06:02");
  const auto node = a.mirror().get("0.0.0.0-0-fd00-10-244-2---64");
  ASSERT_TRUE(node);
  EXPECT_TRUE(node->status.routed_v6);
  EXPECT_FALSE(node->status.routed);
  EXPECT_EQ(node->status.reason, "") << "IPv4 is off: nothing to say";
  Ipv6Addr first = ours.v6->addr;
  first.bytes[15] = 1;
  EXPECT_EQ(testing::read_file(a.dir() + "/subnet.env"),
            "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=" + first.str() +
                "/64\nFLANNEL_MTU=" +
                std::to_string(pod_mtu(a.config().network, a.config().engine.dataplane)) +
                "\nFLANNEL_IPMASQ=false\n");

  // Another IPv6-only node does not take ours for its own (flanneld, which
  // compares PublicIP 0.0.0.0, would); we find ours again by PublicIPv6.
  const std::string a_key = key_of(a), a_value = etcd.get(a_key);
  a.stop();
  EtcdNode b(ipv6_only(2, etcd));
  ASSERT_TRUE(b.start().ok());
  EXPECT_NE(b.subnets(), ours);
  EXPECT_EQ(etcd.get(a_key), a_value) << "left to its holder";
  EtcdNode again(ipv6_only(1, etcd));
  testing::LogCapture log;
  ASSERT_TRUE(again.start().ok());
  EXPECT_EQ(again.subnets(), ours);
  EXPECT_NE(log.text().find("etcd: found our lease " + ours.str() +
                            " for our PublicIPv6 2001:db8::11 (key " + a_key),
            std::string::npos)
      << log.text();
  EXPECT_EQ(etcd.keys(kSubnets).size(), 3u);
  EXPECT_TRUE(eventually([&] { return again.routes6().size() == 2; }, 10s));
}

}  // namespace
}  // namespace tartan
