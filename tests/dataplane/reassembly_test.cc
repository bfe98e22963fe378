// Outer IPv4 fragments (engine/path/reassembly.h): a tunnel packet a router
// on the underlay fragmented is put together and delivered as if it had come
// whole, in any order, for vxlan and the udp backend; what does not come
// together is freed within the timeout, what the table refuses is dropped,
// each counted; only a node's UDP is reassembled; the books balance.
#include <gtest/gtest.h>

#include <thread>

#include "tests/support/engine_fixture.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::Bytes;
using testing::EngineFixture;

uint64_t drop_count(const Accounting& a, DropReason r) {
  return a.drops[static_cast<size_t>(r)];
}

// A tunnel frame from node 2 to our pod: a 1000-byte inner payload for
// vxlan; the fixture's udp-backend frame is small, so it is cut finer.
Bytes tunnel_frame(EngineFixture& fx, BackendType backend) {
  return backend == BackendType::kVxlan ? fx.vxlan_from(2, fx.pod_ip(), 1, 1000)
                                        : fx.udp_tunnel_from(2, fx.pod_ip());
}
size_t fragment_payload(BackendType backend) {
  return backend == BackendType::kVxlan ? 400 : 16;
}

class Reassembly : public ::testing::TestWithParam<BackendType> {};

TEST_P(Reassembly, AFragmentedTunnelPacketIsDeliveredAsIfItHadComeWhole) {
  EngineFixture fx({.backend = GetParam()});
  fx.add_node(2);
  const Bytes whole = tunnel_frame(fx, GetParam());
  const auto expected = fx.from_underlay({whole});
  ASSERT_EQ(expected.size(), 1u);

  const Accounting before = fx.engine().accounting();
  auto parts = testing::ipv4_fragments(whole, fragment_payload(GetParam()));
  ASSERT_GE(parts.size(), 2u);
  std::swap(parts.front(), parts.back());  // the last first: order does not matter
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    EXPECT_TRUE(fx.from_underlay({parts[i]}).empty()) << "delivered before it was whole";
    EXPECT_EQ(fx.engine().stats().events.fragments_held_now, i + 1);
    EXPECT_EQ(fx.check_books(), "");
  }
  const auto out = fx.from_underlay({parts.back()});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], expected[0]);
  const auto events = fx.engine().stats().events;
  EXPECT_EQ(events.reassembled, 1u);
  EXPECT_EQ(events.fragments_reassembled, parts.size());
  EXPECT_EQ(events.fragments_held_now, 0u);
  const Accounting a = fx.engine().accounting();
  EXPECT_EQ(a.created - before.created, 1u) << a.describe();
  EXPECT_EQ(a.consumed - before.consumed, parts.size()) << a.describe();
  EXPECT_EQ(fx.total_drops(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, Reassembly,
                         ::testing::Values(BackendType::kVxlan, BackendType::kUdp),
                         [](const auto& info) {
                           return std::string(backend_type_name(info.param));
                         });

TEST(ReassemblyBounds, FragmentsThatDoNotComeTogetherInTimeAreFreedAndCounted) {
  EngineFixture fx({.reassembly_timeout_ms = 20});
  fx.add_node(2);
  const auto parts = testing::ipv4_fragments(fx.vxlan_from(2, fx.pod_ip(), 1, 1000), 400);
  EXPECT_TRUE(fx.from_underlay({parts[0], parts[1]}).empty());
  EXPECT_EQ(fx.engine().stats().events.fragments_held_now, 2u);
  std::this_thread::sleep_for(30ms);
  fx.poll();
  const Accounting a = fx.engine().accounting();
  EXPECT_EQ(drop_count(a, DropReason::kFragmentTimeout), 2u) << a.describe();
  EXPECT_EQ(a.reassembling, 0u);
  EXPECT_EQ(fx.check_books(), "");
  // The last fragment, late, waits for a packet that is gone.
  EXPECT_TRUE(fx.from_underlay({parts[2]}).empty());
  EXPECT_EQ(fx.engine().stats().events.fragments_held_now, 1u);
}

TEST(ReassemblyBounds, WhatTheTableRefusesIsDroppedAndCounted) {
  EngineFixture fx({.reassembly_max_packets = 2});
  fx.add_node(2);
  // Packets of one sender tell apart by their IPv4 id.
  const auto fragments_of = [&](uint16_t id) {
    Bytes f = fx.vxlan_from(2, fx.pod_ip());
    f[18] = static_cast<uint8_t>(id >> 8), f[19] = static_cast<uint8_t>(id);
    f[24] = f[25] = 0;
    const uint16_t c = testing::internet_checksum(&f[14], 20);
    f[24] = static_cast<uint8_t>(c >> 8), f[25] = static_cast<uint8_t>(c);
    return testing::ipv4_fragments(f, 16);
  };
  // A full table: the first fragments of two packets fill it, a third's is refused.
  for (uint16_t id = 100; id < 102; ++id) fx.from_underlay({fragments_of(id)[0]});
  fx.from_underlay({fragments_of(102)[0]});
  EXPECT_EQ(fx.drops(DropReason::kFragmentDropped), 1u);
  // A duplicate first fragment spoils its packet: both go.
  fx.from_underlay({fragments_of(100)[0]});
  EXPECT_EQ(fx.drops(DropReason::kFragmentDropped), 3u);
  // Nine fragments, one more than a packet may have: the ninth spoils the
  // packet with the eight before it (first, last, seven between: 138
  // bytes of outer payload in 16s); the last then waits alone.
  const auto nine = testing::ipv4_fragments(fx.vxlan_from(2, fx.pod_ip(), 1, 80), 16);
  ASSERT_EQ(nine.size(), 9u);
  EXPECT_TRUE(fx.from_underlay(nine).empty());
  EXPECT_EQ(fx.drops(DropReason::kFragmentDropped), 3u + 8u);
  EXPECT_EQ(fx.engine().stats().events.fragments_held_now, 2u)
      << "packet 101's first fragment and the nine's last";
  EXPECT_EQ(fx.check_books(), "");
}

TEST(ReassemblyBounds, OnlyANodesUdpIsReassembledTheRestIsTheHosts) {
  EngineFixture fx({.exception_port = true});
  fx.add_node(2);
  // From a host that is no node.
  const auto strange = testing::ipv4_fragments(fx.vxlan_from(5, fx.pod_ip(), 1, 1000), 400);
  EXPECT_TRUE(fx.from_underlay(strange).empty());
  EXPECT_EQ(fx.take_exception().size(), strange.size()) << "fragments go to the host as they came";
  // Not UDP, from a node.
  Bytes gre = fx.vxlan_from(2, fx.pod_ip(), 1, 1000);
  gre[14 + 9] = 47;
  gre[14 + 10] = gre[14 + 11] = 0;
  const uint16_t c = testing::internet_checksum(&gre[14], 20);
  gre[14 + 10] = static_cast<uint8_t>(c >> 8), gre[14 + 11] = static_cast<uint8_t>(c);
  const auto tunnelled = testing::ipv4_fragments(gre, 400);
  EXPECT_TRUE(fx.from_underlay(tunnelled).empty());
  EXPECT_EQ(fx.take_exception().size(), tunnelled.size());
  EXPECT_EQ(fx.engine().stats().events.reassembled, 0u);
  EXPECT_EQ(fx.total_drops(), 0u);
}

}  // namespace
}  // namespace tartan
