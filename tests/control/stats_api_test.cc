// The Stats API's answer stays bounded however many remote nodes have
// counters: the busiest peers by name, the rest summed (GetStatsRequest's
// max_peers, tartanctl stats --peers).
#include <gtest/gtest.h>

#include "control/api/stats_service.h"
#include "control/config/config.h"

namespace tartan {
namespace {

PeerStats peer(uint32_t ip, uint64_t encap, uint64_t decap) {
  PeerStats p;
  p.public_ip = Ipv4Addr{ip};
  p.encap_packets = encap, p.encap_bytes = encap * 100;
  p.decap_packets = decap, p.decap_bytes = decap * 64;
  return p;
}

TEST(StatsApi, TheBusiestPeersAreListedFirstAndTheRestSummedAsOthers) {
  StatsSnapshot s;
  const uint32_t base = Ipv4Addr::parse("192.0.2.0")->value;
  s.peers = {peer(base + 1, 10, 0), peer(base + 2, 500, 1), peer(base + 3, 1, 1),
             peer(base + 4, 0, 40), peer(base + 5, 2, 0)};
  PeerStats v6 = peer(0, 7, 7);
  v6.public_ip6 = *Ipv6Addr::parse("2001:db8::5");
  s.peers.push_back(v6);

  v1::StatsSnapshot out;
  fill_stats(s, 2, &out);
  ASSERT_EQ(out.peers_size(), 2);
  EXPECT_EQ(out.peers(0).public_ip(), "192.0.2.2");
  EXPECT_EQ(out.peers(1).public_ip(), "192.0.2.4");
  EXPECT_EQ(out.other_peer_count(), 4u);
  // 192.0.2.1, .3, .5 and 2001:db8::5 together.
  EXPECT_EQ(out.other_peers().encap_packets(), 10u + 1 + 2 + 7);
  EXPECT_EQ(out.other_peers().encap_bytes(), (10u + 1 + 2 + 7) * 100);
  EXPECT_EQ(out.other_peers().decap_packets(), 0u + 1 + 0 + 7);
  EXPECT_EQ(out.other_peers().decap_bytes(), (0u + 1 + 0 + 7) * 64);
  EXPECT_EQ(out.other_peers().public_ip(), "");

  v1::StatsSnapshot all;
  fill_stats(s, 0, &all);
  EXPECT_EQ(all.peers_size(), 6);
  EXPECT_EQ(all.other_peer_count(), 0u);
  EXPECT_FALSE(all.has_other_peers());
  // By packets both ways: 2001:db8::5's 14 before 192.0.2.1's 10.
  EXPECT_EQ(all.peers(2).public_ip(), "2001:db8::5");
  EXPECT_EQ(all.peers(3).public_ip(), "192.0.2.1");
}

// What the bound is for: 100,000 dual-stack nodes that have carried
// traffic outgrow the largest message tartand sends by default (the perf
// suite's tartanctl stats failed so); the default 100 and the rest do not.
TEST(StatsApi, AHundredThousandDualStackPeersFitOneAnswerOnlyWhenBounded) {
  StatsSnapshot s;
  const uint32_t base = Ipv4Addr::parse("172.16.0.2")->value;
  Ipv6Addr base6 = *Ipv6Addr::parse("2001:db8:1::2");
  for (uint32_t i = 0; i < 100000; ++i) {
    // Ten million packets of 100 bytes each way: counters of a busy day.
    s.peers.push_back(peer(base + i, 10000000 + i, 10000000 + i));
    PeerStats v6 = peer(0, 10000000, 10000000);
    v6.public_ip6 = base6;
    base6.bytes[14] = static_cast<uint8_t>(i >> 8), base6.bytes[15] = static_cast<uint8_t>(i);
    base6.bytes[13] = static_cast<uint8_t>(i >> 16);
    s.peers.push_back(v6);
  }
  const size_t limit = ControlConfig{}.max_message_bytes;

  v1::StatsSnapshot all;
  fill_stats(s, 0, &all);
  EXPECT_GT(all.ByteSizeLong(), limit);

  v1::StatsSnapshot bounded;
  fill_stats(s, HttpConfig{}.metrics_peers, &bounded);
  EXPECT_LT(bounded.ByteSizeLong(), 64u * 1024);
  ASSERT_EQ(bounded.peers_size(), 100);
  EXPECT_EQ(bounded.peers(0).public_ip(), Ipv4Addr{base + 99999}.str());
  EXPECT_EQ(bounded.other_peer_count(), 199900u);
}

}  // namespace
}  // namespace tartan
