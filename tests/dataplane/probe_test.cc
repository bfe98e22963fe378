// Tunnel probes through the data plane (engine/path/probe.h): the echo
// request the control side makes leaves as pod traffic to that node does,
// encapsulated to its VTEP; its reply comes back to the control side, not
// to the overlay port; other traffic for our overlay address still does.
#include <gtest/gtest.h>

#include "tests/support/engine_fixture.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;

// Offsets in a VXLAN frame: outer Ethernet, IPv4, UDP, VXLAN, then the
// inner Ethernet frame.
constexpr size_t kInnerEth = 50;
constexpr size_t kInnerIp = kInnerEth + 14;
constexpr size_t kIcmp = kInnerIp + 20;

uint16_t get16(const Bytes& b, size_t at) {
  return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}
uint32_t get32(const Bytes& b, size_t at) {
  return uint32_t{get16(b, at)} << 16 | get16(b, at + 2);
}
MacAddr mac_at(const Bytes& b, size_t at) {
  MacAddr m;
  std::copy(b.begin() + at, b.begin() + at + 6, m.bytes.begin());
  return m;
}

// The one probe the engine sent to node 2 (10.244.2.0), taken off the underlay.
Bytes probe_to_node2(EngineFixture& fx, uint16_t seq) {
  const Status s = fx.engine().send_probe(fx.node(2).subnet.addr, seq);
  EXPECT_TRUE(s.ok()) << s.message();
  fx.poll();
  auto out = fx.take_underlay();
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? Bytes{} : out[0];
}

// What node 2's host answers to `probe`: an echo reply from its overlay
// address to ours with the request's identifier, sequence number and
// payload, in VXLAN from node 2. `type` and `ident_delta` make variants.
Bytes reply_from_node2(const EngineFixture& fx, const Bytes& probe, uint8_t type = 0,
                       uint16_t ident_delta = 0, bool keep_payload = true) {
  Bytes icmp(probe.begin() + kIcmp, probe.end());
  icmp[0] = type;
  icmp[2] = icmp[3] = 0;
  const uint16_t ident = static_cast<uint16_t>(get16(icmp, 4) + ident_delta);
  icmp[4] = static_cast<uint8_t>(ident >> 8);
  icmp[5] = static_cast<uint8_t>(ident);
  if (!keep_payload) std::fill(icmp.begin() + 8, icmp.end(), 0x5a);
  const uint16_t c = testing::internet_checksum(icmp.data(), icmp.size());
  icmp[2] = static_cast<uint8_t>(c >> 8);
  icmp[3] = static_cast<uint8_t>(c);
  testing::Ipv4Spec inner;
  inner.src_mac = fx.node(2).vtep_mac;
  inner.dst_mac = fx.self().vtep_mac;
  inner.src_ip = fx.node(2).subnet.addr;
  inner.dst_ip = fx.self().subnet.addr;
  inner.protocol = 1;
  testing::UdpSpec outer;
  outer.src_mac = fx.node(2).underlay_mac;
  outer.dst_mac = fx.self().underlay_mac;
  outer.src_ip = fx.node(2).public_ip;
  outer.dst_ip = fx.self().public_ip;
  outer.src_port = 40000;
  outer.dst_port = 8472;
  return testing::udp_frame(outer,
                            testing::concat(testing::vxlan_header(1), ipv4_frame(inner, icmp)));
}

TEST(Probe, LeavesEncapsulatedToTheNodesVtepWithAnInnerEchoRequest) {
  EngineFixture fx;
  fx.add_node(2);
  fx.add_node(3);
  const Bytes f = probe_to_node2(fx, 7);
  ASSERT_EQ(f.size(), kIcmp + 32) << testing::hex(f);
  // Outer: to node 2's underlay MAC and public IP, VXLAN port, VNI 1.
  EXPECT_EQ(mac_at(f, 0), fx.node(2).underlay_mac);
  EXPECT_EQ(get32(f, 14 + 16), fx.node(2).public_ip.value);
  EXPECT_EQ(get16(f, 34 + 2), 8472);
  EXPECT_EQ(get32(f, 42 + 4) >> 8, 1u);
  // Inner: to node 2's VtepMAC from ours, 10.244.1.0 -> 10.244.2.0, ICMP.
  EXPECT_EQ(mac_at(f, kInnerEth), fx.node(2).vtep_mac);
  EXPECT_EQ(mac_at(f, kInnerEth + 6), fx.self().vtep_mac);
  EXPECT_EQ(get32(f, kInnerIp + 12), fx.self().subnet.addr.value);
  EXPECT_EQ(get32(f, kInnerIp + 16), fx.node(2).subnet.addr.value);
  EXPECT_EQ(f[kInnerIp + 9], 1);
  EXPECT_EQ(testing::internet_checksum(f.data() + kInnerIp, 20), 0) << "inner IPv4 checksum";
  // An echo request, sequence 7, its checksum right.
  EXPECT_EQ(f[kIcmp], 8);
  EXPECT_EQ(f[kIcmp + 1], 0);
  EXPECT_EQ(get16(f, kIcmp + 6), 7);
  EXPECT_EQ(testing::internet_checksum(f.data() + kIcmp, 32), 0) << "ICMP checksum";
  const StatsSnapshot s = fx.engine().stats();
  EXPECT_EQ(s.events.probes_sent, 1u);
  EXPECT_EQ(fx.total_drops(), 0u);
  ASSERT_EQ(s.peers.size(), 2u);
  for (const PeerStats& p : s.peers)
    EXPECT_EQ(p.encap_packets, p.public_ip == fx.node(2).public_ip ? 1u : 0u);
}

TEST(Probe, TheReplyReachesTheControlSideWithItsRoundTripAndNotTheOverlayPort) {
  EngineFixture fx;
  fx.add_node(2);
  const Bytes probe = probe_to_node2(fx, 41);
  ASSERT_FALSE(probe.empty());
  // from_underlay: what the overlay port sent.
  EXPECT_TRUE(fx.from_underlay({reply_from_node2(fx, probe)}).empty())
      << "the probe's reply went to the host";
  const std::vector<ProbeReply> replies = fx.engine().take_probe_replies();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].from, fx.node(2).subnet.addr);
  EXPECT_EQ(replies[0].seq, 41);
  EXPECT_GT(replies[0].rtt_ns, 0u);
  EXPECT_LT(replies[0].rtt_ns, 10'000'000'000u);
  EXPECT_TRUE(fx.engine().take_probe_replies().empty()) << "handed over once";
  EXPECT_EQ(fx.engine().stats().events.probe_replies, 1u);
  EXPECT_EQ(fx.total_drops(), 0u);
}

TEST(Probe, OtherTrafficForOurOverlayAddressStillGoesToTheHost) {
  EngineFixture fx;
  fx.add_node(2);
  const Bytes probe = probe_to_node2(fx, 1);
  ASSERT_FALSE(probe.empty());
  const std::vector<Bytes> others = {
      fx.vxlan_from(2, fx.self().subnet.addr),                    // UDP for the host's .0
      reply_from_node2(fx, probe, 0, /*ident_delta=*/1),          // the host's own ping's reply
      reply_from_node2(fx, probe, 0, 0, /*keep_payload=*/false),  // our id, not our payload
      reply_from_node2(fx, probe, /*type=*/8),                    // an echo request to the host
  };
  EXPECT_EQ(fx.from_underlay(others).size(), others.size());
  EXPECT_TRUE(fx.engine().take_probe_replies().empty());
  EXPECT_EQ(fx.engine().stats().events.probe_replies, 0u);
  // And pod traffic is delivered as ever.
  EXPECT_EQ(fx.from_underlay({fx.vxlan_from(2, fx.pod_ip())}).size(), 1u);
}

TEST(Probe, WithoutALeaseThereIsNoAddressToProbeFrom) {
  EngineFixture fx;
  fx.add_node(2);
  ASSERT_TRUE(fx.engine().set_local_subnet(std::nullopt).ok());
  EXPECT_EQ(fx.engine().send_probe(fx.node(2).subnet.addr, 1).code(),
            ErrorCode::kFailedPrecondition);
  fx.poll();
  EXPECT_TRUE(fx.take_underlay().empty());
  EXPECT_EQ(fx.engine().stats().events.probes_sent, 0u);
}

}  // namespace
}  // namespace tartan
