// wireguard's one-device modes (flannel's auto, ipv4 and ipv6): a route of
// one family sealed behind the other family's underlay (RouteSpecOf's
// cross_ip) goes to that family's next hop, so a node's one peer, one
// session slot, carries both families' pods; the next hop lives while a
// route of either family uses it, and a bad cross route is refused by name.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "engine/wireguard/chacha_poly.h"
#include "engine/wireguard/messages.h"
#include "tests/support/engine_fixture.h"

namespace tartan {
namespace {

using testing::Bytes;
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

// flannel's auto can reach one node over IPv4 and another over IPv6: one
// burst of IPv4 pod packets then leaves behind both underlays.
TEST(CrossFamilyRoutes, AMixedBurstIsSealedBehindEachNextHopsFamilyInOrder) {
  EngineFixture fx(one_device());
  fx.add_node(2);
  fx.add_node6(3);
  TableDelta d;
  d.upsert_routes.push_back(ipv4_route_over_ipv6(fx, 3));
  ASSERT_TRUE(fx.engine().apply(d).ok());
  wireguard::Key to2, to3, unused;
  to2.fill(0x22);
  to3.fill(0x33);
  unused.fill(0x44);
  constexpr uint32_t kIndex2 = 0x200, kIndex3 = 0x300;
  fx.add_wireguard_keypair(2, to2, unused, kIndex2);
  fx.add_wireguard_keypair6(3, to3, unused, kIndex3);

  const int order[] = {2, 3, 3, 2, 3, 2, 2, 3};
  std::vector<Bytes> frames;
  for (int node : order) {
    frames.push_back(fx.pod_frame(Ipv4Addr{EngineFixture::node(node).subnet.addr.value + 7}));
  }
  const std::vector<Bytes> sent = fx.from_overlay(frames);
  ASSERT_EQ(sent.size(), std::size(order));
  auto aead = wireguard::ChaChaPoly::create();
  ASSERT_TRUE(aead);
  uint64_t next_counter[2] = {0, 0};  // node 2's (IPv4), node 3's (IPv6)
  for (const Bytes& out : sent) {
    const bool over_ipv6 = out[12] == 0x86 && out[13] == 0xdd;
    SCOPED_TRACE(over_ipv6 ? "over IPv6" : "over IPv4");
    size_t message = kEthLen + kIpv4Len + kUdpLen;
    if (over_ipv6) {
      message = kEthLen + kIpv6HeaderLen + kUdpLen;
      Ipv6Addr dst;
      std::memcpy(dst.bytes.data(), out.data() + kEthLen + 24, 16);
      EXPECT_EQ(dst, EngineFixture::node6(3).public_ip);
    } else {
      ASSERT_TRUE(out[12] == 0x08 && out[13] == 0x00);
      const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(out.data() + kEthLen);
      EXPECT_EQ(ip->dst_addr, EngineFixture::node(2).public_ip.be());
    }
    ASSERT_GT(out.size(), message + 16 + 16);
    const uint8_t* msg = out.data() + message;
    EXPECT_EQ(wireguard::load_le32(msg + 4), over_ipv6 ? kIndex3 : kIndex2);
    // Each family's packets leave in the order they came, under counters
    // taken in that order.
    EXPECT_EQ(wireguard::load_le64(msg + 8), next_counter[over_ipv6]++);
    const size_t sealed = out.size() - message - 16;
    Bytes plain(sealed - 16);
    ASSERT_TRUE(aead->open(over_ipv6 ? to3 : to2, wireguard::load_le64(msg + 8), {}, msg + 16,
                           sealed, plain.data()));
    const Ipv4Addr pod{EngineFixture::node(over_ipv6 ? 3 : 2).subnet.addr.value + 7};
    EXPECT_EQ(reinterpret_cast<const rte_ipv4_hdr*>(plain.data())->dst_addr, pod.be());
  }
  EXPECT_EQ(next_counter[0], 4u);
  EXPECT_EQ(next_counter[1], 4u);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

TEST(CrossFamilyRoutes, ABadCrossRouteIsRefusedByNameAndChangesNothing) {
  const std::string kOnlyOneDevice =
      "route fd00:10:244:2::/64: cross_ip: only wireguard's one-device modes (Mode auto, ipv4, "
      "ipv6) seal a family's pods behind the other's underlay";
  struct Case {
    const char* name;
    FixtureOptions options;
    bool ipv4_route_first;  // node 2's IPv4 route is there before the change
    std::function<void(const EngineFixture&, TableDelta&)> delta;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"not wireguard", one_device(BackendType::kVxlan), false,
       [](const EngineFixture& fx, TableDelta& d) {
         d.upsert_routes6.push_back(ipv6_route_over_ipv4(fx, 2));
       },
       kOnlyOneDevice},
      {"wireguard's Mode separate",
       {.backend = BackendType::kWireguard, .ipv6 = true},
       false,
       [](const EngineFixture& fx, TableDelta& d) {
         d.upsert_routes6.push_back(ipv6_route_over_ipv4(fx, 2));
       },
       kOnlyOneDevice},
      {"our own address", one_device(), false,
       [](const EngineFixture& fx, TableDelta& d) {
         Route6Spec r = ipv6_route_over_ipv4(fx, 2);
         r.cross_ip = fx.self().public_ip;
         d.upsert_routes6.push_back(r);
       },
       "route fd00:10:244:2::/64: cross_ip: 192.0.2.19 is our own address"},
      {"another port than the node's own route in one change", one_device(), false,
       [](const EngineFixture& fx, TableDelta& d) {
         d.upsert_routes.push_back(fx.route_to(2));
         Route6Spec r = ipv6_route_over_ipv4(fx, 2);
         r.peer_port = 5000;
         d.upsert_routes6.push_back(r);
       },
       "route fd00:10:244:2::/64: cross_ip: 192.0.2.20 is given with two different ports in one "
       "change"},
      {"another port than the node's own route", one_device(), true,
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
    EngineFixture fx(c.options);
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
