// ARP on the underlay (answering for our public IP, resolving next hops
// with a bounded wait queue, retries and expiry) and proxy ARP on the overlay.
#include <gtest/gtest.h>

#include "tests/support/engine_fixture.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;

const MacAddr kBroadcast = *MacAddr::parse("ff:ff:ff:ff:ff:ff");
const MacAddr kStranger = *MacAddr::parse("02:00:00:00:0c:01");
const Ipv4Addr kStrangerIp = *Ipv4Addr::parse("192.0.2.50");

bool is_arp(const Bytes& f) {
  return f.size() >= 14 && f[12] == 0x08 && f[13] == 0x06;
}

std::vector<Bytes> non_arp(const std::vector<Bytes>& frames) {
  std::vector<Bytes> out;
  for (const Bytes& f : frames) {
    if (!is_arp(f)) out.push_back(f);
  }
  return out;
}

TEST(Arp, RequestForOurPublicIpIsAnswered) {
  EngineFixture fx;
  const auto self = fx.self();
  fx.underlay_port().inject(
      {testing::to_mbuf(fx.pool(), testing::arp_frame(1, kBroadcast, kStranger, kStrangerIp,
                                                      MacAddr{}, self.public_ip))});
  fx.poll();
  const auto out = fx.take_underlay();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], testing::arp_frame(2, kStranger, self.underlay_mac, self.public_ip, kStranger,
                                       kStrangerIp))
      << testing::hex(out[0]);
  EXPECT_EQ(fx.engine().stats().events.arp_replies, 1u);
}

TEST(Arp, UnresolvedNextHopHoldsPacketsThenSendsThemAfterTheReply) {
  EngineFixture fx;
  fx.add_node(3, /*static_neighbour=*/false);
  const auto self = fx.self();
  const auto n3 = EngineFixture::node(3);
  const auto out = fx.from_overlay({fx.pod_frame(Ipv4Addr{n3.subnet.addr.value + 5}, 1),
                                    fx.pod_frame(Ipv4Addr{n3.subnet.addr.value + 5}, 2),
                                    fx.pod_frame(Ipv4Addr{n3.subnet.addr.value + 5}, 3)});
  ASSERT_EQ(out.size(), 1u) << "only the ARP request leaves";
  EXPECT_EQ(out[0], testing::arp_frame(1, kBroadcast, self.underlay_mac, self.public_ip, MacAddr{},
                                       n3.public_ip))
      << testing::hex(out[0]);
  EXPECT_EQ(fx.engine().stats().events.arp_held_now, 3u);

  const auto released = fx.from_underlay({testing::arp_frame(
      2, self.underlay_mac, n3.underlay_mac, n3.public_ip, self.underlay_mac, self.public_ip)});
  (void)released;
  const auto sent = fx.take_underlay();
  ASSERT_EQ(sent.size(), 3u);
  for (const Bytes& f : sent) {
    EXPECT_EQ(Bytes(f.begin(), f.begin() + 6),
              Bytes(n3.underlay_mac.bytes.begin(), n3.underlay_mac.bytes.end()));
    EXPECT_EQ(testing::internet_checksum(&f[14], 20), 0) << "outer IPv4 checksum";
  }
  // Resolved now: the next packet goes straight out.
  EXPECT_EQ(fx.from_overlay({fx.pod_frame(Ipv4Addr{n3.subnet.addr.value + 5}, 4)}).size(), 1u);
  const StatsSnapshot s = fx.engine().stats();
  EXPECT_EQ(s.events.arp_released, 3u);
  EXPECT_EQ(s.events.arp_held_now, 0u);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

TEST(Arp, WaitQueueIsBounded) {
  EngineFixture fx({.arp_queue_len = 4});
  fx.add_node(3, false);
  std::vector<Bytes> frames;
  for (uint16_t i = 0; i < 10; ++i)
    frames.push_back(fx.pod_frame(Ipv4Addr{EngineFixture::node(3).subnet.addr.value + 5}, i));
  fx.from_overlay(frames);
  const StatsSnapshot s = fx.engine().stats();
  EXPECT_EQ(s.events.arp_held_now, 4u);
  EXPECT_EQ(s.drop_count(DropReason::kArpQueueFull), 6u);
}

TEST(Arp, HeldPacketsAreDroppedWhenNoReplyComes) {
  EngineFixture fx({.arp_retry_ms = 5, .arp_max_retries = 2});
  fx.add_node(3, false);
  const auto first =
      fx.from_overlay({fx.pod_frame(Ipv4Addr{EngineFixture::node(3).subnet.addr.value + 5}, 1),
                       fx.pod_frame(Ipv4Addr{EngineFixture::node(3).subnet.addr.value + 5}, 2)});
  int requests = 0;
  for (const Bytes& f : first) requests += is_arp(f);
  ASSERT_TRUE(testing::eventually(
      [&] {
        fx.poll();
        return fx.drops(DropReason::kArpUnresolved) == 2;
      },
      std::chrono::seconds(5)));
  for (const Bytes& f : fx.take_underlay()) requests += is_arp(f);
  EXPECT_EQ(requests, 2) << "arp.max_retries requests, then the held packets go";
  EXPECT_EQ(fx.engine().stats().events.arp_held_now, 0u);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

TEST(Arp, RemoteVtepsOffTheSubnetGoThroughTheGateway) {
  EngineFixture fx;
  fx.add_node(200);  // 198.51.100.200, behind 192.0.2.1
  const auto out =
      fx.from_overlay({fx.pod_frame(Ipv4Addr{EngineFixture::node(200).subnet.addr.value + 5})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(
      Bytes(out[0].begin(), out[0].begin() + 6),
      Bytes(EngineFixture::kGatewayMac.bytes.begin(), EngineFixture::kGatewayMac.bytes.end()));
  EXPECT_EQ(Bytes(out[0].begin() + 30, out[0].begin() + 34), (Bytes{198, 51, 100, 200}))
      << "outer destination";
}

TEST(Arp, LearnedMacFollowsAnAnnouncement) {
  EngineFixture fx;
  fx.add_node(3, false);
  const auto self = fx.self();
  const auto n3 = EngineFixture::node(3);
  fx.poll();
  fx.from_underlay({testing::arp_frame(2, self.underlay_mac, n3.underlay_mac, n3.public_ip,
                                       self.underlay_mac, self.public_ip)});
  fx.take_underlay();
  const MacAddr moved = *MacAddr::parse("02:00:00:00:0d:03");
  // Gratuitous ARP: the node's IP moved to another MAC.
  fx.from_underlay(
      {testing::arp_frame(1, kBroadcast, moved, n3.public_ip, MacAddr{}, n3.public_ip)});
  const auto out = non_arp(fx.from_overlay({fx.pod_frame(Ipv4Addr{n3.subnet.addr.value + 5})}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Bytes(out[0].begin(), out[0].begin() + 6),
            Bytes(moved.bytes.begin(), moved.bytes.end()));
}

TEST(Arp, OverlayHostsGetProxyArpWithTheRemoteVtepMac) {
  EngineFixture fx;
  fx.add_node(2);
  const auto n2 = EngineFixture::node(2);
  // The host kernel asks for the remote podCIDR's .0 address, its next hop
  // as flannel programs it ("via 10.244.2.0 onlink").
  fx.overlay_port().inject(
      {testing::to_mbuf(fx.pool(), testing::arp_frame(1, kBroadcast, EngineFixture::kPodMac,
                                                      fx.pod_ip(), MacAddr{}, n2.subnet.addr))});
  fx.poll();
  const auto out = fx.take_overlay();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], testing::arp_frame(2, EngineFixture::kPodMac, n2.vtep_mac, n2.subnet.addr,
                                       EngineFixture::kPodMac, fx.pod_ip()))
      << testing::hex(out[0]);
}

}  // namespace
}  // namespace tartan
