// The engine's table API: every change validated first and applied all or
// nothing; replacements and node re-creation take effect.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/engine_fixture.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;

// routes() rendered for comparison.
std::string dump(Engine& e) {
  std::string out;
  for (const RouteView& r : e.routes()) {
    out += r.prefix.str() + " " + next_hop_kind_name(r.kind) + " " + r.public_ip.str() + " " +
           r.vtep_mac.str() + "\n";
  }
  return out;
}

Bytes outer_dst_ip(const Bytes& frame) {
  return Bytes(frame.begin() + 30, frame.begin() + 34);
}
Bytes ip_bytes(Ipv4Addr a) {
  return Bytes{uint8_t(a.value >> 24), uint8_t(a.value >> 16), uint8_t(a.value >> 8),
               uint8_t(a.value)};
}

struct BadDelta {
  const char* name;
  std::function<TableDelta()> delta;
  ErrorCode code;
  const char* message;
};

class RejectedDeltas : public ::testing::TestWithParam<BadDelta> {};

TEST_P(RejectedDeltas, ChangeNothingAndSayWhy) {
  EngineFixture fx;
  fx.add_node(2);
  fx.add_node(3);
  const std::string before = dump(fx.engine());
  const Status s = fx.engine().apply(GetParam().delta());
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), GetParam().code);
  EXPECT_EQ(s.message(), GetParam().message);
  EXPECT_EQ(dump(fx.engine()), before);
  // Traffic still flows as before.
  EXPECT_EQ(fx.from_overlay({fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"))}).size(), 1u);
}

RouteSpec spec(int node) {
  const auto n = EngineFixture::node(node);
  return {n.subnet, n.public_ip, n.vtep_mac, BackendType::kVxlan, 1};
}

const BadDelta kBad[] = {
    {"wrong_vni",
     [] {
       RouteSpec r = spec(4);
       r.vni = 7;
       return TableDelta{{r}, {}, {}, {}};
     },
     ErrorCode::kInvalidArgument, "route 10.244.4.0/24: vni: 7 differs from ours (1)"},
    {"wrong_backend",
     [] {
       RouteSpec r = spec(4);
       r.backend = BackendType::kUdp;
       return TableDelta{{r}, {}, {}, {}};
     },
     ErrorCode::kInvalidArgument,
     "route 10.244.4.0/24: backend: udp node, but this node runs vxlan"},
    {"multicast_vtep_mac",
     [] {
       RouteSpec r = spec(4);
       r.vtep_mac = *MacAddr::parse("01:00:5e:00:00:01");
       return TableDelta{{r}, {}, {}, {}};
     },
     ErrorCode::kInvalidArgument,
     "route 10.244.4.0/24: vtep_mac: 01:00:5e:00:00:01 is not a unicast MAC"},
    {"our_own_public_ip",
     [] {
       RouteSpec r = spec(4);
       r.public_ip = EngineFixture::node(1).public_ip;
       return TableDelta{{r}, {}, {}, {}};
     },
     ErrorCode::kInvalidArgument, "route 10.244.4.0/24: public_ip: 192.0.2.19 is our own address"},
    {"overlaps_our_podcidr",
     [] {
       RouteSpec r = spec(4);
       r.prefix = *Ipv4Prefix::parse("10.244.1.128/25");
       return TableDelta{{r}, {}, {}, {}};
     },
     ErrorCode::kInvalidArgument,
     "route 10.244.1.128/25: prefix: overlaps our own podCIDR 10.244.1.0/24"},
    {"remove_unknown",
     [] {
       return TableDelta{{}, {*Ipv4Prefix::parse("10.244.9.0/24")}, {}, {}};
     },
     ErrorCode::kNotFound, "route 10.244.9.0/24: no such route to remove"},
    {"given_twice",
     [] {
       return TableDelta{{spec(4), spec(4)}, {}, {}, {}};
     },
     ErrorCode::kInvalidArgument, "route 10.244.4.0/24: given twice in one change"},
    {"removed_and_added",
     [] {
       return TableDelta{{spec(3)}, {spec(3).prefix}, {}, {}};
     },
     ErrorCode::kInvalidArgument, "route 10.244.3.0/24: both removed and added in one change"},
    {"public_ip_of_another_vtep",
     [] {
       RouteSpec r = spec(4);
       r.public_ip = EngineFixture::node(2).public_ip;
       return TableDelta{{r}, {}, {}, {}};
     },
     ErrorCode::kInvalidArgument,
     "public_ip 192.0.2.20: already the VTEP of other routes with VtepMAC 0e:00:00:00:00:02; "
     "change or remove those "
     "routes in the same change"},
    {"neighbour_off_subnet",
     [] {
       return TableDelta{.set_neighbours = {
                             {*Ipv4Addr::parse("10.0.0.1"), *MacAddr::parse("02:00:00:00:00:01")}}};
     },
     ErrorCode::kInvalidArgument, "neighbour 10.0.0.1: not on the underlay subnet 192.0.2.0/24"},
    {"remove_unknown_neighbour",
     [] { return TableDelta{.remove_neighbours = {*Ipv4Addr::parse("192.0.2.99")}}; },
     ErrorCode::kNotFound, "neighbour 192.0.2.99: no such static neighbour"},
    // A valid route first, so an all-or-nothing failure has something to undo.
    {"valid_then_invalid",
     [] {
       RouteSpec bad = spec(5);
       bad.vni = 9;
       return TableDelta{{spec(4), bad}, {spec(3).prefix}, {}, {}};
     },
     ErrorCode::kInvalidArgument, "route 10.244.5.0/24: vni: 9 differs from ours (1)"},
};

INSTANTIATE_TEST_SUITE_P(Validation, RejectedDeltas, ::testing::ValuesIn(kBad),
                         [](const ::testing::TestParamInfo<BadDelta>& info) {
                           return std::string(info.param.name);
                         });

TEST(Tables, FailureWhileApplyingRollsEverythingBack) {
  // The fixture's LPM has 64 groups for prefixes longer than /24: the 65th
  // /25 in its own /24 fails during apply, after 64 were added.
  EngineFixture fx;
  fx.add_node(2);
  const std::string before = dump(fx.engine());
  TableDelta d;
  for (int i = 0; i < 65; ++i) {
    RouteSpec r = spec(3);
    r.prefix =
        Ipv4Prefix{Ipv4Addr{(10u << 24) | (245u << 16) | (static_cast<uint32_t>(i) << 8)}, 25};
    d.upsert_routes.push_back(r);
  }
  d.remove_routes.push_back(spec(2).prefix);
  const Status s = fx.engine().apply(d);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(s.message(),
            "route 10.245.64.0/25: no LPM group left for a prefix longer than /24 "
            "(dataplane.lpm_tbl8_groups)");
  EXPECT_EQ(dump(fx.engine()), before);
  EXPECT_EQ(fx.from_overlay({fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"))}).size(), 1u);
  EXPECT_TRUE(fx.from_overlay({fx.pod_frame(*Ipv4Addr::parse("10.245.0.10"))}).empty());
  // And the groups the failed change took are free again.
  d.upsert_routes.resize(64);
  d.remove_routes.clear();
  EXPECT_TRUE(fx.engine().apply(d).ok());
}

TEST(Tables, RouteLimitIsEnforced) {
  EngineFixture fx({.max_routes = 16});
  TableDelta d;
  for (int i = 2; i < 19; ++i) d.upsert_routes.push_back(spec(i));
  const Status s = fx.engine().apply(d);
  EXPECT_EQ(s.code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "route table full: 16 routes (dataplane.max_routes)");
  EXPECT_EQ(fx.engine().routes().size(), 1u) << "only our own podCIDR";
}

// Each engine's tables name their DPDK objects apart, however many are
// alive at once (a name DPDK cuts short would collide: "File exists").
// Five: each engine's IPv4 route table takes 64 MiB of the tests' 512.
TEST(Tables, SeveralDualStackEnginesLiveSideBySide) {
  std::vector<std::unique_ptr<EngineFixture>> engines;
  for (int i = 0; i < 5; ++i) {
    ASSERT_NO_THROW(engines.push_back(
        std::make_unique<EngineFixture>(testing::FixtureOptions{.self = 1 + i % 2, .ipv6 = true})))
        << "engine " << i;
  }
  for (auto& fx : engines) {
    fx->add_node(3);
    fx->add_node6(3);
    EXPECT_EQ(fx->engine().routes().size(), 2u) << "node 3's and our own podCIDR";
    EXPECT_EQ(fx->engine().routes6().size(), 2u);
  }
}

TEST(Tables, ReplacingARouteRepointsItsTraffic) {
  EngineFixture fx;
  fx.add_node(2);
  fx.add_node(3);
  const Ipv4Addr dst = *Ipv4Addr::parse("10.244.2.10");
  ASSERT_EQ(outer_dst_ip(fx.from_overlay({fx.pod_frame(dst)}).at(0)),
            ip_bytes(EngineFixture::node(2).public_ip));
  RouteSpec moved = spec(3);
  moved.prefix = spec(2).prefix;  // node 3 now owns 10.244.2.0/24 too
  ASSERT_TRUE(fx.engine().apply({{moved}, {}, {}, {}}).ok());
  EXPECT_EQ(outer_dst_ip(fx.from_overlay({fx.pod_frame(dst)}).at(0)),
            ip_bytes(EngineFixture::node(3).public_ip));
}

TEST(Tables, NodeRecreatedWithANewVtepMacInOneChange) {
  EngineFixture fx;
  fx.add_node(2);
  RouteSpec again = spec(2);
  again.vtep_mac = *MacAddr::parse("0e:00:00:00:99:02");
  again.prefix = *Ipv4Prefix::parse("10.244.42.0/24");
  ASSERT_TRUE(fx.engine().apply({{again}, {spec(2).prefix}, {}, {}}).ok());
  const auto out = fx.from_overlay({fx.pod_frame(*Ipv4Addr::parse("10.244.42.1"))});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Bytes(out[0].begin() + 50, out[0].begin() + 56),
            Bytes(again.vtep_mac.bytes.begin(), again.vtep_mac.bytes.end()));
  // The node's VXLAN is still accepted: same public IP, new next hop.
  EXPECT_EQ(fx.from_underlay({fx.vxlan_from(2, fx.pod_ip())}).size(), 1u);
}

TEST(Tables, RemovedNodeIsNoLongerRoutedNorAccepted) {
  EngineFixture fx;
  fx.add_node(2);
  ASSERT_TRUE(fx.engine().apply({{}, {spec(2).prefix}, {}, {}}).ok());
  EXPECT_TRUE(fx.from_overlay({fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"))}).empty());
  EXPECT_EQ(fx.drops(DropReason::kNoRoute), 1u);
  EXPECT_TRUE(fx.from_underlay({fx.vxlan_from(2, fx.pod_ip())}).empty());
  EXPECT_EQ(fx.drops(DropReason::kUnknownSender), 1u);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

// The sender table is a cuckoo hash: filled up to the route limit it must
// still take every node, or some node's tunnel traffic is dropped as if it
// came from a stranger.
TEST(Tables, EveryNodeUpToTheRouteLimitIsAcceptedAsATunnelSender) {
  EngineFixture fx({.max_routes = 255});
  TableDelta d;
  std::vector<Bytes> frames;
  for (int i = 2; i < 256; ++i) {
    d.upsert_routes.push_back(spec(i));
    frames.push_back(fx.vxlan_from(i, fx.pod_ip()));
  }
  ASSERT_TRUE(fx.engine().apply(d).ok());
  size_t delivered = 0;
  for (size_t i = 0; i < frames.size(); i += 32) {
    const size_t end = std::min(frames.size(), i + 32);
    delivered += fx.from_underlay({frames.begin() + i, frames.begin() + end}).size();
  }
  EXPECT_EQ(delivered, frames.size());
  EXPECT_EQ(fx.drops(DropReason::kUnknownSender), 0u);
  fx.take_underlay();  // the ARP requests for the new nodes' underlay MACs
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

TEST(Tables, RoutesViewShowsNextHopsAndNeighbours) {
  EngineFixture fx;
  fx.add_node(2);
  fx.add_node(200);
  const auto routes = fx.engine().routes();
  ASSERT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes[0].prefix.str(), "10.244.1.0/24");
  EXPECT_EQ(routes[0].kind, NextHopKind::kLocal);
  EXPECT_EQ(routes[0].out_port, "overlay0");
  EXPECT_EQ(routes[1].prefix.str(), "10.244.2.0/24");
  EXPECT_EQ(routes[1].via->str(), "192.0.2.20");
  EXPECT_EQ(routes[1].via_mac->str(), "02:00:00:00:0b:02");
  EXPECT_EQ(routes[2].prefix.str(), "10.244.200.0/24");
  EXPECT_EQ(routes[2].public_ip.str(), "198.51.100.200");
  EXPECT_EQ(routes[2].via->str(), "192.0.2.1");
}

TEST(Tables, PerNodeCountersCountBothDirectionsAndRestartForANewNode) {
  EngineFixture fx;
  fx.add_node(2);
  fx.from_overlay({fx.pod_frame(*Ipv4Addr::parse("10.244.2.10")),
                   fx.pod_frame(*Ipv4Addr::parse("10.244.2.11"))});
  fx.from_underlay({fx.vxlan_from(2, fx.pod_ip())});
  StatsSnapshot s = fx.engine().stats();
  ASSERT_EQ(s.peers.size(), 1u);
  EXPECT_EQ(s.peers[0].public_ip.str(), "192.0.2.20");
  EXPECT_EQ(s.peers[0].encap_packets, 2u);
  EXPECT_EQ(s.peers[0].encap_bytes, 2u * 110);
  EXPECT_EQ(s.peers[0].decap_packets, 1u);
  EXPECT_EQ(s.peers[0].decap_bytes, 60u);
  // Gone and back: a fresh start, even if the slot is reused.
  ASSERT_TRUE(fx.engine().apply({{}, {spec(2).prefix}, {}, {}}).ok());
  fx.poll(2);
  ASSERT_TRUE(fx.engine().apply({{spec(2)}, {}, {}, {}}).ok());
  s = fx.engine().stats();
  ASSERT_EQ(s.peers.size(), 1u);
  EXPECT_EQ(s.peers[0].encap_packets, 0u);
  EXPECT_EQ(s.peers[0].decap_packets, 0u);
}

}  // namespace
}  // namespace tartan
