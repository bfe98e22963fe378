// wireguard's one-device modes (flannel's auto, ipv4 and ipv6): a route of
// one family sealed behind the other family's underlay (RouteSpecOf's
// cross_ip) goes to that family's next hop, so a node's one peer, one
// session slot, carries both families' pods; the next hop lives while a
// route of either family uses it, and a bad cross route is refused by name.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/engine_fixture.h"

namespace tartan {
namespace {

using testing::EngineFixture;
using testing::FixtureOptions;

FixtureOptions one_device(BackendType backend = BackendType::kWireguard) {
  return {.backend = backend, .wireguard_one_device = true, .ipv6 = true};
}

// Node i's IPv6 podCIDR sent to its public IPv4 (Mode ipv4).
Route6Spec ipv6_route_over_ipv4(const EngineFixture& fx, int i) {
  Route6Spec r = fx.route6_to(i);
  r.public_ip = {};
  r.cross_ip = EngineFixture::node(i).public_ip;
  return r;
}

// Node i's IPv4 podCIDR sent to its public IPv6 (Mode ipv6).
RouteSpec ipv4_route_over_ipv6(const EngineFixture& fx, int i) {
  RouteSpec r = fx.route_to(i);
  r.public_ip = {};
  r.cross_ip = EngineFixture::node6(i).public_ip;
  return r;
}

template <class View, class Prefix>
std::optional<View> route_of(const std::vector<View>& routes, const Prefix& prefix) {
  auto it =
      std::find_if(routes.begin(), routes.end(), [&](const View& v) { return v.prefix == prefix; });
  if (it == routes.end()) return std::nullopt;
  return *it;
}

size_t remote_next_hops(EngineFixture& fx) {
  return fx.engine().stats().peers.size();
}

TEST(CrossFamilyRoutes, AnIpv6RouteOverIpv4SharesTheNodesIpv4NextHop) {
  EngineFixture fx(one_device());
  fx.add_node(2);
  TableDelta d;
  d.upsert_routes6.push_back(ipv6_route_over_ipv4(fx, 2));
  ASSERT_TRUE(fx.engine().apply(d).ok());
  const auto v4 = route_of(fx.engine().routes(), EngineFixture::node(2).subnet);
  const auto v6 = route_of(fx.engine().routes6(), EngineFixture::node6(2).subnet);
  ASSERT_TRUE(v4 && v6);
  EXPECT_EQ(v6->next_hop_id, v4->next_hop_id);
  EXPECT_EQ(v6->kind, NextHopKind::kWireguard);
  EXPECT_EQ(v6->other_public_ip, EngineFixture::node(2).public_ip);
  EXPECT_EQ(v6->other_via, EngineFixture::node(2).public_ip) << "on link";
  EXPECT_EQ(remote_next_hops(fx), 1u) << "one peer for both families";
  EXPECT_TRUE(fx.engine().wireguard_peer(EngineFixture::node(2).public_ip).ok());
  EXPECT_FALSE(fx.engine().wireguard_peer(EngineFixture::node6(2).public_ip).ok());
}

TEST(CrossFamilyRoutes, AnIpv4RouteOverIpv6SharesTheNodesIpv6NextHop) {
  EngineFixture fx(one_device());
  fx.add_node6(2);
  TableDelta d;
  d.upsert_routes.push_back(ipv4_route_over_ipv6(fx, 2));
  ASSERT_TRUE(fx.engine().apply(d).ok());
  const auto v4 = route_of(fx.engine().routes(), EngineFixture::node(2).subnet);
  const auto v6 = route_of(fx.engine().routes6(), EngineFixture::node6(2).subnet);
  ASSERT_TRUE(v4 && v6);
  EXPECT_EQ(v4->next_hop_id, v6->next_hop_id);
  EXPECT_EQ(v4->other_public_ip, EngineFixture::node6(2).public_ip);
  EXPECT_EQ(remote_next_hops(fx), 1u);
  EXPECT_TRUE(fx.engine().wireguard_peer(EngineFixture::node6(2).public_ip).ok());
}

TEST(CrossFamilyRoutes, TheNextHopLivesUntilTheLastRouteOfEitherFamilyGoes) {
  EngineFixture fx(one_device());
  fx.add_node(2);
  TableDelta add;
  add.upsert_routes6.push_back(ipv6_route_over_ipv4(fx, 2));
  ASSERT_TRUE(fx.engine().apply(add).ok());
  const uint32_t id = route_of(fx.engine().routes(), EngineFixture::node(2).subnet)->next_hop_id;

  TableDelta drop_v4;
  drop_v4.remove_routes.push_back(EngineFixture::node(2).subnet);
  ASSERT_TRUE(fx.engine().apply(drop_v4).ok());
  const auto v6 = route_of(fx.engine().routes6(), EngineFixture::node6(2).subnet);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->next_hop_id, id);
  EXPECT_EQ(remote_next_hops(fx), 1u);

  TableDelta drop_v6;
  drop_v6.remove_routes6.push_back(EngineFixture::node6(2).subnet);
  ASSERT_TRUE(fx.engine().apply(drop_v6).ok());
  EXPECT_EQ(remote_next_hops(fx), 0u);
  EXPECT_FALSE(fx.engine().wireguard_peer(EngineFixture::node(2).public_ip).ok());
}

TEST(CrossFamilyRoutes, ABadCrossRouteIsRefusedByNameAndChangesNothing) {
  struct Case {
    const char* name;
    BackendType backend;
    bool ipv4_route_first;  // node 2's IPv4 route is there before the change
    std::function<void(const EngineFixture&, TableDelta&)> delta;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"not wireguard", BackendType::kVxlan, false,
       [](const EngineFixture& fx, TableDelta& d) {
         d.upsert_routes6.push_back(ipv6_route_over_ipv4(fx, 2));
       },
       "route fd00:10:244:2::/64: cross_ip: only wireguard seals a family's pods behind the "
       "other's underlay, not vxlan"},
      {"our own address", BackendType::kWireguard, false,
       [](const EngineFixture& fx, TableDelta& d) {
         Route6Spec r = ipv6_route_over_ipv4(fx, 2);
         r.cross_ip = fx.self().public_ip;
         d.upsert_routes6.push_back(r);
       },
       "route fd00:10:244:2::/64: cross_ip: 192.0.2.19 is our own address"},
      {"another port than the node's own route in one change", BackendType::kWireguard, false,
       [](const EngineFixture& fx, TableDelta& d) {
         d.upsert_routes.push_back(fx.route_to(2));
         Route6Spec r = ipv6_route_over_ipv4(fx, 2);
         r.peer_port = 5000;
         d.upsert_routes6.push_back(r);
       },
       "route fd00:10:244:2::/64: cross_ip: 192.0.2.20 is given with two different ports in one "
       "change"},
      {"another port than the node's own route", BackendType::kWireguard, true,
       [](const EngineFixture& fx, TableDelta& d) {
         Route6Spec r = ipv6_route_over_ipv4(fx, 2);
         r.peer_port = 5000;
         d.upsert_routes6.push_back(r);
       },
       "public_ip 192.0.2.20: already the VTEP of other routes with port 51820; change or "
       "remove those routes in the same change"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EngineFixture fx(one_device(c.backend));
    if (c.ipv4_route_first) fx.add_node(2);
    TableDelta d;
    c.delta(fx, d);
    const Status s = fx.engine().apply(d);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(s.message(), c.message);
    EXPECT_EQ(fx.engine().routes6().size(), 1u) << "only our own podCIDR";
    EXPECT_EQ(remote_next_hops(fx), c.ipv4_route_first ? 1u : 0u);
  }
}

}  // namespace
}  // namespace tartan
