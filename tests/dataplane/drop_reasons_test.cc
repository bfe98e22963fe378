// Every drop reason, provoked once: exactly its counter moves, nothing is
// sent, and every mbuf goes back to the mempool.
#include <gtest/gtest.h>

#include <functional>

#include "tests/dataplane/drop_cases.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/nd_packets.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;

Ipv4Addr ip(const char* s) {
  return *Ipv4Addr::parse(s);
}

// Sets bytes [at, at+n) and re-computes the outer IPv4 header checksum.
Bytes patch_outer(Bytes f, size_t at, std::initializer_list<uint8_t> bytes) {
  for (uint8_t b : bytes) f[at++] = b;
  f[24] = f[25] = 0;
  const uint16_t c = testing::internet_checksum(&f[14], 20);
  f[24] = static_cast<uint8_t>(c >> 8);
  f[25] = static_cast<uint8_t>(c);
  return f;
}

// Offsets in a VXLAN frame from the fixture: outer IPv4 at 14, UDP at 34,
// VXLAN at 42, inner Ethernet at 50, inner IPv4 at 64. A frame whose inner
// bytes change gets its outer UDP checksum anew, as its sender would have
// computed it: tartan, like the kernel, verifies it.
constexpr size_t kVxlan = 42, kInnerEth = 50, kInnerIp = 64;

// flannel-v6 frames from the fixture: outer IPv6 at 14, UDP at 54 (its
// checksum at 60), VXLAN at 62, inner Ethernet at 70, inner IPv6 at 84.
constexpr size_t kVxlan6 = 62, kInnerEth6 = 70, kInnerIp6 = 84;

// An ICMPv6 Destination Unreachable: no ICMPv6 error is ever sent about one.
constexpr uint8_t kIcmp6Error = 1;

Ipv6Addr pod6(int node) {
  Ipv6Addr a = EngineFixture::node6(node).subnet.addr;
  a.bytes[15] = 10;
  return a;
}

// A flannel-v6 frame from node 2 to a pod of ours, changed by `change`,
// its UDP checksum made anew.
Bytes vxlan6_changed(const EngineFixture& fx, const std::function<void(Bytes&)>& change) {
  Bytes f = fx.vxlan6_from(2, pod6(1));
  change(f);
  testing::seal_udp6(f);
  return f;
}

// A VXLAN frame from node 2 to a pod of ours, changed by `change`.
Bytes vxlan_changed(const EngineFixture& fx, const std::function<void(Bytes&)>& change) {
  Bytes f = fx.vxlan_from(2, ip("10.244.1.10"));
  change(f);
  testing::seal_udp(f);
  return f;
}

using Case = testing::DropCase;

class DropReasons : public ::testing::TestWithParam<Case> {};

TEST_P(DropReasons, CountedOnceFreedAndNotForwarded) {
  const Case& c = GetParam();
  EngineFixture fx(testing::drop_case_options(c));
  testing::setup(fx, c);
  const Bytes frame = c.frame(fx);
  const auto out = c.from_underlay ? fx.from_underlay({frame}) : fx.from_overlay({frame});
  EXPECT_TRUE(out.empty()) << c.name << " was forwarded";
  EXPECT_TRUE(fx.take_underlay().empty());
  EXPECT_TRUE(fx.take_overlay().empty());
  EXPECT_EQ(fx.drops(c.reason), 1u) << drop_reason_name(c.reason);
  EXPECT_EQ(fx.total_drops(), 1u) << "another reason counted too";
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

}  // namespace

namespace testing {
// A function's static: other files' tests instantiate from it.
const std::vector<DropCase>& drop_cases() {
  static const std::vector<DropCase> cases = {
      {"runt", true, [](const EngineFixture&) { return Bytes(10, 0x11); }, DropReason::kRunt},
      {"truncated", true,
       [](const EngineFixture& fx) {
         Bytes f = fx.vxlan_from(2, ip("10.244.1.10"));
         f.resize(f.size() - 10);
         return f;
       },
       DropReason::kTruncated},
      {"not_ipv4", true,
       [](const EngineFixture&) {
         Bytes f(60, 0);
         f[12] = 0x86, f[13] = 0xdd;
         return f;
       },
       DropReason::kNotIpv4},
      {"bad_ip_header", true,
       [](const EngineFixture& fx) {
         return patch_outer(fx.vxlan_from(2, ip("10.244.1.10")), 14, {0x65});
       },
       DropReason::kBadIpHeader},
      {"bad_ip_checksum", true,
       [](const EngineFixture& fx) {
         Bytes f = fx.vxlan_from(2, ip("10.244.1.10"));
         f[24] ^= 0x5a;
         return f;
       },
       DropReason::kBadIpChecksum},
      {"not_our_mac", true,
       [](const EngineFixture& fx) {
         Bytes f = fx.vxlan_from(2, ip("10.244.1.10"));
         f[5] ^= 0x01;
         return f;
       },
       DropReason::kNotOurMac},
      {"wrong_dst_ip", true,
       [](const EngineFixture& fx) {
         return patch_outer(fx.vxlan_from(2, ip("10.244.1.10")), 33, {99});
       },
       DropReason::kWrongDstIp},
      {"not_tunnel", true,
       [](const EngineFixture& fx) {
         return patch_outer(fx.vxlan_from(2, ip("10.244.1.10")), 23, {1});
       },
       DropReason::kNotTunnel},
      {"wrong_dst_port", true,
       [](const EngineFixture& fx) {
         Bytes f = fx.vxlan_from(2, ip("10.244.1.10"));
         f[36] = 0x12, f[37] = 0xb5;  // 4789, the IANA port, is not flannel's
         return f;
       },
       DropReason::kWrongDstPort},
      {"outer_fragment", true,
       [](const EngineFixture& fx) {
         // Not UDP: the host's to reassemble, and there is no exception port.
         return patch_outer(fx.vxlan_from(2, ip("10.244.1.10")), 20, {0x20, 0x00, 64, 47});
       },
       DropReason::kOuterFragment},
      {"bad_udp_checksum", true,
       [](const EngineFixture& fx) {
         Bytes f = fx.vxlan_from(2, ip("10.244.1.10"));
         f[kInnerIp + 30] ^= 0x01;  // a bit flipped on the way: the outer checksum no longer fits
         return f;
       },
       DropReason::kBadUdpChecksum},
      {"unknown_sender", true,
       [](const EngineFixture& fx) { return fx.vxlan_from(5, ip("10.244.1.10")); },
       DropReason::kUnknownSender},
      {"bad_vxlan_flags", true,
       [](const EngineFixture& fx) {
         return vxlan_changed(fx, [](Bytes& f) {
           f[kVxlan] = 0x0c;  // I plus a reserved bit
         });
       },
       DropReason::kBadVxlanFlags},
      {"vxlan_reserved_byte", true,
       [](const EngineFixture& fx) {
         return vxlan_changed(fx, [](Bytes& f) { f[kVxlan + 7] = 0x01; });
       },
       DropReason::kBadVxlanFlags},
      {"bad_vni", true,
       [](const EngineFixture& fx) { return fx.vxlan_from(2, ip("10.244.1.10"), 2); },
       DropReason::kBadVni},
      {"not_our_vtep_mac", true,
       [](const EngineFixture& fx) {
         return vxlan_changed(fx, [](Bytes& f) { f[kInnerEth + 5] ^= 0x01; });
       },
       DropReason::kNotOurVtepMac},
      {"inner_not_ipv4", true,
       [](const EngineFixture& fx) {
         return vxlan_changed(fx,
                              [](Bytes& f) { f[kInnerEth + 12] = 0x86, f[kInnerEth + 13] = 0xdd; });
       },
       DropReason::kInnerNotIpv4},
      {"inner_bad_checksum", true,
       [](const EngineFixture& fx) {
         return vxlan_changed(fx, [](Bytes& f) { f[kInnerIp + 10] ^= 0x01; });
       },
       DropReason::kBadIpChecksum},
      {"inner_dst_not_local", true,
       [](const EngineFixture& fx) { return fx.vxlan_from(2, ip("10.244.3.5")); },
       DropReason::kInnerDstNotLocal},
      {"ingress_ttl_expired", true,
       [](const EngineFixture& fx) {
         Bytes f = fx.vxlan_from(2, ip("10.244.1.10"));
         // Inner TTL 63 -> 1, from a source no route leads back to (which
         // gets no Time Exceeded), checksum computed again.
         f[kInnerIp + 8] = 1;
         f[kInnerIp + 13] = 77;  // 10.244.77.10
         f[kInnerIp + 10] = f[kInnerIp + 11] = 0;
         const uint16_t c = testing::internet_checksum(&f[kInnerIp], 20);
         f[kInnerIp + 10] = static_cast<uint8_t>(c >> 8);
         f[kInnerIp + 11] = static_cast<uint8_t>(c);
         return f;
       },
       DropReason::kTtlExpired},
      {"underlay_arp_not_for_us", true,
       [](const EngineFixture&) {
         return testing::arp_frame(1, *MacAddr::parse("ff:ff:ff:ff:ff:ff"),
                                   *MacAddr::parse("02:00:00:00:0c:01"), ip("192.0.2.50"),
                                   MacAddr{}, ip("192.0.2.77"));
       },
       DropReason::kArpNotForUs},
      {"egress_runt", false, [](const EngineFixture&) { return Bytes(13, 0); }, DropReason::kRunt},
      {"egress_not_ipv4", false,
       [](const EngineFixture&) {
         Bytes f(60, 0);
         f[12] = 0x86, f[13] = 0xdd;
         return f;
       },
       DropReason::kNotIpv4},
      {"egress_truncated", false,
       [](const EngineFixture& fx) {
         Bytes f = fx.pod_frame(ip("10.244.2.10"));
         f.resize(40);  // the IPv4 header is whole; its total length is not
         return f;
       },
       DropReason::kTruncated},
      {"no_route", false, [](const EngineFixture& fx) { return fx.pod_frame(ip("10.244.77.1")); },
       DropReason::kNoRoute},
      // Where tartan routes, TTL expiry gets Time Exceeded (icmp_test)
      // unless, as here, the packet is an ICMP error itself.
      {"egress_ttl_expired", false,
       [](const EngineFixture& fx) {
         testing::Ipv4Spec s;
         s.src_mac = EngineFixture::kPodMac;
         s.dst_mac = EngineFixture::kOverlayMac;
         s.src_ip = fx.pod_ip();
         s.dst_ip = ip("10.244.2.10");
         s.protocol = 1;
         s.ttl = 1;
         return testing::ipv4_frame(s, Bytes{3, 1, 0xfc, 0xfe, 0, 0, 0, 0});
       },
       DropReason::kTtlExpired},
      {"too_big_without_df", false,
       [](const EngineFixture& fx) { return fx.pod_frame(ip("10.244.2.10"), 1, 1450 - 28 + 1); },
       DropReason::kTooBig},
      {"egress_arp_not_for_us", false,
       [](const EngineFixture&) {
         return testing::arp_frame(1, *MacAddr::parse("ff:ff:ff:ff:ff:ff"), EngineFixture::kPodMac,
                                   ip("10.244.1.10"), MacAddr{}, ip("10.244.99.1"));
       },
       DropReason::kArpNotForUs},
      // IPv6 (flannel-v6), with an IPv6 underlay.
      {"ipv6_bad_header", true,
       [](const EngineFixture& fx) {
         Bytes f = fx.vxlan6_from(2, pod6(1));
         f[14] = 0x40;
         return f;
       },
       DropReason::kBadIpv6Header, true},
      {"ipv6_truncated", true,
       [](const EngineFixture& fx) {
         Bytes f = fx.vxlan6_from(2, pod6(1));
         f.resize(f.size() - 10);
         return f;
       },
       DropReason::kTruncated, true},
      {"ipv6_not_our_mac", true,
       [](const EngineFixture& fx) {
         Bytes f = fx.vxlan6_from(2, pod6(1));
         f[5] ^= 0x01;
         return f;
       },
       DropReason::kNotOurMac, true},
      {"ipv6_wrong_dst_ip", true,
       [](const EngineFixture& fx) {
         Bytes f = fx.vxlan6_from(2, pod6(1));
         f[14 + 24 + 15] ^= 0x01;
         return f;
       },
       DropReason::kWrongDstIp, true},
      {"ipv6_not_tunnel", true,
       [](const EngineFixture& fx) {
         Bytes f = fx.vxlan6_from(2, pod6(1));
         f[14 + 6] = 6;  // TCP
         return f;
       },
       DropReason::kNotTunnel, true},
      {"ipv6_wrong_dst_port", true,
       [](const EngineFixture& fx) {
         Bytes f = fx.vxlan6_from(2, pod6(1));
         f[56] = 0x12, f[57] = 0xb5;
         return f;
       },
       DropReason::kWrongDstPort, true},
      {"udp6_zero_checksum", true,
       [](const EngineFixture& fx) {
         Bytes f = fx.vxlan6_from(2, pod6(1));
         f[60] = f[61] = 0;
         return f;
       },
       DropReason::kUdp6ZeroChecksum, true},
      {"ipv6_bad_udp_checksum", true,
       [](const EngineFixture& fx) {
         Bytes f = fx.vxlan6_from(2, pod6(1));
         f[kInnerIp6 + 50] ^= 0x01;
         return f;
       },
       DropReason::kBadUdpChecksum, true},
      {"ipv6_unknown_sender", true,
       [](const EngineFixture& fx) { return fx.vxlan6_from(5, pod6(1)); },
       DropReason::kUnknownSender, true},
      {"ipv6_bad_vxlan_flags", true,
       [](const EngineFixture& fx) {
         return vxlan6_changed(fx, [](Bytes& f) { f[kVxlan6] = 0x0c; });
       },
       DropReason::kBadVxlanFlags, true},
      {"ipv6_bad_vni", true, [](const EngineFixture& fx) { return fx.vxlan6_from(2, pod6(1), 2); },
       DropReason::kBadVni, true},
      {"ipv6_not_our_vtep_mac", true,
       [](const EngineFixture& fx) {
         // The IPv4 VTEP MAC is not flannel-v6's.
         const MacAddr v4 = fx.self().vtep_mac;
         return vxlan6_changed(fx, [&v4](Bytes& f) {
           std::copy(v4.bytes.begin(), v4.bytes.end(), f.begin() + kInnerEth6);
         });
       },
       DropReason::kNotOurVtepMac, true},
      {"inner_not_ipv6", true,
       [](const EngineFixture& fx) {
         return vxlan6_changed(fx,
                               [](Bytes& f) { f[kInnerEth6 + 12] = 0x08, f[kInnerEth6 + 13] = 0; });
       },
       DropReason::kInnerNotIpv6, true},
      {"inner_bad_ipv6_header", true,
       [](const EngineFixture& fx) {
         return vxlan6_changed(fx, [](Bytes& f) { f[kInnerIp6] = 0x40; });
       },
       DropReason::kBadIpv6Header, true},
      {"ipv6_inner_dst_not_local", true,
       [](const EngineFixture& fx) { return fx.vxlan6_from(2, pod6(3)); },
       DropReason::kInnerDstNotLocal, true},
      {"ingress_hop_limit_expired", true,
       [](const EngineFixture& fx) {
         // From a multicast source, which gets no Time Exceeded back.
         return vxlan6_changed(fx, [](Bytes& f) { f[kInnerIp6 + 7] = 1, f[kInnerIp6 + 8] = 0xff; });
       },
       DropReason::kHopLimitExpired, true},
      {"egress_bad_ipv6_header", false,
       [](const EngineFixture& fx) {
         Bytes f = fx.pod_frame6(pod6(2));
         f[14] = 0x50;
         return f;
       },
       DropReason::kBadIpv6Header, true},
      {"egress_ipv6_truncated", false,
       [](const EngineFixture& fx) {
         Bytes f = fx.pod_frame6(pod6(2));
         f.resize(60);  // the IPv6 header is whole; its payload is not
         return f;
       },
       DropReason::kTruncated, true},
      // Where tartan routes, these three get an ICMPv6 error (icmp6_path_test)
      // unless, as here, the packet is an ICMPv6 error itself.
      {"ipv6_no_route", false,
       [](const EngineFixture& fx) { return fx.pod_icmp6_frame(pod6(77), kIcmp6Error); },
       DropReason::kNoRoute, true},
      {"egress_hop_limit_expired", false,
       [](const EngineFixture& fx) { return fx.pod_icmp6_frame(pod6(2), kIcmp6Error, 48, 1); },
       DropReason::kHopLimitExpired, true},
      {"ipv6_too_big", false,
       [](const EngineFixture& fx) {
         return fx.pod_icmp6_frame(pod6(2), kIcmp6Error, 1430 - 40 + 1);
       },
       DropReason::kIpv6TooBig, true},
      {"ipv6_outer_fragment", true,
       [](const EngineFixture& fx) {
         // A Fragment header between the outer IPv6 and UDP headers: the
         // host's, and there is no exception port.
         Bytes f = fx.vxlan6_from(2, pod6(1));
         testing::insert_extension(f, 14, 44, {0, 0, 0, 0, 0, 0, 0, 7});
         return f;
       },
       DropReason::kOuterFragment, true},
  };
  return cases;
}
}  // namespace testing

namespace {

INSTANTIATE_TEST_SUITE_P(AllReasons, DropReasons, ::testing::ValuesIn(testing::drop_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

TEST(DropReasonsCovered, EveryReasonHasATest) {
  // Reasons provoked elsewhere: ARP queue and resolution (arp_test),
  // ICMP rate limit (icmp_test), reassembly (reassembly_test), GSO
  // (vnet_tap_test), full TX queue (below), neighbour discovery, every kind
  // of bad NS/NA (nd_test: the control side's NeighbourTable::on_nd judges
  // what the workers hand it), the wireguard backend's (wireguard_path_test;
  // but wg_crypto_failed, which only an OpenSSL failure can cause).
  std::set<DropReason> covered{DropReason::kArpQueueFull,    DropReason::kArpUnresolved,
                               DropReason::kIcmpRateLimited, DropReason::kFragmentTimeout,
                               DropReason::kFragmentDropped, DropReason::kTxQueueFull,
                               DropReason::kGsoFailed,       DropReason::kNdNotForUs,
                               DropReason::kNdBadHopLimit,   DropReason::kNdBadChecksum,
                               DropReason::kNdMalformed,     DropReason::kNdBadOption,
                               DropReason::kWgNoSession,     DropReason::kWgNoRoom,
                               DropReason::kWgCryptoFailed,  DropReason::kWgTruncated,
                               DropReason::kWgBadType,       DropReason::kWgUnknownIndex,
                               DropReason::kWgKeyExpired,    DropReason::kWgBadMac,
                               DropReason::kWgReplayed,      DropReason::kWgInnerNotIp,
                               DropReason::kWgNotAllowedIp,  DropReason::kWgHandshakeQueueFull};
  for (const Case& c : testing::drop_cases()) covered.insert(c.reason);
  for (size_t r = 0; r < kNumDropReasons; ++r) {
    EXPECT_TRUE(covered.count(static_cast<DropReason>(r)))
        << drop_reason_name(static_cast<DropReason>(r));
  }
}

TEST(DropReasonsCovered, FullTxQueueIsCountedAndFreed) {
  EngineFixture fx({.ring_size = 64});
  fx.add_node(2);
  // The underlay's TX ring holds 63; three bursts of 32 overflow it.
  for (int b = 0; b < 3; ++b) {
    std::vector<rte_mbuf*> pkts;
    for (int i = 0; i < 32; ++i)
      pkts.push_back(
          testing::to_mbuf(fx.pool(), fx.pod_frame(ip("10.244.2.10"), static_cast<uint16_t>(i))));
    ASSERT_EQ(fx.overlay_port().inject(pkts), 32u);
    fx.engine().workers()[0]->poll_once();
  }
  EXPECT_EQ(fx.take_underlay().size(), 63u);
  EXPECT_EQ(fx.drops(DropReason::kTxQueueFull), 96u - 63u);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

}  // namespace
}  // namespace tartan
