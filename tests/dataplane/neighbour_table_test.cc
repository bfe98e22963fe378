// The neighbour table with both families in it: IPv6 neighbours resolved by
// neighbour solicitation (the same state machine as ARP: packets held and
// bounded, retries, giving up, refresh, static entries winning), one id
// space and one view for both, and every mbuf returned to its pool.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <variant>

#include "tests/dataplane/neighbour_fixture.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::kOurIp;
using testing::kOurIp6;
using testing::kOurMac;
using testing::kPeer4;
using testing::kPeer6;
using testing::kPeerMac;
using NeighbourTableBothFamilies = testing::NeighbourTableFixture;

// The solicitation RFC 4861 7.2.2 has us send for kPeer6, built by hand.
Bytes expected_solicit(const std::optional<MacAddr>& unicast) {
  testing::NdSpec s;
  s.src_mac = kOurMac;
  s.src_ip = kOurIp6;
  if (unicast) {
    s.dst_mac = *unicast;
    s.dst_ip = kPeer6;
  } else {
    s.dst_mac = *MacAddr::parse("33:33:ff:bc:de:02");
    s.dst_ip = *Ipv6Addr::parse("ff02::1:ffbc:de02");
  }
  s.type = 135;
  s.target = kPeer6;
  s.options = {testing::link_option(1, kOurMac)};
  return testing::nd_frame(s);
}

TEST_F(NeighbourTableBothFamilies, Ipv6NeighbourIsSolicitedAtItsSolicitedNodeAddress) {
  auto id = table_->acquire(kPeer6, 1000);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_TRUE(take().empty()) << "the first solicitation waits for the next tick";
  table_->tick(1000);
  const auto out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], expected_solicit(std::nullopt)) << testing::hex(out[0]);
  EXPECT_EQ(testing::icmp6_checksum(out[0]), (out[0][56] << 8) | out[0][57]);
  EXPECT_EQ(table_->counters().nd.requests_sent, 1u);
  EXPECT_EQ(table_->counters().arp.requests_sent, 0u);
  EXPECT_EQ(table_->find(kPeer6), *id);
  EXPECT_FALSE(table_->mac_of(*id).has_value());
  uint8_t mac[6];
  EXPECT_FALSE(adjacency_.lookup(*id, mac));
}

TEST_F(NeighbourTableBothFamilies, HeldPacketsAreBoundedRetriedThenDroppedWhenNobodyAnswers) {
  const uint32_t id = table_->acquire(kPeer6, 0).value();
  for (uint8_t i = 0; i < 5; ++i) table_->hold(id, waiting(i), 0);
  EXPECT_EQ(table_->held_packets(), 3u);
  EXPECT_EQ(table_->counters().dropped_queue_full, 2u);
  table_->tick(0);
  table_->tick(5);  // before retry_ms: nothing
  EXPECT_EQ(take().size(), 1u);
  table_->tick(10);
  EXPECT_EQ(take().size(), 1u) << "the retry";
  table_->tick(20);  // max_retries sent, no answer: give up on the held packets
  EXPECT_TRUE(take().empty());
  EXPECT_EQ(table_->held_packets(), 0u);
  EXPECT_EQ(table_->counters().dropped_unresolved, 3u);
  EXPECT_EQ(table_->counters().nd.requests_sent, 2u);
  // It keeps trying, at the refresh pace.
  table_->tick(20 + 5000);
  EXPECT_EQ(take().size(), 1u);
}

TEST_F(NeighbourTableBothFamilies, StaticIpv6NeighbourWinsWithoutSolicitingAndReleasesWhatWaited) {
  ASSERT_TRUE(table_->set_static(kPeer6, kPeerMac).ok());
  const uint32_t id = table_->acquire(kPeer6, 0).value();
  EXPECT_TRUE(table_->is_static(kPeer6));
  table_->tick(0);
  table_->tick(100000);
  EXPECT_TRUE(take().empty()) << "no solicitation for a static neighbour";
  uint8_t mac[6];
  ASSERT_TRUE(adjacency_.lookup(id, mac));
  EXPECT_TRUE(std::equal(mac, mac + 6, kPeerMac.bytes.begin()));
  table_->hold(id, waiting(7), 0);
  const auto out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Bytes(out[0].begin(), out[0].begin() + 6),
            Bytes(kPeerMac.bytes.begin(), kPeerMac.bytes.end()));
  EXPECT_EQ(out[0][6], 7);
  EXPECT_FALSE(table_->set_static(kPeer6, *MacAddr::parse("33:33:00:00:00:01")).ok());
}

TEST_F(NeighbourTableBothFamilies, Ipv6NeighbourResolvedBeforeIsRefreshedByUnicastSolicitation) {
  ASSERT_TRUE(table_->set_static(kPeer6, kPeerMac).ok());
  const uint32_t id = table_->acquire(kPeer6, 0).value();
  // No longer static but still used: the MAC is kept and checked at it
  // (RFC 4861 7.3.3's probe), not asked of every node.
  ASSERT_TRUE(table_->remove_static(kPeer6).ok());
  EXPECT_EQ(table_->mac_of(id), kPeerMac);
  table_->tick(1);
  const auto out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], expected_solicit(kPeerMac)) << testing::hex(out[0]);
  EXPECT_EQ(table_->remove_static(kPeer6).code(), ErrorCode::kNotFound);
  // Unanswered (the neighbour may have moved to another MAC): the next
  // refresh asks every node again, the MAC kept meanwhile.
  table_->tick(1 + 5000);
  const auto again = take();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0], expected_solicit(std::nullopt)) << testing::hex(again[0]);
  EXPECT_EQ(table_->mac_of(id), kPeerMac);
}

TEST_F(NeighbourTableBothFamilies, BothFamiliesShareIdsAndTheViewSaysWhich) {
  const uint32_t v4 = table_->acquire(kPeer4, 0).value();
  const uint32_t v6 = table_->acquire(kPeer6, 0).value();
  EXPECT_NE(v4, v6);
  EXPECT_EQ(table_->acquire(kPeer6, 0).value(), v6) << "a second user shares the entry";
  EXPECT_EQ(table_->ip_of(v4), kPeer4);
  EXPECT_EQ(std::get<Ipv6Addr>(table_->addr_of(v6)), kPeer6);
  EXPECT_EQ(to_string(table_->addr_of(v6)), "2001:db8:0:2::bc:de02");
  // The IPv4-mapped IPv6 address of kPeer4 is another neighbour.
  EXPECT_FALSE(table_->find(*Ipv6Addr::parse("::ffff:192.0.2.20")).has_value());
  table_->tick(0);
  const auto out = take();
  ASSERT_EQ(out.size(), 2u);
  const auto arp = std::count_if(out.begin(), out.end(),
                                 [](const Bytes& f) { return f[12] == 0x08 && f[13] == 0x06; });
  EXPECT_EQ(arp, 1);
  EXPECT_EQ(table_->counters().arp.requests_sent, 1u);
  EXPECT_EQ(table_->counters().nd.requests_sent, 1u);

  const auto view = table_->view();
  ASSERT_EQ(view.size(), 2u);
  for (const NeighbourView& v : view) {
    if (std::holds_alternative<Ipv4Addr>(v.addr)) {
      EXPECT_EQ(std::get<Ipv4Addr>(v.addr), kPeer4);
      EXPECT_EQ(v.references, 1u);
    } else {
      EXPECT_EQ(std::get<Ipv6Addr>(v.addr), kPeer6);
      EXPECT_EQ(v.references, 2u);
    }
    EXPECT_EQ(v.requests_sent, 1u);
  }
  table_->release(v6);
  EXPECT_TRUE(table_->find(kPeer6).has_value());
  table_->release(v6);
  EXPECT_FALSE(table_->find(kPeer6).has_value()) << "the last user gone";
  table_->release(v4);
  EXPECT_TRUE(table_->view().empty());
}

TEST_F(NeighbourTableBothFamilies, Ipv6NeighbourNeedsAnUnderlayIpv6Address) {
  make_table(false);
  auto id = table_->acquire(kPeer6, 0);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(id.status().message().find("2001:db8:0:2::bc:de02"), std::string::npos);
  table_->announce();
  const auto out = take();
  ASSERT_EQ(out.size(), 1u) << "a gratuitous ARP only";
  EXPECT_EQ(out[0][12], 0x08);
}

TEST_F(NeighbourTableBothFamilies, AnnounceSendsGratuitousArpAndAnUnsolicitedAdvertisement) {
  table_->announce();
  const auto out = take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], testing::arp_frame(1, *MacAddr::parse("ff:ff:ff:ff:ff:ff"), kOurMac, kOurIp,
                                       MacAddr{}, kOurIp));
  testing::NdSpec na;
  na.src_mac = kOurMac;
  na.dst_mac = *MacAddr::parse("33:33:00:00:00:01");
  na.src_ip = kOurIp6;
  na.dst_ip = *Ipv6Addr::parse("ff02::1");
  na.type = 136;
  na.flags = 0x20;  // override, not solicited
  na.target = kOurIp6;
  na.options = {testing::link_option(2, kOurMac)};
  EXPECT_EQ(out[1], testing::nd_frame(na)) << testing::hex(out[1]);
  EXPECT_EQ(table_->counters().nd.announcements, 1u);
  EXPECT_EQ(table_->counters().arp.announcements, 1u);
}

TEST_F(NeighbourTableBothFamilies, SolicitationThatCannotBeQueuedIsFreedAndRetried) {
  refuse_ = true;
  table_->acquire(kPeer6, 0).value();
  table_->tick(0);
  EXPECT_EQ(table_->counters().nd.requests_sent, 0u);
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u);
  refuse_ = false;
  table_->tick(10);
  EXPECT_EQ(take().size(), 1u);
}

}  // namespace
}  // namespace tartan
