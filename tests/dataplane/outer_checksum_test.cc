// The outer UDP checksum both ways. Sending: what tartan encapsulates
// gets one computed from the inner packet's own checksums (Linux's local
// checksum offload) where they say enough, and by summing the packet where
// they do not: either way it must verify, for VXLAN and the udp backend
// alike. Receiving: a wrong one is dropped, a zero one accepted, and an
// inner checksum a Linux sender left partial is finished.
#include <gtest/gtest.h>

#include "engine/backends/tunnel_checksum.h"
#include "tests/support/engine_fixture.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;

Ipv4Addr ip(const char* s) {
  return *Ipv4Addr::parse(s);
}

// The sum an IPv4 pseudo header adds to a TCP/UDP checksum (RFC 768),
// uncomplemented, for the IPv4 packet at `l3`.
uint16_t pseudo_header_sum(const Bytes& f, size_t l3) {
  const size_t ihl = (f[l3] & 0x0f) * 4u;
  const uint16_t l4_len = static_cast<uint16_t>((f[l3 + 2] << 8 | f[l3 + 3]) - ihl);
  Bytes pseudo(f.begin() + l3 + 12, f.begin() + l3 + 20);  // source and destination
  pseudo.insert(pseudo.end(),
                {0, f[l3 + 9], static_cast<uint8_t>(l4_len >> 8), static_cast<uint8_t>(l4_len)});
  return static_cast<uint16_t>(~testing::internet_checksum(pseudo.data(), pseudo.size()));
}

// Whether the TCP or UDP checksum of the IPv4 packet at `l3` verifies
// (RFC 768: pseudo header + L4 header + data).
bool l4_checksum_ok(const Bytes& f, size_t l3) {
  const size_t ihl = (f[l3] & 0x0f) * 4u, l4 = l3 + ihl;
  const size_t l4_len = (f[l3 + 2] << 8 | f[l3 + 3]) - ihl;
  if (f[l3 + 9] == 17 && f[l4 + 6] == 0 && f[l4 + 7] == 0) return false;  // absent
  return testing::internet_checksum(&f[l4], l4_len, pseudo_header_sum(f, l3)) == 0;
}

// Whether the outer UDP checksum of a tunnel frame verifies.
bool outer_udp_checksum_ok(const Bytes& f) {
  return l4_checksum_ok(f, 14);
}

// An inner IPv4 frame from `src` to `dst` with `l4` as its payload.
Bytes inner_frame(uint8_t protocol, const Bytes& l4, uint16_t frag_field = 0,
                  Ipv4Addr src = ip("10.244.1.10"), Ipv4Addr dst = ip("10.244.2.10")) {
  testing::Ipv4Spec s;
  s.src_mac = EngineFixture::kPodMac;
  s.dst_mac = EngineFixture::kOverlayMac;
  s.src_ip = src;
  s.dst_ip = dst;
  s.protocol = protocol;
  s.frag_field = frag_field;
  return testing::ipv4_frame(s, l4);
}

// A TCP segment (ACK) with `payload` bytes, its checksum valid from `src`
// to `dst`.
Bytes tcp_segment(size_t payload, Ipv4Addr src = ip("10.244.1.10"),
                  Ipv4Addr dst = ip("10.244.2.10")) {
  Bytes seg(20 + payload, 0x5a);
  seg[0] = 0x30, seg[1] = 0x39, seg[2] = 0x13, seg[3] = 0x89;  // ports 12345 -> 5001
  seg[12] = 0x50, seg[13] = 0x10;                              // 5 words, ACK
  seg[16] = seg[17] = 0;
  Bytes frame = inner_frame(6, seg, 0, src, dst);
  const uint16_t c =
      testing::internet_checksum(&frame[34], seg.size(), pseudo_header_sum(frame, 14));
  seg[16] = static_cast<uint8_t>(c >> 8), seg[17] = static_cast<uint8_t>(c);
  return seg;
}

// An ICMP echo request with a valid checksum.
Bytes icmp_echo(size_t payload) {
  Bytes msg(8 + payload, 0x33);
  msg[0] = 8, msg[1] = 0, msg[2] = msg[3] = 0;
  const uint16_t c = testing::internet_checksum(msg.data(), msg.size());
  msg[2] = static_cast<uint8_t>(c >> 8), msg[3] = static_cast<uint8_t>(c);
  return msg;
}

Bytes udp_pod_frame(uint16_t payload, bool checksum = true, Ipv4Addr src = ip("10.244.1.10"),
                    Ipv4Addr dst = ip("10.244.2.10")) {
  testing::UdpSpec s;
  s.src_mac = EngineFixture::kPodMac;
  s.dst_mac = EngineFixture::kOverlayMac;
  s.src_ip = src;
  s.dst_ip = dst;
  s.checksum = checksum;
  return testing::udp_frame(s, payload);
}

struct Case {
  const char* name;
  Bytes frame;
};

std::vector<Case> inner_packets() {
  return {
      {"udp, 18 bytes", udp_pod_frame(18)},
      {"udp, odd length", udp_pod_frame(19)},
      {"udp, 1401 bytes", udp_pod_frame(1401)},
      {"udp without a checksum", udp_pod_frame(100, false)},
      {"tcp, no payload", inner_frame(6, tcp_segment(0))},
      {"tcp, 1379 bytes", inner_frame(6, tcp_segment(1379))},
      {"icmp echo", inner_frame(1, icmp_echo(56))},
      {"first fragment", inner_frame(17, Bytes(64, 0x11), 0x2000)},
      {"later fragment", inner_frame(17, Bytes(64, 0x11), 0x0008)},
      {"gre", inner_frame(47, Bytes(40, 0x47))},
  };
}

class OuterChecksum : public ::testing::TestWithParam<BackendType> {};

TEST_P(OuterChecksum, VerifiesForEveryKindOfInnerPacket) {
  EngineFixture fx({.backend = GetParam()});
  fx.add_node(2);
  for (const Case& c : inner_packets()) {
    const auto out = fx.from_overlay({c.frame});
    ASSERT_EQ(out.size(), 1u) << c.name;
    EXPECT_TRUE(outer_udp_checksum_ok(out[0])) << c.name << ":\n" << testing::hex(out[0]);
  }
}

// What LCO implies, as in Linux: the outer checksum vouches for the inner
// packet's checksums, so an inner UDP datagram with a wrong one is caught
// by the receiver at the outer layer.
TEST_P(OuterChecksum, InnerPacketWithAWrongChecksumGetsAWrongOuterOne) {
  EngineFixture fx({.backend = GetParam()});
  fx.add_node(2);
  Bytes f = udp_pod_frame(64);
  f.back() ^= 0x01;  // payload changed after the checksum was computed
  const auto out = fx.from_overlay({f});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(outer_udp_checksum_ok(out[0]));
}

INSTANTIATE_TEST_SUITE_P(Backends, OuterChecksum,
                         ::testing::Values(BackendType::kVxlan, BackendType::kUdp),
                         [](const auto& info) {
                           return std::string(backend_type_name(info.param));
                         });

// Node 2 sends to a pod of node 1: what the peer engine encapsulates (its
// outer checksum computed as Linux's LCO computes it), as node 1 gets it.
class TunnelChecksumOnReceive : public ::testing::TestWithParam<BackendType> {
 protected:
  TunnelChecksumOnReceive()
      : fx({.backend = GetParam()}), peer({.self = 2, .backend = GetParam()}) {
    fx.add_node(2);
    peer.add_node(1);
  }
  // Where the inner IPv4 packet starts in a tunnel frame.
  size_t inner_l3() const { return GetParam() == BackendType::kVxlan ? 64 : 42; }
  Bytes from_peer(const Bytes& inner) {
    const auto out = peer.from_overlay({inner});
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? Bytes{} : out[0];
  }
  // A TCP segment and a UDP datagram from node 2's pod to ours.
  std::vector<Bytes> inner_packets() const {
    return {inner_frame(6, tcp_segment(1000, ip("10.244.2.10"), ip("10.244.1.10")), 0,
                        ip("10.244.2.10"), ip("10.244.1.10")),
            udp_pod_frame(999, true, ip("10.244.2.10"), ip("10.244.1.10"))};
  }
  // What a Linux sender leaves in the frame before its NIC finishes it:
  // the inner L4 checksum field holding the pseudo-header sum.
  void make_inner_partial(Bytes& f) const {
    const size_t l3 = inner_l3(), l4 = l3 + 20;
    const size_t field = l4 + (f[l3 + 9] == 6 ? 16 : 6);
    const uint16_t partial = pseudo_header_sum(f, l3);
    f[field] = static_cast<uint8_t>(partial >> 8), f[field + 1] = static_cast<uint8_t>(partial);
  }

  EngineFixture fx, peer;
};

TEST_P(TunnelChecksumOnReceive, AWrongOuterChecksumIsDroppedAndCounted) {
  for (const Bytes& inner : inner_packets()) {
    Bytes f = from_peer(inner);
    f[40] ^= 0x10;  // the checksum itself
    EXPECT_TRUE(fx.from_underlay({f}).empty());
  }
  EXPECT_EQ(fx.drops(DropReason::kBadUdpChecksum), 2u);
  EXPECT_EQ(fx.total_drops(), 2u);
}

TEST_P(TunnelChecksumOnReceive, AZeroOuterChecksumIsAcceptedAsRfc7348Says) {
  EngineFixture zero_peer({.self = 2, .backend = GetParam(), .udp_checksum = false});
  zero_peer.add_node(1);
  for (const Bytes& inner : inner_packets()) {
    const auto f = zero_peer.from_overlay({inner});
    ASSERT_EQ(f.size(), 1u);
    ASSERT_EQ(f[0][40] | f[0][41], 0) << "the peer sent a checksum";
    EXPECT_EQ(fx.from_underlay(f).size(), 1u);
  }
  EXPECT_EQ(fx.total_drops(), 0u);
}

// A Linux sender whose inner packet is complete leaves the outer checksum
// partial instead (its pseudo-header sum) for the NIC: over a veth it
// arrives so.
TEST_P(TunnelChecksumOnReceive, AnOuterChecksumLeftPartialIsAccepted) {
  for (const Bytes& inner : inner_packets()) {
    Bytes f = from_peer(inner);
    const uint16_t partial = pseudo_header_sum(f, 14);
    f[40] = static_cast<uint8_t>(partial >> 8), f[41] = static_cast<uint8_t>(partial);
    ASSERT_FALSE(outer_udp_checksum_ok(f));
    EXPECT_EQ(fx.from_underlay({f}).size(), 1u);
  }
  EXPECT_EQ(fx.total_drops(), 0u);
}

TEST_P(TunnelChecksumOnReceive, AnInnerChecksumLeftPartialIsFinished) {
  EngineFixture zero_peer({.self = 2, .backend = GetParam(), .udp_checksum = false});
  zero_peer.add_node(1);
  for (const Bytes& inner : inner_packets()) {
    Bytes lco = from_peer(inner);
    Bytes zero = zero_peer.from_overlay({inner}).at(0);
    for (Bytes* f : {&lco, &zero}) {
      make_inner_partial(*f);
      ASSERT_FALSE(l4_checksum_ok(*f, inner_l3()));
      const auto out = fx.from_underlay({*f});
      ASSERT_EQ(out.size(), 1u) << testing::hex(*f);
      EXPECT_TRUE(l4_checksum_ok(out[0], 14)) << testing::hex(out[0]);
      // The inner packet otherwise as sent (TTL aside: tartan routes here).
      EXPECT_EQ(Bytes(out[0].begin() + 34, out[0].end()), Bytes(inner.begin() + 34, inner.end()));
    }
  }
  EXPECT_EQ(fx.total_drops(), 0u);
}

// A finished inner checksum is computed from the bytes as they came, so
// the outer one then vouches for everything outside the inner TCP or UDP
// segment: damage there is still caught. (Inside it nothing does, as for
// Linux, which trusts a CHECKSUM_PARTIAL packet from a veth: such a packet
// crossed no wire.)
TEST_P(TunnelChecksumOnReceive, DamageOutsideAPartialInnerSegmentIsStillDropped) {
  for (const Bytes& inner : inner_packets()) {
    Bytes f = from_peer(inner);
    make_inner_partial(f);
    f[inner_l3() + 5] ^= 0x40;  // the inner IPv4 id
    EXPECT_TRUE(fx.from_underlay({f}).empty());
  }
  EXPECT_EQ(fx.drops(DropReason::kBadUdpChecksum), 2u);
  EXPECT_EQ(fx.total_drops(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Backends, TunnelChecksumOnReceive,
                         ::testing::Values(BackendType::kVxlan, BackendType::kUdp),
                         [](const auto& info) {
                           return std::string(backend_type_name(info.param));
                         });

// A device that checks the outer UDP checksum itself says so in the mbuf;
// its verdict stands, in either direction.
TEST(TunnelChecksumVerdict, ThePortsVerdictIsTakenWhereItGivesOne) {
  EngineFixture fx;
  fx.add_node(2);
  const Bytes good = fx.vxlan_from(2, fx.pod_ip());
  Bytes bad = good;
  bad[40] ^= 0x10;
  const auto check = [&](const Bytes& frame, uint64_t ol_flags, uint32_t ptype) {
    rte_mbuf* m = testing::to_mbuf(fx.pool(), frame);
    m->ol_flags = ol_flags;
    m->packet_type = ptype;
    const bool ok = tunnel_checksums_ok<rte_ipv4_hdr>(
        m, 34, static_cast<uint16_t>(frame.size() - 34), 64, rx_outer_udp_verdict(m));
    rte_pktmbuf_free(m);
    return ok;
  };
  EXPECT_TRUE(check(good, 0, 0)) << "no verdict: checked in software";
  EXPECT_FALSE(check(bad, 0, 0));
  EXPECT_TRUE(check(bad, RTE_MBUF_F_RX_L4_CKSUM_GOOD, RTE_PTYPE_L4_UDP));
  EXPECT_FALSE(check(good, RTE_MBUF_F_RX_L4_CKSUM_BAD, RTE_PTYPE_L4_UDP));
  // A device that parsed the tunnel gives the outer verdict apart; its L4
  // one is then the inner packet's.
  const uint32_t vxlan = RTE_PTYPE_L4_UDP | RTE_PTYPE_TUNNEL_VXLAN | RTE_PTYPE_INNER_L4_UDP;
  EXPECT_TRUE(check(bad, RTE_MBUF_F_RX_OUTER_L4_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_BAD, vxlan));
  EXPECT_FALSE(check(good, RTE_MBUF_F_RX_OUTER_L4_CKSUM_BAD | RTE_MBUF_F_RX_L4_CKSUM_GOOD, vxlan));
}

}  // namespace
}  // namespace tartan
