// The worker as the IPv6 router on the overlay (RFC 4443): Time Exceeded
// where tartan is the hop and the hop limit runs out, Packet Too Big with
// the IPv6 overlay MTU (IPv6 never fragments), Destination Unreachable for
// no route; each compared byte for byte with an error assembled here, its
// checksum summed here; the source address, the rate limit IPv4 shares,
// and the packets no error may be sent about, dropped by their reason.
// Then the IPv6 headers the path must not misread: extension-header chains
// from pods are routed on their destination, and outer IPv6 with extension
// headers or a Fragment header goes to the host. Every fixture checks its
// buffer accounting at teardown; each test also checks that no mbuf is
// left in use.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include "tests/support/engine_fixture.h"
#include "tests/support/nd_packets.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;
using testing::FixtureOptions;

constexpr uint8_t kTimeExceeded = 3, kPacketTooBig = 2, kDestUnreachable = 1;

Ipv6Addr pod_of(int node, uint8_t host = 10) {
  Ipv6Addr a = EngineFixture::node6(node).subnet.addr;
  a.bytes[15] = host;
  return a;
}

uint16_t be16_at(const Bytes& f, size_t at) {
  return static_cast<uint16_t>(f[at] << 8 | f[at + 1]);
}

// The error tartan must send about `offending` from `src` (by default our
// IPv6 overlay address: our IPv6 podCIDR's network address, which a
// flannel-v6 device holds), and field by field what that means.
void expect_error(const EngineFixture& fx, const Bytes& got, const Bytes& offending, uint8_t type,
                  uint8_t code, uint32_t word, std::optional<Ipv6Addr> src = std::nullopt) {
  const Ipv6Addr from = src.value_or(fx.self6().subnet.addr);
  const Bytes want = testing::icmp6_error_frame(offending, type, code, word, from);
  EXPECT_EQ(got, want) << "got:\n" << testing::hex(got) << "\nwant:\n" << testing::hex(want);
  ASSERT_GE(got.size(), 62u);
  EXPECT_EQ(got[54], type);
  EXPECT_EQ(got[55], code);
  EXPECT_EQ(uint32_t(got[58] << 24 | got[59] << 16 | got[60] << 8 | got[61]), word);
  EXPECT_TRUE(std::equal(from.bytes.begin(), from.bytes.end(), got.begin() + 22)) << "source";
  EXPECT_TRUE(std::equal(offending.begin() + 22, offending.begin() + 38, got.begin() + 38))
      << "back to the offending packet's source";
  EXPECT_EQ(be16_at(got, 56), testing::icmp6_checksum(got)) << "checksum";
  EXPECT_LE(got.size(), 14u + 1280) << "within the IPv6 minimum MTU";
}

TEST(Icmp6Path, HopLimitOneGetsTimeExceededFromOurOverlayAddress) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node6(2);
  // To a remote pod, and to another pod of ours: tartan is the hop for both.
  const Bytes remote = fx.pod_frame6(pod_of(2), 10000, 18, 1);
  const Bytes local = fx.pod_frame6(fx.pod_ip6(20), 10001, 18, 1);
  EXPECT_TRUE(fx.from_overlay({remote, local}).empty()) << "forwarded with hop limit 0";
  const auto back = fx.take_overlay();
  ASSERT_EQ(back.size(), 2u);
  expect_error(fx, back[0], remote, kTimeExceeded, 0, 0);
  expect_error(fx, back[1], local, kTimeExceeded, 0, 0);
  EXPECT_EQ(fx.engine().stats().events.icmp_errors, 2u);
  EXPECT_EQ(fx.total_drops(), 0u) << "answered, not dropped";
  // Hop limit 2 leaves with 1.
  const auto out = fx.from_overlay({fx.pod_frame6(pod_of(2), 10000, 18, 2)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][70 + 14 + 7], 1);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

// A packet from another node whose hop limit runs out on its way to a pod
// tartan routes: Time Exceeded goes back to its source through the tunnel,
// from our overlay address, as the kernel answers one that came through
// flannel-v6.<VNI>.
TEST(Icmp6Path, HopLimitRunningOutOnTheWayInIsAnsweredThroughTheTunnel) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node6(2);
  Bytes in = fx.vxlan6_from(2, fx.pod_ip6(20), 1, 30);
  in[70 + 14 + 7] = 1;  // the inner hop limit
  testing::seal_udp6(in);
  EXPECT_TRUE(fx.from_underlay({in}).empty()) << "delivered with hop limit 0";
  const auto out = fx.take_underlay();
  ASSERT_EQ(out.size(), 1u);
  const Bytes& f = out[0];
  const auto node = EngineFixture::node6(2);
  EXPECT_TRUE(std::equal(node.public_ip.bytes.begin(), node.public_ip.bytes.end(), f.begin() + 38))
      << "to node 2's public IPv6";
  EXPECT_EQ(be16_at(f, 56), 8472);
  EXPECT_EQ(be16_at(f, 60), testing::udp6_checksum(f)) << "outer UDP checksum";
  // Inside: the error about the inner packet as it arrived, between the
  // VTEP MACs.
  const Bytes offending(in.begin() + 70, in.end());
  const Bytes inner(f.begin() + 70, f.end());
  Bytes want = testing::icmp6_error_frame(offending, kTimeExceeded, 0, 0, fx.self6().subnet.addr);
  std::copy(node.vtep_mac.bytes.begin(), node.vtep_mac.bytes.end(), want.begin());
  const MacAddr ours = fx.self6().vtep_mac;
  std::copy(ours.bytes.begin(), ours.bytes.end(), want.begin() + 6);
  EXPECT_EQ(inner, want) << "got:\n" << testing::hex(inner) << "\nwant:\n" << testing::hex(want);
  EXPECT_EQ(be16_at(inner, 56), testing::icmp6_checksum(inner));
  EXPECT_EQ(fx.engine().stats().events.icmp_errors, 1u);
  EXPECT_EQ(fx.total_drops(), 0u);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

TEST(Icmp6Path, TooBigGetsPacketTooBigWithTheIpv6OverlayMtuCutAt1280Bytes) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node6(2);
  // IPv6 packets of 1430 bytes (the underlay's 1500 less 70) fit; 1431 and
  // a 1500-byte one do not.
  const auto fits = fx.from_overlay({fx.pod_frame6(pod_of(2), 10000, 1430 - 48)});
  ASSERT_EQ(fits.size(), 1u);
  EXPECT_EQ(fits[0].size(), 1500u + 14);
  const Bytes just_over = fx.pod_frame6(pod_of(2), 10001, 1431 - 48);
  const Bytes full = fx.pod_frame6(pod_of(2), 10002, 1500 - 48);
  EXPECT_TRUE(fx.from_overlay({just_over, full}).empty());
  const auto back = fx.take_overlay();
  ASSERT_EQ(back.size(), 2u);
  expect_error(fx, back[0], just_over, kPacketTooBig, 0, 1430);
  expect_error(fx, back[1], full, kPacketTooBig, 0, 1430);
  EXPECT_EQ(back[1].size(), 14u + 1280) << "the quote is cut to keep the error at 1280 bytes";
  EXPECT_EQ(fx.total_drops(), 0u);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

TEST(Icmp6Path, NoRouteGetsDestinationUnreachableCodeNoRoute) {
  EngineFixture fx({.ipv6 = true});
  const Bytes lost = fx.pod_frame6(pod_of(77));
  EXPECT_TRUE(fx.from_overlay({lost}).empty());
  const auto back = fx.take_overlay();
  ASSERT_EQ(back.size(), 1u);
  expect_error(fx, back[0], lost, kDestUnreachable, 0, 0);
  EXPECT_EQ(fx.drops(DropReason::kNoRoute), 0u) << "answered, not dropped";
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

// host-gw adds no header: its IPv6 overlay MTU is the underlay's, which is
// what the pods are told (pod_mtu), so nothing the pods send is refused.
TEST(Icmp6Path, HostGwCarriesIpv6UpToTheUnderlayMtu) {
  EngineFixture fx({.backend = BackendType::kHostGw, .ipv6 = true});
  fx.add_node6(2);
  const Bytes full = fx.pod_frame6(pod_of(2), 10000, 1500 - 48);
  const auto out = fx.from_overlay({full});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].size(), full.size()) << "an Ethernet rewrite only";
  const Bytes over = fx.pod_frame6(pod_of(2), 10001, 1501 - 48);
  EXPECT_TRUE(fx.from_overlay({over}).empty());
  const auto back = fx.take_overlay();
  ASSERT_EQ(back.size(), 1u);
  expect_error(fx, back[0], over, kPacketTooBig, 0, 1500);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

// Behind a tap the host routes, the host is the hop (it has decremented
// the hop limit and chose the route): tartan answers only a packet too big
// for the tunnel, from the packet's destination, as IPv4's
// fragmentation-needed, since our overlay address is the host's own there.
TEST(Icmp6Path, OnAHostRoutedOverlayOnlyTooBigIsAnsweredFromTheDestination) {
  EngineFixture fx({.overlay_routing = OverlayRouting::kHost, .ipv6 = true});
  fx.add_node6(2);
  const Bytes big = fx.pod_frame6(pod_of(2), 10000, 1431 - 48);
  EXPECT_TRUE(fx.from_overlay({big}).empty());
  auto back = fx.take_overlay();
  ASSERT_EQ(back.size(), 1u);
  expect_error(fx, back[0], big, kPacketTooBig, 0, 1430, pod_of(2));
  // Hop limit 1 goes on untouched (the host let it through); no route is
  // dropped as the kernel's flannel-v6 device drops it.
  const auto out = fx.from_overlay({fx.pod_frame6(pod_of(2), 10000, 18, 1)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][70 + 14 + 7], 1);
  EXPECT_TRUE(fx.from_overlay({fx.pod_frame6(pod_of(77))}).empty());
  EXPECT_TRUE(fx.take_overlay().empty());
  EXPECT_EQ(fx.drops(DropReason::kNoRoute), 1u);
  // A packet too big for a multicast group (a route the engine took for
  // one) has no address to answer from: dropped.
  TableDelta group;
  Route6Spec r = fx.route6_to(3);
  r.prefix = *Ipv6Prefix::parse("ff0e::/64");
  group.upsert_routes6 = {r};
  group.set_neighbours6 = {
      {EngineFixture::node6(3).public_ip, EngineFixture::node6(3).underlay_mac}};
  ASSERT_TRUE(fx.engine().apply(group).ok());
  EXPECT_TRUE(fx.from_overlay({fx.pod_frame6(*Ipv6Addr::parse("ff0e::1"), 1, 1431 - 48)}).empty());
  EXPECT_TRUE(fx.take_overlay().empty());
  EXPECT_EQ(fx.drops(DropReason::kIpv6TooBig), 1u);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

// One budget per worker for both families' errors (icmp_rate_per_s), and
// what is over it is counted as IPv4's is.
TEST(Icmp6Path, ErrorsShareIpv4sRateLimit) {
  EngineFixture fx({.icmp_rate_per_s = 3, .ipv6 = true});
  fx.add_node(2);
  fx.add_node6(2);
  testing::UdpSpec df;
  df.src_mac = EngineFixture::kPodMac;
  df.dst_mac = EngineFixture::kOverlayMac;
  df.src_ip = fx.pod_ip();
  df.dst_ip = *Ipv4Addr::parse("10.244.2.10");
  df.dont_fragment = true;
  std::vector<Bytes> frames{testing::udp_frame(df, 1450)};
  for (int i = 0; i < 4; ++i) frames.push_back(fx.pod_frame6(pod_of(2), 10000, 18, 1));
  EXPECT_TRUE(fx.from_overlay(frames).empty());
  EXPECT_EQ(fx.take_overlay().size(), 3u);
  EXPECT_EQ(fx.engine().stats().events.icmp_errors, 3u);
  EXPECT_EQ(fx.drops(DropReason::kIcmpRateLimited), 2u);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

// RFC 4443 2.4(e): never about an ICMPv6 error (behind extension headers
// too), never to a multicast or unspecified source. Such packets are
// dropped by the reason they could not be forwarded for.
TEST(Icmp6Path, WhereNoErrorMayBeSentThePacketIsDroppedByItsReason) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node6(2);
  Bytes behind_options = fx.pod_icmp6_frame(pod_of(2), 1, 48, 1);
  testing::insert_extension(behind_options, 14, 0, {0, 0, 1, 4, 0, 0, 0, 0});  // HBH, PadN
  Bytes multicast_source = fx.pod_frame6(pod_of(2), 10000, 18, 1);
  multicast_source[22] = 0xff;
  Bytes unspecified_source = fx.pod_frame6(pod_of(2), 10000, 18, 1);
  std::fill(unspecified_source.begin() + 22, unspecified_source.begin() + 38, 0);
  const std::vector<Bytes> frames{
      fx.pod_icmp6_frame(pod_of(2), 1, 48, 1),      // Destination Unreachable
      fx.pod_icmp6_frame(pod_of(2), 3, 1431 - 40),  // Time Exceeded, too big
      fx.pod_icmp6_frame(pod_of(77), 2, 48),        // Packet Too Big, no route
      fx.pod_icmp6_frame(pod_of(77), 137, 48),      // a redirect
      behind_options,
      multicast_source,
      unspecified_source,
  };
  EXPECT_TRUE(fx.from_overlay(frames).empty());
  EXPECT_TRUE(fx.take_overlay().empty()) << "an error was sent";
  EXPECT_EQ(fx.drops(DropReason::kHopLimitExpired), 4u);
  EXPECT_EQ(fx.drops(DropReason::kIpv6TooBig), 1u);
  EXPECT_EQ(fx.drops(DropReason::kNoRoute), 2u);
  EXPECT_EQ(fx.engine().stats().events.icmp_errors, 0u);
  // Informational ICMPv6 gets its error as any packet does.
  const Bytes echo = fx.pod_icmp6_frame(pod_of(2), 128, 48, 1);
  fx.from_overlay({echo});
  const auto back = fx.take_overlay();
  ASSERT_EQ(back.size(), 1u);
  expect_error(fx, back[0], echo, kTimeExceeded, 0, 0);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

// The source is the IPv6 lease as it is now: none without one (nothing to
// answer from: dropped), the new one after a change.
TEST(Icmp6Path, TheSourceFollowsTheIpv6Lease) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node6(2);
  ASSERT_TRUE(fx.engine().set_local_subnet6(std::nullopt).ok());
  fx.from_overlay({fx.pod_frame6(pod_of(2), 10000, 18, 1)});
  EXPECT_TRUE(fx.take_overlay().empty());
  EXPECT_EQ(fx.drops(DropReason::kHopLimitExpired), 1u);
  const Ipv6Prefix moved = EngineFixture::node6(9).subnet;
  ASSERT_TRUE(fx.engine().set_local_subnet6(moved).ok());
  const Bytes offending = fx.pod_frame6(pod_of(2), 10000, 18, 1);
  fx.from_overlay({offending});
  const auto back = fx.take_overlay();
  ASSERT_EQ(back.size(), 1u);
  expect_error(fx, back[0], offending, kTimeExceeded, 0, 0, moved.addr);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

// With the worker running on its own lcore: the lease changes while it
// answers, and each error it sends comes from one lease's address or the
// other's, never a mixture (the two differ in every byte but the first
// and the last, so any torn read would show).
TEST(Icmp6Path, ALeaseChangedWhileTheWorkerRunsIsNeverReadHalfWritten) {
  EngineFixture fx({.run_workers = true, .icmp_rate_per_s = 1000000, .ipv6 = true});
  fx.add_node6(2);
  const Ipv6Prefix a = fx.self6().subnet;
  const Ipv6Prefix b = *Ipv6Prefix::parse("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120");
  const Bytes offending = fx.pod_frame6(pod_of(2), 10000, 18, 1);
  size_t sent = 0;
  for (int round = 0; round < 200; ++round) {
    std::vector<rte_mbuf*> pkts;
    for (int i = 0; i < 8; ++i) pkts.push_back(testing::to_mbuf(fx.pool(), offending));
    ASSERT_EQ(fx.overlay_port().inject(pkts), pkts.size());
    sent += pkts.size();
    ASSERT_TRUE(fx.engine().set_local_subnet6(round % 2 ? a : b).ok());
  }
  std::vector<Bytes> back;
  EXPECT_TRUE(testing::eventually(
      [&] {
        for (Bytes& f : fx.take_overlay()) back.push_back(std::move(f));
        return back.size() == sent;
      },
      std::chrono::seconds(10)))
      << back.size() << " of " << sent;
  fx.engine().stop();
  for (const Bytes& f : back) {
    const bool from_a = std::equal(a.addr.bytes.begin(), a.addr.bytes.end(), f.begin() + 22);
    const bool from_b = std::equal(b.addr.bytes.begin(), b.addr.bytes.end(), f.begin() + 22);
    EXPECT_TRUE(from_a || from_b) << testing::hex(f);
    EXPECT_EQ(be16_at(f, 56), testing::icmp6_checksum(f));
  }
}

// A pod's extension-header chain is carried untouched: the route is the
// destination's, and only the hop limit changes.
TEST(Ipv6Headers, AnInnerExtensionHeaderChainIsRoutedOnTheDestination) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node6(2);
  Bytes chained = fx.pod_frame6(pod_of(2), 10000, 100);
  // Hop-by-hop (PadN) -> destination options -> routing (type 4, no
  // segments left) -> first fragment -> UDP, as RFC 8200 4.1 orders them.
  testing::insert_extension(chained, 14, 44, {0, 0, 0, 1, 0, 0, 0, 9});
  testing::insert_extension(
      chained, 14, 43, {0, 2, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  testing::insert_extension(chained, 14, 60, {0, 0, 1, 4, 0, 0, 0, 0});
  testing::insert_extension(chained, 14, 0, {0, 0, 1, 4, 0, 0, 0, 0});
  const auto out = fx.from_overlay({chained});
  ASSERT_EQ(out.size(), 1u) << "dropped as " << fx.total_drops();
  Bytes inner(out[0].begin() + 70, out[0].end());
  Bytes expect = chained;
  expect[14 + 7] = 63;
  EXPECT_TRUE(std::equal(expect.begin() + 12, expect.end(), inner.begin() + 12))
      << testing::hex(inner);
  EXPECT_EQ(inner.size(), expect.size());
  EXPECT_EQ(be16_at(out[0], 60), testing::udp6_checksum(out[0])) << "outer UDP checksum";
  EXPECT_EQ(fx.total_drops(), 0u);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

// Outer IPv6 with an extension header before UDP, a Fragment header among
// them, is never read as a tunnel packet: the host's (the exception port),
// or without one dropped by its reason.
TEST(Ipv6Headers, OuterExtensionHeadersAndFragmentsGoToTheHost) {
  const auto with_header = [](const EngineFixture& fx, uint8_t kind) {
    Bytes f = fx.vxlan6_from(2, fx.pod_ip6());
    if (kind == 44) {
      testing::insert_extension(f, 14, 44, {0, 0, 0, 1, 0, 0, 0, 7});  // first fragment, M set
    } else {
      testing::insert_extension(f, 14, kind, {0, 0, 1, 4, 0, 0, 0, 0});
    }
    return f;
  };
  {
    EngineFixture fx({.exception_port = true, .ipv6 = true});
    fx.add_node6(2);
    const std::vector<Bytes> sent{with_header(fx, 44), with_header(fx, 0), with_header(fx, 60)};
    EXPECT_TRUE(fx.from_underlay(sent).empty()) << "decapsulated";
    const auto host = fx.take_exception();
    EXPECT_EQ(host, sent) << "to the host, unchanged";
    EXPECT_EQ(fx.total_drops(), 0u);
    EXPECT_EQ(fx.mbufs_in_use(), 0);
  }
  EngineFixture fx({.ipv6 = true});
  fx.add_node6(2);
  EXPECT_TRUE(fx.from_underlay({with_header(fx, 44), with_header(fx, 0)}).empty());
  EXPECT_EQ(fx.drops(DropReason::kOuterFragment), 1u);
  EXPECT_EQ(fx.drops(DropReason::kNotTunnel), 1u);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

}  // namespace
}  // namespace tartan
