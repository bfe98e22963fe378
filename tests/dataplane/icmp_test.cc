// ICMP errors tartan answers with as the router on the overlay: too big
// with DF (RFC 1191), TTL expiry (Time Exceeded, as a kernel router sends
// it, through the tunnel for a packet that came from another node), and,
// for the udp backend as flannel does, network unreachable; all
// byte-exact, all rate limited.
#include <gtest/gtest.h>

#include <cstring>
#include <optional>

#include "tests/support/engine_fixture.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;

Bytes df_frame(const EngineFixture& fx, Ipv4Addr dst, uint16_t payload) {
  testing::UdpSpec s;
  s.src_mac = EngineFixture::kPodMac;
  s.dst_mac = EngineFixture::kOverlayMac;
  s.src_ip = fx.pod_ip();
  s.dst_ip = dst;
  s.dont_fragment = true;
  return testing::udp_frame(s, payload);
}

// The ICMP error an offending frame gets from `src` (by default our
// overlay address, as a router sends it): offending IPv4 header plus its
// first 8 payload bytes.
Bytes icmp_error(const EngineFixture& fx, const Bytes& offending, uint8_t type, uint8_t code,
                 uint16_t mtu, std::optional<Ipv4Addr> src = std::nullopt) {
  const Bytes quote(offending.begin() + 14, offending.begin() + 14 + 28);
  Bytes icmp = testing::concat(
      Bytes{type, code, 0, 0, 0, 0, static_cast<uint8_t>(mtu >> 8), static_cast<uint8_t>(mtu)},
      quote);
  const uint16_t c = testing::internet_checksum(icmp.data(), icmp.size());
  icmp[2] = static_cast<uint8_t>(c >> 8);
  icmp[3] = static_cast<uint8_t>(c);
  testing::Ipv4Spec ip;
  ip.src_mac = EngineFixture::kOverlayMac;
  ip.dst_mac = EngineFixture::kPodMac;
  ip.src_ip = src.value_or(fx.self().subnet.addr);  // 10.244.1.0, as flannel.1's address
  ip.dst_ip = fx.pod_ip();
  ip.protocol = 1;
  ip.id = 0;
  ip.ttl = 64;
  return testing::ipv4_frame(ip, icmp);
}

TEST(Icmp, TooBigWithDfGetsFragmentationNeededWithTheOverlayMtu) {
  EngineFixture fx;
  fx.add_node(2);
  const Bytes big =
      df_frame(fx, *Ipv4Addr::parse("10.244.2.10"), 1450 - 28 + 1);  // IPv4 length 1451
  const auto out = fx.from_overlay({big});
  EXPECT_TRUE(out.empty()) << "the too-big packet left on the underlay";
  const auto back = fx.take_overlay();
  ASSERT_EQ(back.size(), 1u);
  const Bytes expected = icmp_error(fx, big, 3, 4, 1450);
  EXPECT_EQ(back[0], expected) << "got:\n"
                               << testing::hex(back[0]) << "\nwant:\n"
                               << testing::hex(expected);
  EXPECT_EQ(fx.engine().stats().events.icmp_errors, 1u);
  EXPECT_EQ(fx.total_drops(), 0u);
  // At exactly the overlay MTU it goes through.
  EXPECT_EQ(fx.from_overlay({df_frame(fx, *Ipv4Addr::parse("10.244.2.10"), 1450 - 28)}).size(), 1u);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

// Behind a tap the host routes, our overlay address is the host's own:
// the error comes from the packet's destination, an address the host
// routes into the tap, so the host's martian and reverse-path checks let
// it through to the pod (tests/e2e/overlay_device_test.cc shows it).
TEST(Icmp, OnAHostRoutedOverlayTheErrorComesFromTheDestination) {
  EngineFixture fx({.overlay_routing = OverlayRouting::kHost});
  fx.add_node(2);
  const Ipv4Addr dst = *Ipv4Addr::parse("10.244.2.10");
  const Bytes big = df_frame(fx, dst, 1450 - 28 + 1);
  EXPECT_TRUE(fx.from_overlay({big}).empty());
  const auto back = fx.take_overlay();
  ASSERT_EQ(back.size(), 1u);
  const Bytes expected = icmp_error(fx, big, 3, 4, 1450, dst);
  EXPECT_EQ(back[0], expected) << "got:\n"
                               << testing::hex(back[0]) << "\nwant:\n"
                               << testing::hex(expected);
}

TEST(Icmp, TtlOneGetsTimeExceededFromOurOverlayAddress) {
  EngineFixture fx;
  fx.add_node(2);
  // To a remote pod, and to another pod of ours: tartan is the hop for both.
  const Bytes remote = fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"), 10000, 18, 1);
  const Bytes local = fx.pod_frame(fx.pod_ip(20), 10001, 18, 1);
  EXPECT_TRUE(fx.from_overlay({remote, local}).empty()) << "forwarded with TTL 0";
  const auto back = fx.take_overlay();
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0], icmp_error(fx, remote, 11, 0, 0)) << testing::hex(back[0]);
  EXPECT_EQ(back[1], icmp_error(fx, local, 11, 0, 0)) << testing::hex(back[1]);
  EXPECT_EQ(fx.engine().stats().events.icmp_errors, 2u);
  EXPECT_EQ(fx.total_drops(), 0u) << "answered, not dropped";
  // TTL 2 leaves with 1.
  const auto out = fx.from_overlay({fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"), 10000, 18, 2)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][50 + 14 + 8], 1);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

// A packet from another node whose TTL runs out on its way to a pod tartan
// routes: Time Exceeded goes back to its source through the tunnel, from
// our overlay address, as the kernel answers one that came through
// flannel.<VNI>.
TEST(Icmp, TtlRunningOutOnTheWayInIsAnsweredThroughTheTunnel) {
  EngineFixture fx;
  fx.add_node(2);
  constexpr size_t kInnerIp = 50 + 14;
  Bytes in = fx.vxlan_from(2, fx.pod_ip(20));
  in[kInnerIp + 8] = 1;  // the inner TTL, and its header checksum again
  in[kInnerIp + 10] = in[kInnerIp + 11] = 0;
  const uint16_t c = testing::internet_checksum(&in[kInnerIp], 20);
  in[kInnerIp + 10] = static_cast<uint8_t>(c >> 8);
  in[kInnerIp + 11] = static_cast<uint8_t>(c);
  testing::seal_udp(in);
  EXPECT_TRUE(fx.from_underlay({in}).empty()) << "delivered with TTL 0";
  const auto out = fx.take_underlay();
  ASSERT_EQ(out.size(), 1u);
  const Bytes& f = out[0];
  const auto node = EngineFixture::node(2);
  uint32_t dst_be = 0;
  std::memcpy(&dst_be, &f[30], 4);
  EXPECT_EQ(Ipv4Addr::from_be(dst_be), node.public_ip) << "to node 2's public IP";
  EXPECT_EQ(f[36] << 8 | f[37], 8472);
  // Inside: the error about the inner packet as it arrived, from our
  // overlay address, between the VTEP MACs.
  const Bytes offending(in.begin() + 50, in.end());
  Bytes want = icmp_error(fx, offending, 11, 0, 0);
  std::copy(node.vtep_mac.bytes.begin(), node.vtep_mac.bytes.end(), want.begin());
  const MacAddr ours = fx.self().vtep_mac;
  std::copy(ours.bytes.begin(), ours.bytes.end(), want.begin() + 6);
  // (icmp_error addresses it to our pod; this one goes to node 2's.)
  std::copy(offending.begin() + 26, offending.begin() + 30, want.begin() + 30);
  want[24] = want[25] = 0;
  const uint16_t sum = testing::internet_checksum(&want[14], 20);
  want[24] = static_cast<uint8_t>(sum >> 8);
  want[25] = static_cast<uint8_t>(sum);
  const Bytes inner(f.begin() + 50, f.end());
  EXPECT_EQ(inner, want) << "got:\n" << testing::hex(inner) << "\nwant:\n" << testing::hex(want);
  EXPECT_EQ(fx.engine().stats().events.icmp_errors, 1u);
  EXPECT_EQ(fx.total_drops(), 0u);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

TEST(Icmp, UdpBackendAnswersNoRouteWithNetUnreachableAsFlannelDoes) {
  EngineFixture fx({.backend = BackendType::kUdp});
  const Bytes lost = fx.pod_frame(*Ipv4Addr::parse("10.244.77.1"));
  EXPECT_TRUE(fx.from_overlay({lost}).empty());
  const auto back = fx.take_overlay();
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0], icmp_error(fx, lost, 3, 0, 0)) << testing::hex(back[0]);
  EXPECT_EQ(fx.drops(DropReason::kNoRoute), 0u) << "answered, not dropped";
}

TEST(Icmp, ErrorsAreRateLimitedPerWorker) {
  EngineFixture fx({.icmp_rate_per_s = 2});
  fx.add_node(2);
  std::vector<Bytes> frames(5, df_frame(fx, *Ipv4Addr::parse("10.244.2.10"), 1450));
  fx.from_overlay(frames);
  EXPECT_EQ(fx.take_overlay().size(), 2u);
  EXPECT_EQ(fx.drops(DropReason::kIcmpRateLimited), 3u);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

TEST(Icmp, NoErrorAboutAnIcmpError) {
  EngineFixture fx({.backend = BackendType::kUdp});
  // An ICMP destination-unreachable to nowhere: dropped, never answered.
  testing::Ipv4Spec s;
  s.src_mac = EngineFixture::kPodMac;
  s.dst_mac = EngineFixture::kOverlayMac;
  s.src_ip = fx.pod_ip();
  s.dst_ip = *Ipv4Addr::parse("10.244.77.1");
  s.protocol = 1;
  fx.from_overlay({testing::ipv4_frame(s, Bytes{3, 1, 0xfc, 0xfe, 0, 0, 0, 0})});
  EXPECT_TRUE(fx.take_overlay().empty());
  EXPECT_EQ(fx.drops(DropReason::kNoRoute), 1u);
}

}  // namespace
}  // namespace tartan
