// The outer UDP checksum of what tartan encapsulates is computed from the
// inner packet's own checksums (Linux's local checksum offload) where they
// say enough, and by summing the packet where they do not: either way it
// must verify, for VXLAN and the udp backend alike.
#include <gtest/gtest.h>

#include "tests/support/engine_fixture.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;

// Whether the UDP checksum of the IPv4/UDP packet after the Ethernet header
// verifies (RFC 768: pseudo header + UDP header + data).
bool outer_udp_checksum_ok(const Bytes& f) {
  const size_t ip = 14, ihl = (f[ip] & 0x0f) * 4u, udp = ip + ihl;
  if (f[udp + 6] == 0 && f[udp + 7] == 0) return false;  // absent
  const uint16_t udp_len = static_cast<uint16_t>(f[udp + 4] << 8 | f[udp + 5]);
  Bytes pseudo(f.begin() + ip + 12, f.begin() + ip + 20);  // source and destination
  pseudo.insert(pseudo.end(),
                {0, 17, static_cast<uint8_t>(udp_len >> 8), static_cast<uint8_t>(udp_len)});
  uint32_t sum = static_cast<uint16_t>(~testing::internet_checksum(pseudo.data(), pseudo.size()));
  return testing::internet_checksum(&f[udp], udp_len, sum) == 0;
}

// An inner IPv4 frame from our pod to node 2 with `l4` as its payload.
Bytes inner_frame(uint8_t protocol, const Bytes& l4, uint16_t frag_field = 0) {
  testing::Ipv4Spec s;
  s.src_mac = EngineFixture::kPodMac;
  s.dst_mac = EngineFixture::kOverlayMac;
  s.dst_ip = *Ipv4Addr::parse("10.244.2.10");
  s.protocol = protocol;
  s.frag_field = frag_field;
  return testing::ipv4_frame(s, l4);
}

// A TCP segment (ACK) with `payload` bytes and a valid checksum.
Bytes tcp_segment(size_t payload) {
  Bytes seg(20 + payload, 0x5a);
  seg[0] = 0x30, seg[1] = 0x39, seg[2] = 0x13, seg[3] = 0x89;  // ports 12345 -> 5001
  seg[12] = 0x50, seg[13] = 0x10;                              // 5 words, ACK
  seg[16] = seg[17] = 0;
  const Bytes pseudo{10,
                     244,
                     1,
                     10,
                     10,
                     244,
                     2,
                     10,
                     0,
                     6,
                     static_cast<uint8_t>(seg.size() >> 8),
                     static_cast<uint8_t>(seg.size())};
  const uint32_t sum =
      static_cast<uint16_t>(~testing::internet_checksum(pseudo.data(), pseudo.size()));
  const uint16_t c = testing::internet_checksum(seg.data(), seg.size(), sum);
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

Bytes udp_pod_frame(uint16_t payload, bool checksum = true) {
  testing::UdpSpec s;
  s.src_mac = EngineFixture::kPodMac;
  s.dst_mac = EngineFixture::kOverlayMac;
  s.dst_ip = *Ipv4Addr::parse("10.244.2.10");
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

}  // namespace
}  // namespace tartan
