// The node mirror against a real engine: flannel annotations in, routes
// (and traffic) out; everything else kept, explained and not routed.
#include "control/cluster/node_mirror.h"

#include <gtest/gtest.h>

#include "engine/backends/headers.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/wireguard_frames.h"

namespace tartan {
namespace {

using testing::EngineFixture;

MirrorSettings settings(size_t log = 16384) {
  MirrorSettings s;
  s.keys = *annotation_keys("flannel.alpha.coreos.com");
  s.own_node_name = "node-1";
  s.network = *Ipv4Prefix::parse("10.244.0.0/16");
  s.event_log_size = log;
  return s;
}

// Node i as a kernel-flannel node shows it (see EngineFixture::node).
NodeSpec flannel_node(int i) {
  const auto n = EngineFixture::node(i);
  NodeSpec spec;
  spec.name = "node-" + std::to_string(i);
  spec.pod_cidrs = {n.subnet.str()};
  spec.addresses = {{"InternalIP", n.public_ip.str()}};
  spec.annotations = {
      {"flannel.alpha.coreos.com/backend-data",
       R"({"VNI":1,"VtepMAC":")" + n.vtep_mac.str() + R"("})"},
      {"flannel.alpha.coreos.com/backend-type", "vxlan"},
      {"flannel.alpha.coreos.com/kube-subnet-manager", "true"},
      {"flannel.alpha.coreos.com/public-ip", n.public_ip.str()},
  };
  return spec;
}

class NodeMirrorTest : public ::testing::Test {
 protected:
  // `fixture`: the engine's options (dual stack: ipv6).
  explicit NodeMirrorTest(const testing::FixtureOptions& fixture = {})
      : fx(fixture), mirror(settings(), fx.engine()) {
    EXPECT_TRUE(mirror.set_local_subnets({fx.self().subnet, std::nullopt}).ok());
    // Underlay MACs of the nodes, so traffic leaves without ARP.
    TableDelta d;
    for (int i = 2; i < 6; ++i)
      d.set_neighbours.push_back(
          {EngineFixture::node(i).public_ip, EngineFixture::node(i).underlay_mac});
    EXPECT_TRUE(fx.engine().apply(d).ok());
  }

  // The outer destination IP and inner destination MAC of the one packet
  // the overlay sends to `dst`, or "" if nothing left.
  std::string where_to(const char* dst) {
    const auto out = fx.from_overlay({fx.pod_frame(*Ipv4Addr::parse(dst))});
    if (out.size() != 1) return "";
    Ipv4Addr outer{uint32_t(out[0][30]) << 24 | uint32_t(out[0][31]) << 16 |
                   uint32_t(out[0][32]) << 8 | out[0][33]};
    MacAddr inner;
    std::copy(out[0].begin() + 50, out[0].begin() + 56, inner.bytes.begin());
    return outer.str() + " " + inner.str();
  }

  EngineFixture fx;
  NodeMirror mirror;
};

TEST_F(NodeMirrorTest, FlannelNodeBecomesARouteTrafficFollows) {
  auto rec = mirror.apply(flannel_node(2));
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_TRUE(rec->status.routed);
  EXPECT_EQ(rec->resource_version, 1u);
  EXPECT_EQ(where_to("10.244.2.10"), "192.0.2.20 0e:00:00:00:00:02");
  EXPECT_EQ(*mirror.node_of(*Ipv4Prefix::parse("10.244.2.0/24")), "node-2");
}

// As flanneld's peers: the tunnel goes to public-ip; an overwrite is for
// the node itself to copy into its public-ip.
TEST_F(NodeMirrorTest, TheTunnelGoesToPublicIpNotToItsOverwrite) {
  NodeSpec n = flannel_node(2);
  n.annotations["flannel.alpha.coreos.com/public-ip-overwrite"] =
      EngineFixture::node(3).public_ip.str();
  ASSERT_TRUE(mirror.apply(n).ok());
  EXPECT_EQ(where_to("10.244.2.10"), "192.0.2.20 0e:00:00:00:00:02");
  n.annotations["flannel.alpha.coreos.com/public-ip"] = EngineFixture::node(3).public_ip.str();
  ASSERT_TRUE(mirror.apply(n).ok());
  EXPECT_EQ(where_to("10.244.2.10"), "192.0.2.21 0e:00:00:00:00:02");
}

TEST_F(NodeMirrorTest, NodesThatCannotBeRoutedAreKeptWithTheReason) {
  const auto reason = [&](NodeSpec n) {
    auto rec = mirror.apply(n);
    EXPECT_TRUE(rec.ok()) << rec.status().message();
    EXPECT_FALSE(rec->status.routed);
    return rec->status.reason;
  };
  NodeSpec host_gw = flannel_node(2);
  host_gw.annotations["flannel.alpha.coreos.com/backend-type"] = "host-gw";
  EXPECT_EQ(reason(host_gw), "backend-type is 'host-gw', this node runs vxlan");
  NodeSpec vni = flannel_node(3);
  vni.annotations["flannel.alpha.coreos.com/backend-data"] =
      R"({"VNI":2,"VtepMAC":"0e:00:00:00:00:03"})";
  EXPECT_EQ(reason(vni), "VNI 2 differs from ours (1)");
  NodeSpec fresh = flannel_node(4);
  fresh.annotations.clear();
  EXPECT_EQ(reason(fresh),
            "no flannel.alpha.coreos.com/kube-subnet-manager=\"true\" annotation: flannel has not "
            "registered it");
  NodeSpec no_ip = flannel_node(5);
  no_ip.annotations.erase("flannel.alpha.coreos.com/public-ip");
  EXPECT_EQ(reason(no_ip), "no flannel.alpha.coreos.com/public-ip annotation");
  NodeSpec self = flannel_node(6);
  self.name = "node-1";
  self.pod_cidrs = {"10.244.1.0/24"};
  EXPECT_EQ(reason(self), "this node (our own lease)");
  EXPECT_EQ(fx.engine().routes().size(), 1u) << "only our own podCIDR";
  EXPECT_EQ(mirror.list("", 100).first.size(), 5u);
}

TEST_F(NodeMirrorTest, InvalidNodesAreRejectedNamingTheFieldAndNothingChanges) {
  ASSERT_TRUE(mirror.apply(flannel_node(2)).ok());
  const auto error = [&](NodeSpec n) {
    auto rec = mirror.apply(n);
    EXPECT_FALSE(rec.ok());
    return rec.ok() ? "" : rec.status().message();
  };
  NodeSpec clash = flannel_node(3);
  clash.pod_cidrs = {"10.244.2.128/25"};
  EXPECT_EQ(error(clash), "pod_cidrs: 10.244.2.128/25 overlaps the podCIDR of node 'node-2'");
  NodeSpec ours = flannel_node(3);
  ours.pod_cidrs = {"10.244.1.0/24"};
  EXPECT_EQ(error(ours), "pod_cidrs: 10.244.1.0/24 overlaps our own podCIDR 10.244.1.0/24");
  NodeSpec outside = flannel_node(3);
  outside.pod_cidrs = {"10.9.0.0/24"};
  EXPECT_EQ(error(outside), "pod_cidrs: 10.9.0.0/24 is outside the cluster network 10.244.0.0/16");
  NodeSpec name = flannel_node(3);
  name.name = "Node_3";
  EXPECT_EQ(error(name), "name: 'Node_3' is not a valid node name (lowercase DNS-1123 subdomain)");
  // The same public IP as node-2 with another VtepMAC: the engine refuses.
  NodeSpec twin = flannel_node(3);
  twin.annotations["flannel.alpha.coreos.com/public-ip"] = EngineFixture::node(2).public_ip.str();
  EXPECT_EQ(error(twin),
            "public_ip 192.0.2.20: already the VTEP of other routes with VtepMAC "
            "0e:00:00:00:00:02; change or "
            "remove those routes in the same change");
  EXPECT_EQ(mirror.resource_version(), 1u);
  EXPECT_FALSE(mirror.get("node-3"));
  EXPECT_EQ(fx.engine().routes().size(), 2u);
}

TEST_F(NodeMirrorTest, ChangesAreIdempotentVersionedAndReplaceTheRoute) {
  ASSERT_TRUE(mirror.apply(flannel_node(2)).ok());
  EXPECT_EQ(mirror.apply(flannel_node(2))->resource_version, 1u) << "same node, no change";
  NodeSpec moved = flannel_node(2);
  moved.pod_cidrs = {"10.244.22.0/24"};
  auto rec = mirror.apply(moved, 1);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_EQ(rec->resource_version, 2u);
  EXPECT_EQ(where_to("10.244.22.10"), "192.0.2.20 0e:00:00:00:00:02");
  EXPECT_EQ(where_to("10.244.2.10"), "") << "the old podCIDR is gone";
  EXPECT_EQ(mirror.apply(flannel_node(2), 1).status().message(),
            "node 'node-2' is at resource version 2, not 1");
  EXPECT_EQ(mirror.apply(flannel_node(2), 1).status().code(), ErrorCode::kAborted);
  EXPECT_EQ(mirror.apply(flannel_node(4), 7).status().message(),
            "node 'node-4' does not exist (expected resource version 7)");
}

TEST_F(NodeMirrorTest, DeletedNodeLosesItsRouteAndItsTunnel) {
  ASSERT_TRUE(mirror.apply(flannel_node(2)).ok());
  EXPECT_EQ(mirror.remove("node-2", 5).status().code(), ErrorCode::kAborted);
  auto v = mirror.remove("node-2");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 2u);
  EXPECT_EQ(where_to("10.244.2.10"), "");
  EXPECT_EQ(fx.drops(DropReason::kNoRoute), 1u);
  EXPECT_TRUE(fx.from_underlay({fx.vxlan_from(2, fx.pod_ip())}).empty());
  EXPECT_EQ(fx.drops(DropReason::kUnknownSender), 1u);
  EXPECT_EQ(mirror.remove("node-2").status().message(), "node 'node-2' not found");
}

TEST_F(NodeMirrorTest, ReplaceAllReconcilesToExactlyTheGivenNodes) {
  ASSERT_TRUE(mirror.apply(flannel_node(2)).ok());
  ASSERT_TRUE(mirror.apply(flannel_node(3)).ok());
  ASSERT_TRUE(mirror.replace_all({flannel_node(3), flannel_node(4)}).ok());
  EXPECT_FALSE(mirror.get("node-2"));
  EXPECT_TRUE(mirror.get("node-4"));
  EXPECT_EQ(where_to("10.244.2.10"), "");
  EXPECT_EQ(where_to("10.244.4.10"), "192.0.2.22 0e:00:00:00:00:04");
}

// A re-list is one engine change; when the engine refuses it (here: two
// nodes claim one public IP with two VtepMACs), the nodes go one at a time,
// so the one it refuses is kept unrouted, saying why, and the rest routed,
// exactly as if they had come one by one.
TEST_F(NodeMirrorTest, ReplaceAllFallsBackToOneAtATimeWhenTheEngineRefusesTheBatch) {
  ASSERT_TRUE(mirror.apply(flannel_node(5)).ok());
  NodeSpec twin = flannel_node(4);
  twin.annotations["flannel.alpha.coreos.com/public-ip"] = EngineFixture::node(2).public_ip.str();
  NodeSpec bad_name = flannel_node(3);
  bad_name.name = "Node_3";
  const Status s = mirror.replace_all({flannel_node(2), bad_name, twin, flannel_node(3)});
  EXPECT_EQ(s.message(),
            "some nodes were not applied: node 'Node_3': name: 'Node_3' is not a valid node name "
            "(lowercase DNS-1123 subdomain)");
  EXPECT_FALSE(mirror.get("node-5"));
  EXPECT_TRUE(mirror.get("node-2")->status.routed);
  EXPECT_TRUE(mirror.get("node-3")->status.routed);
  EXPECT_FALSE(mirror.get("node-4")->status.routed);
  EXPECT_EQ(mirror.get("node-4")->status.reason.rfind("public_ip 192.0.2.20: already the VTEP", 0),
            0u)
      << mirror.get("node-4")->status.reason;
  EXPECT_EQ(where_to("10.244.2.10"), "192.0.2.20 0e:00:00:00:00:02");
  EXPECT_EQ(where_to("10.244.3.10"), "192.0.2.21 0e:00:00:00:00:03");
  EXPECT_EQ(where_to("10.244.4.10"), "");
  EXPECT_EQ(where_to("10.244.5.10"), "");
}

TEST_F(NodeMirrorTest, ApplyAllIsAllOrNothingAndNamesTheChangeToBlame) {
  ASSERT_TRUE(mirror.apply(flannel_node(2)).ok());
  NodeSpec outside = flannel_node(4);
  outside.pod_cidrs = {"10.9.0.0/24"};
  size_t failed = 0;
  auto r = mirror.apply_all({{flannel_node(3), std::nullopt}, {outside, std::nullopt}},
                            {{"node-2", std::nullopt}}, "test", &failed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(failed, 1u);
  EXPECT_EQ(r.status().message(),
            "pod_cidrs: 10.9.0.0/24 is outside the cluster network 10.244.0.0/16");
  EXPECT_TRUE(mirror.get("node-2"));
  EXPECT_FALSE(mirror.get("node-3"));
  EXPECT_EQ(mirror.resource_version(), 1u);
  EXPECT_EQ(where_to("10.244.2.10"), "192.0.2.20 0e:00:00:00:00:02");
  EXPECT_EQ(where_to("10.244.3.10"), "");

  // A removal is counted after the upserts.
  r = mirror.apply_all({{flannel_node(3), std::nullopt}}, {{"node-9", std::nullopt}}, "test",
                       &failed);
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(failed, 1u);

  r = mirror.apply_all({{flannel_node(3), std::nullopt}, {flannel_node(4), std::nullopt}},
                       {{"node-2", 1}}, "test");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->records.size(), 3u);
  EXPECT_EQ(r->records[0]->spec.name, "node-3");
  EXPECT_EQ(r->records[0]->resource_version, 3u);
  EXPECT_EQ(r->records[2]->spec.name, "node-2");
  EXPECT_EQ(r->records[2]->resource_version, 2u);
  EXPECT_EQ(r->resource_version, 4u);
  EXPECT_EQ(where_to("10.244.2.10"), "");
  EXPECT_EQ(where_to("10.244.4.10"), "192.0.2.22 0e:00:00:00:00:04");
}

TEST_F(NodeMirrorTest, KeptNodesThatCannotBeRoutedStayUnroutedWithTheReason) {
  ASSERT_TRUE(mirror.apply(flannel_node(2)).ok());
  const auto kept = [&](NodeSpec n) -> std::string {
    auto rec = mirror.keep(n);
    EXPECT_TRUE(rec.ok()) << rec.status().message();
    if (!rec.ok()) return "";
    EXPECT_FALSE(rec->status.routed);
    EXPECT_EQ(mirror.get(n.name)->status.reason, rec->status.reason);
    return rec->status.reason;
  };
  NodeSpec clash = flannel_node(3);
  clash.pod_cidrs = {"10.244.2.128/25"};
  EXPECT_EQ(kept(clash), "pod_cidrs: 10.244.2.128/25 overlaps the podCIDR of node 'node-2'");
  NodeSpec outside = flannel_node(4);
  outside.pod_cidrs = {"10.9.0.0/24"};
  EXPECT_EQ(kept(outside), "pod_cidrs: 10.9.0.0/24 is outside the cluster network 10.244.0.0/16");
  NodeSpec garbage = flannel_node(5);
  garbage.annotations["flannel.alpha.coreos.com/backend-data"] = "{";
  EXPECT_EQ(kept(garbage).rfind(
                "annotations[flannel.alpha.coreos.com/backend-data]: invalid JSON '{'", 0),
            0u);
  // The engine refuses a second VtepMAC on node-2's public IP.
  NodeSpec twin = flannel_node(6);
  twin.pod_cidrs = {"10.244.6.0/24"};
  twin.annotations["flannel.alpha.coreos.com/public-ip"] = EngineFixture::node(2).public_ip.str();
  EXPECT_EQ(kept(twin).rfind("public_ip 192.0.2.20: already the VTEP of other routes", 0), 0u);
  EXPECT_EQ(fx.engine().routes().size(), 2u) << "ours and node-2's";
  EXPECT_EQ(where_to("10.244.2.10"), "192.0.2.20 0e:00:00:00:00:02");

  // A routed node that turns bad loses its route and is still mirrored.
  NodeSpec broken = flannel_node(2);
  broken.annotations["flannel.alpha.coreos.com/public-ip"] = "nowhere";
  EXPECT_EQ(kept(broken),
            "annotations[flannel.alpha.coreos.com/public-ip]: 'nowhere' is not an IPv4 address");
  EXPECT_EQ(where_to("10.244.2.10"), "");
  EXPECT_EQ(mirror.list("", 100).first.size(), 5u);
  ASSERT_TRUE(mirror.keep(flannel_node(2)).ok());
  EXPECT_EQ(where_to("10.244.2.10"), "192.0.2.20 0e:00:00:00:00:02") << "and back when mended";
}

TEST_F(NodeMirrorTest, AnnotationsOverKubernetesBoundAreRefusedOrDroppedWhenKept) {
  NodeSpec big = flannel_node(3);
  big.annotations["example.com/blob"] = std::string(300 * 1024, 'x');
  auto refused = mirror.apply(big);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message().rfind("annotations: ", 0), 0u);
  EXPECT_NE(refused.status().message().find("more than the 262144 Kubernetes allows"),
            std::string::npos);
  auto kept = mirror.keep(big);
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  EXPECT_FALSE(kept->status.routed);
  EXPECT_TRUE(mirror.get("node-3")->spec.annotations.empty());
  EXPECT_LT(mirror.footprint().node_bytes, 4096u);
}

TEST(NodeMirrorWatch, EventsFollowChangesAndAClientTooFarBehindIsResynced) {
  EngineFixture fx;
  NodeMirror mirror(settings(3), fx.engine());
  EXPECT_FALSE(mirror.events_after(0).resync) << "nothing happened yet";
  EXPECT_TRUE(mirror.events_after(1).resync) << "a version from the future";
  ASSERT_TRUE(mirror.apply(flannel_node(2)).ok());
  ASSERT_TRUE(mirror.apply(flannel_node(3)).ok());
  EXPECT_EQ(mirror.events_after(0).events.size(), 2u);
  auto batch = mirror.events_after(1);
  ASSERT_FALSE(batch.resync);
  ASSERT_EQ(batch.events.size(), 1u);
  EXPECT_EQ(batch.events[0].node->spec.name, "node-3");
  EXPECT_EQ(batch.events[0].type, NodeEvent::Type::kAdded);
  ASSERT_TRUE(mirror.remove("node-2").ok());
  ASSERT_TRUE(mirror.apply(flannel_node(4)).ok());
  ASSERT_TRUE(mirror.apply(flannel_node(5)).ok());
  // Three events kept: versions 3..5; a client at version 1 missed 2.
  EXPECT_TRUE(mirror.events_after(1).resync);
  batch = mirror.events_after(2);
  ASSERT_FALSE(batch.resync);
  ASSERT_EQ(batch.events.size(), 3u);
  EXPECT_EQ(batch.events[0].type, NodeEvent::Type::kDeleted);
  batch = mirror.events_after(2, 2);
  ASSERT_EQ(batch.events.size(), 2u) << "at most max_events";
  EXPECT_EQ(batch.events[1].resource_version, 4u);
  EXPECT_TRUE(mirror.events_after(5).events.empty()) << "up to date";
}

// A node with big annotations changed many times, then deleted: the log
// holds its whole object in each event, so only a bound in bytes keeps
// the memory in check (a count of 16384 events could be gigabytes).
TEST(NodeMirrorWatch, TheEventLogIsBoundedInBytesAndADeletedNodeCostsNothing) {
  EngineFixture fx;
  MirrorSettings s = settings();
  s.event_log_bytes = 1 << 20;
  NodeMirror mirror(s, fx.engine());
  for (int round = 0; round < 30; ++round) {
    NodeSpec n = flannel_node(2);
    n.annotations["example.com/blob"] =
        std::string(200 * 1024, static_cast<char>('a' + round % 26));
    ASSERT_TRUE(mirror.apply(n).ok());
  }
  ASSERT_TRUE(mirror.remove("node-2").ok());
  const NodeMirror::Footprint f = mirror.footprint();
  EXPECT_EQ(f.nodes, 0u);
  EXPECT_EQ(f.node_bytes, 0u);
  EXPECT_LE(f.event_bytes, size_t{1} << 20);
  EXPECT_LE(f.events, 5u);
  EXPECT_EQ(mirror.events_after(mirror.resource_version() - 1).events.size(), 1u)
      << "the deletion is still there for watchers";
  EXPECT_TRUE(mirror.events_after(1).resync) << "the first changes are gone";
}

// Dual stack (issue 14): the IPv6 side of node i as a dual-stack
// kernel-flannel node shows it.
NodeSpec dual_stack_node(int i) {
  NodeSpec n = flannel_node(i);
  const std::string h = std::to_string(i);
  n.pod_cidrs.push_back("fd00:10:244:" + h + "::/64");
  n.annotations["flannel.alpha.coreos.com/backend-v6-data"] =
      R"({"VNI":1,"VtepMAC":"0e:00:00:00:06:0)" + h + R"("})";
  n.annotations["flannel.alpha.coreos.com/public-ipv6"] = "2001:db8::" + h;
  return n;
}

class NodeMirrorDualStackTest : public NodeMirrorTest {
 protected:
  static MirrorSettings dual_stack_settings() {
    MirrorSettings s = settings();
    s.ipv6_network = *Ipv6Prefix::parse("fd00:10:244::/56");
    return s;
  }
  NodeMirrorDualStackTest()
      : NodeMirrorTest(testing::FixtureOptions{.ipv6 = true}),
        dual(dual_stack_settings(), fx.engine()) {
    // Their IPv6 underlay MACs too (dual_stack_node's public-ipv6), so no
    // neighbour solicitation joins the traffic the tests look at.
    TableDelta d;
    for (int i = 2; i < 6; ++i) {
      d.set_neighbours6.push_back({*Ipv6Addr::parse("2001:db8::" + std::to_string(i)),
                                   EngineFixture::node(i).underlay_mac});
    }
    EXPECT_TRUE(fx.engine().apply(d).ok());
    EXPECT_TRUE(
        dual.set_local_subnets({fx.self().subnet, *Ipv6Prefix::parse("fd00:10:244:1::/64")}).ok());
  }
  NodeMirror dual;
};

TEST_F(NodeMirrorDualStackTest, ADualStackNodeGetsARouteInEachFamily) {
  auto rec = dual.apply(dual_stack_node(2));
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_TRUE(rec->status.routed);
  EXPECT_TRUE(rec->status.routed_v6);
  EXPECT_EQ(rec->status.route_v6->str(), "fd00:10:244:2::/64");
  EXPECT_EQ(rec->status.public_ipv6->str(), "2001:db8::2");
  EXPECT_EQ(rec->status.vtep_mac_v6->str(), "0e:00:00:00:06:02");
  EXPECT_EQ(rec->status.reason_v6, "");
  EXPECT_EQ(*dual.node_of(*Ipv6Prefix::parse("fd00:10:244:2::/64")), "node-2");
  // The IPv4 route is in the engine as before.
  EXPECT_EQ(where_to("10.244.2.10"), "192.0.2.20 0e:00:00:00:00:02");
  ASSERT_EQ(dual.routed().size(), 1u);
  ASSERT_TRUE(dual.remove("node-2").ok());
  EXPECT_FALSE(dual.node_of(*Ipv6Prefix::parse("fd00:10:244:2::/64")));
  EXPECT_EQ(where_to("10.244.2.10"), "");
}

// flannel's kube manager misses a change of one family's annotations
// unless the other's changed too; here each is applied on its own.
TEST_F(NodeMirrorDualStackTest, AChangeInEitherFamilyIsAppliedOnItsOwn) {
  NodeSpec n = dual_stack_node(2);
  ASSERT_TRUE(dual.apply(n).ok());
  n.annotations["flannel.alpha.coreos.com/public-ipv6"] = "2001:db8::5";
  auto rec = dual.apply(n);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_EQ(rec->resource_version, 2u);
  EXPECT_EQ(rec->status.public_ipv6->str(), "2001:db8::5");
  EXPECT_EQ(rec->status.public_ip->str(), "192.0.2.20") << "IPv4 untouched";
  EXPECT_EQ(where_to("10.244.2.10"), "192.0.2.20 0e:00:00:00:00:02");
  n.annotations["flannel.alpha.coreos.com/public-ip"] = EngineFixture::node(3).public_ip.str();
  rec = dual.apply(n);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_EQ(where_to("10.244.2.10"), "192.0.2.21 0e:00:00:00:00:02");
  EXPECT_EQ(rec->status.public_ipv6->str(), "2001:db8::5") << "IPv6 untouched";
  EXPECT_TRUE(rec->status.routed_v6);
}

TEST_F(NodeMirrorDualStackTest, ANodeWithOnlyAnIpv4PublicIpIsNotRoutedForIpv6AndSaysWhy) {
  NodeSpec n = dual_stack_node(2);
  n.annotations.erase("flannel.alpha.coreos.com/public-ipv6");
  auto rec = dual.apply(n);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_TRUE(rec->status.routed);
  EXPECT_FALSE(rec->status.routed_v6);
  EXPECT_EQ(rec->status.reason_v6, "no flannel.alpha.coreos.com/public-ipv6 annotation");
  EXPECT_FALSE(dual.node_of(*Ipv6Prefix::parse("fd00:10:244:2::/64")));
  // Its IPv6 annotations arrive: the IPv6 route alone follows.
  rec = dual.apply(dual_stack_node(2));
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_TRUE(rec->status.routed_v6);
  EXPECT_EQ(*dual.node_of(*Ipv6Prefix::parse("fd00:10:244:2::/64")), "node-2");

  const auto reason_v6 = [&](NodeSpec node) {
    auto r = dual.apply(node);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r->status.reason_v6 : "";
  };
  NodeSpec no_v6_cidr = dual_stack_node(3);
  no_v6_cidr.pod_cidrs.pop_back();
  EXPECT_EQ(reason_v6(no_v6_cidr), "no IPv6 podCIDR");
  NodeSpec no_v6_mac = dual_stack_node(4);
  no_v6_mac.annotations.erase("flannel.alpha.coreos.com/backend-v6-data");
  EXPECT_EQ(reason_v6(no_v6_mac), "no VtepMAC in flannel.alpha.coreos.com/backend-v6-data");
  // Without IPv6 on, a mirror says nothing of the IPv6 side.
  auto v4_only = mirror.apply(dual_stack_node(5));
  ASSERT_TRUE(v4_only.ok());
  EXPECT_FALSE(v4_only->status.routed_v6);
  EXPECT_EQ(v4_only->status.reason_v6, "");
}

TEST_F(NodeMirrorDualStackTest, BadIpv6PodCidrsAndAnnotationsAreRefusedNamingTheField) {
  ASSERT_TRUE(dual.apply(dual_stack_node(2)).ok());
  NodeSpec outside = dual_stack_node(3);
  outside.pod_cidrs.back() = "fd00:99::/64";
  EXPECT_EQ(dual.apply(outside).status().message(),
            "pod_cidrs: fd00:99::/64 is outside the cluster IPv6 network fd00:10:244::/56");
  NodeSpec overlapping = dual_stack_node(3);
  overlapping.pod_cidrs.back() = "fd00:10:244:2:8000::/65";
  EXPECT_EQ(dual.apply(overlapping).status().message(),
            "pod_cidrs: fd00:10:244:2:8000::/65 overlaps the podCIDR of node 'node-2'");
  NodeSpec ours = dual_stack_node(3);
  ours.pod_cidrs.back() = "fd00:10:244:1::/64";
  EXPECT_EQ(dual.apply(ours).status().message(),
            "pod_cidrs: fd00:10:244:1::/64 overlaps our own podCIDR fd00:10:244:1::/64");
  NodeSpec bad_ip = dual_stack_node(3);
  bad_ip.annotations["flannel.alpha.coreos.com/public-ipv6"] = "192.0.2.21";
  EXPECT_EQ(dual.apply(bad_ip).status().message(),
            "annotations[flannel.alpha.coreos.com/public-ipv6]: '192.0.2.21' is not an IPv6 "
            "address");
  EXPECT_FALSE(dual.get("node-3")) << "nothing applied";
  // A source's node (kept) keeps its IPv4 route and says what is wrong
  // with its IPv6 side.
  auto kept = dual.keep(bad_ip);
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  EXPECT_TRUE(kept->status.routed);
  EXPECT_FALSE(kept->status.routed_v6);
  EXPECT_EQ(kept->status.reason_v6,
            "annotations[flannel.alpha.coreos.com/public-ipv6]: '192.0.2.21' is not an IPv6 "
            "address");
  // Our own IPv6 lease may not take a node's.
  EXPECT_EQ(
      dual.set_local_subnets({fx.self().subnet, *Ipv6Prefix::parse("fd00:10:244::/62")}).message(),
      "pod_cidr_v6: fd00:10:244::/62 overlaps the podCIDR of node 'node-2'");
}

// The wireguard backend: a node's backend-data names its PublicKey and,
// since flannel v0.26.6, its Port.
class NodeMirrorWireguardTest : public NodeMirrorTest {
 protected:
  static MirrorSettings wireguard_settings() {
    MirrorSettings s = settings();
    s.backend = BackendType::kWireguard;
    return s;
  }
  NodeMirrorWireguardTest()
      : NodeMirrorTest(testing::FixtureOptions{.backend = BackendType::kWireguard}),
        wg(wireguard_settings(), fx.engine()) {
    EXPECT_TRUE(wg.set_local_subnets({fx.self().subnet, std::nullopt}).ok());
  }
  // The outer UDP destination port of a pod packet to node 2 (a session
  // installed for its next hop first), or 0 if nothing left.
  uint16_t port_to_node2() {
    fx.add_wireguard_keypair(2, wireguard::Key{1}, wireguard::Key{2}, 7);
    const auto out = fx.from_overlay({fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"))});
    if (out.size() != 1) return 0;
    const size_t dst_port = kEthLen + kIpv4Len + 2;
    return static_cast<uint16_t>(out[0][dst_port] << 8 | out[0][dst_port + 1]);
  }
  NodeMirror wg;
};

TEST_F(NodeMirrorWireguardTest, ANodesPortIsWhereItsPacketsGoAndAChangeOfItIsFollowed) {
  const std::string key = R"({"PublicKey":"qPRBXaa0jqqVhFx/0XEOEeK9hn3MVHRTuwGx5bN3SXs=")";
  NodeSpec n = flannel_node(2);
  n.annotations["flannel.alpha.coreos.com/backend-type"] = "wireguard";
  n.annotations["flannel.alpha.coreos.com/backend-data"] = key + R"(,"Port":51999})";
  auto rec = wg.apply(n);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_TRUE(rec->status.routed) << rec->status.reason;
  EXPECT_EQ(rec->status.wireguard_port, 51999);
  EXPECT_EQ(port_to_node2(), 51999);
  // The node names no Port any more (flannel before v0.26.6): ours.
  n.annotations["flannel.alpha.coreos.com/backend-data"] = key + "}";
  rec = wg.apply(n);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_EQ(rec->resource_version, 2u);
  EXPECT_EQ(rec->status.wireguard_port, 0);
  EXPECT_EQ(port_to_node2(), testing::kWireguardPort);
}

// flannel's one-device wireguard modes: a node is one peer, at the address
// of the family the mode picks, and both families' routes go to it.
class NodeMirrorOneDeviceWireguardTest : public NodeMirrorTest {
 protected:
  static MirrorSettings one_device_settings(WireguardMode mode) {
    MirrorSettings s = settings();
    s.backend = BackendType::kWireguard;
    s.ipv6_network = *Ipv6Prefix::parse("fd00:10:244::/56");
    s.wireguard.mode = mode;
    return s;
  }
  NodeMirrorOneDeviceWireguardTest()
      : NodeMirrorTest(testing::FixtureOptions{
            .backend = BackendType::kWireguard, .wireguard_one_device = true, .ipv6 = true}) {}
  // A mirror of `mode` with our podCIDRs.
  std::unique_ptr<NodeMirror> mirror_of(WireguardMode mode) {
    auto m = std::make_unique<NodeMirror>(one_device_settings(mode), fx.engine());
    EXPECT_TRUE(
        m->set_local_subnets({fx.self().subnet, *Ipv6Prefix::parse("fd00:10:244:1::/64")}).ok());
    return m;
  }
  // Node i as a flanneld in a one-device mode writes it: one key, and
  // backend-v6-data announcing ListenPortV6 although flannel-wg listens on
  // ListenPort.
  static NodeSpec node(int i) {
    NodeSpec n = dual_stack_node(i);
    n.annotations["flannel.alpha.coreos.com/backend-type"] = "wireguard";
    n.annotations["flannel.alpha.coreos.com/backend-data"] = kKey + R"(,"Port":51820})";
    n.annotations["flannel.alpha.coreos.com/backend-v6-data"] = kKey + R"(,"Port":51821})";
    return n;
  }
  static inline const std::string kKey =
      R"({"PublicKey":"qPRBXaa0jqqVhFx/0XEOEeK9hn3MVHRTuwGx5bN3SXs=")";

  template <class View, class Prefix>
  static View route(const std::vector<View>& routes, const char* prefix) {
    for (const View& v : routes) {
      if (v.prefix == *Prefix::parse(prefix)) return v;
    }
    ADD_FAILURE() << "no route " << prefix;
    return {};
  }
  RouteView route4(const char* p) { return route<RouteView, Ipv4Prefix>(fx.engine().routes(), p); }
  Route6View route6(const char* p) {
    return route<Route6View, Ipv6Prefix>(fx.engine().routes6(), p);
  }
};

TEST_F(NodeMirrorOneDeviceWireguardTest, ModeIpv4SendsBothFamiliesToTheNodesIpv4Peer) {
  auto m = mirror_of(WireguardMode::kIpv4);
  auto rec = m->apply(node(2));
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_TRUE(rec->status.routed) << rec->status.reason;
  EXPECT_TRUE(rec->status.routed_v6) << rec->status.reason_v6;
  EXPECT_EQ(rec->status.one_peer_over_ipv6, false);
  const Route6View v6 = route6("fd00:10:244:2::/64");
  EXPECT_EQ(v6.other_public_ip, EngineFixture::node(2).public_ip);
  EXPECT_EQ(v6.next_hop_id, route4("10.244.2.0/24").next_hop_id);
  const auto peers = wireguard_peers_of(rec->status);
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].public_ip, IpAddr{EngineFixture::node(2).public_ip});
  EXPECT_EQ(peers[0].port, 51820);
  EXPECT_FALSE(peers[0].v6_device);
  // The node's IPv4 address moves: its IPv6 route follows.
  NodeSpec moved = node(2);
  moved.annotations["flannel.alpha.coreos.com/public-ip"] = EngineFixture::node(3).public_ip.str();
  ASSERT_TRUE(m->apply(moved).ok());
  EXPECT_EQ(route6("fd00:10:244:2::/64").other_public_ip, EngineFixture::node(3).public_ip);
}

TEST_F(NodeMirrorOneDeviceWireguardTest, ModeIpv6SendsBothFamiliesToTheNodesIpv6PeerAtItsV6Port) {
  auto m = mirror_of(WireguardMode::kIpv6);
  auto rec = m->apply(node(2));
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_TRUE(rec->status.routed) << rec->status.reason;
  EXPECT_TRUE(rec->status.routed_v6) << rec->status.reason_v6;
  const RouteView v4 = route4("10.244.2.0/24");
  EXPECT_EQ(v4.other_public_ip, *Ipv6Addr::parse("2001:db8::2"));
  EXPECT_EQ(v4.next_hop_id, route6("fd00:10:244:2::/64").next_hop_id);
  const auto peers = wireguard_peers_of(rec->status);
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].public_ip, IpAddr{*Ipv6Addr::parse("2001:db8::2")});
  EXPECT_EQ(peers[0].port, 51821) << "what backend-v6-data announces, as flanneld sends to";
  // The node announces another IPv6 Port: its IPv4 route, which goes to
  // that peer, follows with the IPv6 one.
  const uint32_t before = route4("10.244.2.0/24").next_hop_id;
  NodeSpec other_port = node(2);
  other_port.annotations["flannel.alpha.coreos.com/backend-v6-data"] = kKey + R"(,"Port":51999})";
  rec = m->apply(other_port);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_EQ(wireguard_peers_of(rec->status)[0].port, 51999);
  EXPECT_NE(route4("10.244.2.0/24").next_hop_id, before);
  EXPECT_EQ(route4("10.244.2.0/24").next_hop_id, route6("fd00:10:244:2::/64").next_hop_id);
  // Without a public IPv6 the node has no peer: neither family is routed.
  NodeSpec v4_only = node(3);
  v4_only.annotations.erase("flannel.alpha.coreos.com/public-ipv6");
  rec = m->apply(v4_only);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_FALSE(rec->status.routed);
  EXPECT_EQ(rec->status.reason, "no flannel.alpha.coreos.com/public-ipv6 annotation");
  EXPECT_FALSE(rec->status.routed_v6);
  EXPECT_TRUE(wireguard_peers_of(rec->status).empty());
}

TEST_F(NodeMirrorOneDeviceWireguardTest, InASingleStackClusterTheModePicksNothing) {
  MirrorSettings ipv4_only = one_device_settings(WireguardMode::kIpv6);
  ipv4_only.ipv6_network.reset();
  NodeMirror m(ipv4_only, fx.engine());
  ASSERT_TRUE(m.set_local_subnets({fx.self().subnet, std::nullopt}).ok());
  auto rec = m.apply(node(2));
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_TRUE(rec->status.routed) << rec->status.reason;
  EXPECT_EQ(rec->status.one_peer_over_ipv6, std::nullopt);
  EXPECT_EQ(route4("10.244.2.0/24").public_ip, EngineFixture::node(2).public_ip);
  const auto peers = wireguard_peers_of(rec->status);
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].public_ip, IpAddr{EngineFixture::node(2).public_ip});
}

}  // namespace
}  // namespace tartan
