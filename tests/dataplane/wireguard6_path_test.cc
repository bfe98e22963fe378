// The wireguard backend over an IPv6 underlay, as flannel's Mode separate
// runs it: flannel-wg-v6 on ListenPortV6 carries IPv6 pods to each node's
// public IPv6, its peer being the node's IPv6 next hop (its own session
// slot). Transport messages sealed by egress behind Ethernet/IPv6/UDP and
// opened by ingress, against a peer the test plays byte for byte with
// engine/wireguard's cipher; every refusal dropped under its own name.
#include <gtest/gtest.h>

#include <cstring>

#include "engine/wireguard/chacha_poly.h"
#include "engine/wireguard/messages.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/wireguard_frames.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;
using wireguard::Key;

constexpr uint32_t kPeerIndex = 0x55667788;  // the test peer's receiver index
constexpr size_t kOuter6 = kEthLen + kIpv6HeaderLen + kUdpLen;

Key key_of(uint8_t fill) {
  Key k;
  k.fill(fill);
  return k;
}

// An address in node i's IPv6 podCIDR.
Ipv6Addr pod6_of(int i, uint8_t host) {
  Ipv6Addr a = EngineFixture::node6(i).subnet.addr;
  a.bytes[15] = host;
  return a;
}

class Wireguard6Path : public ::testing::Test {
 protected:
  void SetUp() override {
    f_.add_node(2);
    f_.add_node6(2);
    f_.add_node6(3);
    local_index_ = f_.add_wireguard_keypair6(2, send_, receive_, kPeerIndex);
  }
  // A transport message node 2's IPv6 peer seals to us.
  Bytes sealed_to_us(uint64_t counter, const Bytes& plain) const {
    return testing::wireguard_transport(receive_, local_index_, counter, plain);
  }
  std::vector<Bytes> receive(const std::vector<Bytes>& messages) {
    std::vector<Bytes> frames;
    for (const Bytes& m : messages) frames.push_back(f_.wireguard6_from(2, m));
    return f_.from_underlay(frames);
  }

  EngineFixture f_{{.self = 1, .backend = BackendType::kWireguard, .ipv6 = true}};
  Key send_ = key_of(0x3c);
  Key receive_ = key_of(0xc3);
  uint32_t local_index_ = 0;
};

TEST_F(Wireguard6Path, EgressSealsAnIpv6PodPacketBehindIpv6FromListenPortV6) {
  Bytes frame = f_.pod_frame6(pod6_of(2, 7), 4242, 51);
  frame[kEthLen + 1] |= 0x30;                 // ECN CE: the outer header carries ECT(0)
  const Bytes inner = testing::l3_of(frame);  // 99 bytes: padded to 112
  const auto sent = f_.from_overlay({frame, frame});
  ASSERT_EQ(sent.size(), 2u);
  for (uint64_t counter = 0; counter < 2; ++counter) {
    const Bytes& out = sent[counter];
    ASSERT_EQ(out.size(), kOuter6 + 16 + 112 + 16);
    // Ethernet to the peer's MAC, IPv6 from our public IPv6 to its, UDP
    // from ListenPortV6 to the endpoint's (flannel: the same port).
    EXPECT_EQ(0, std::memcmp(out.data(), EngineFixture::node6(2).underlay_mac.bytes.data(), 6));
    EXPECT_EQ(out[12], 0x86);
    EXPECT_EQ(out[13], 0xdd);
    const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(out.data() + kEthLen);
    EXPECT_EQ(rte_be_to_cpu_32(ip->vtc_flow), 6u << 28 | 0x02u << 20);
    EXPECT_EQ(rte_be_to_cpu_16(ip->payload_len), out.size() - kEthLen - kIpv6HeaderLen);
    EXPECT_EQ(ip->proto, IPPROTO_UDP);
    EXPECT_EQ(ip->hop_limits, 64);
    EXPECT_EQ(0, std::memcmp(ip->src_addr, f_.self6().public_ip.bytes.data(), 16));
    EXPECT_EQ(0, std::memcmp(ip->dst_addr, EngineFixture::node6(2).public_ip.bytes.data(), 16));
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(out.data() + kEthLen + kIpv6HeaderLen);
    EXPECT_EQ(rte_be_to_cpu_16(udp->src_port), testing::kWireguardPortV6);
    EXPECT_EQ(rte_be_to_cpu_16(udp->dst_port), testing::kWireguardPortV6);
    EXPECT_EQ(rte_be_to_cpu_16(udp->dgram_len), out.size() - kEthLen - kIpv6HeaderLen);
    EXPECT_NE(udp->dgram_cksum, 0) << "a UDP checksum over IPv6 is mandatory";
    EXPECT_EQ(rte_be_to_cpu_16(udp->dgram_cksum), testing::udp6_checksum(out));
    // Type 4, the peer's index, the counter; then the peer opens it.
    const uint8_t* msg = out.data() + kOuter6;
    EXPECT_EQ(wireguard::load_le32(msg), 4u);
    EXPECT_EQ(wireguard::load_le32(msg + 4), kPeerIndex);
    EXPECT_EQ(wireguard::load_le64(msg + 8), counter);
    auto aead = wireguard::ChaChaPoly::create();
    ASSERT_TRUE(aead);
    Bytes plain(112);
    ASSERT_TRUE(aead->open(send_, counter, {}, msg + 16, 112 + 16, plain.data()));
    Bytes expect = inner;
    expect[7] -= 1;  // hop limit: tartan is the pod's hop
    expect.resize(112, 0);
    EXPECT_EQ(plain, expect);
  }
  EXPECT_EQ(f_.total_drops(), 0u);
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

TEST_F(Wireguard6Path, IngressOpensAnIpv6MessageDeliversItAndRecordsTheEndpoint) {
  const Bytes inner = f_.pod_packet6_from(2, f_.pod_ip6(20), 100);
  const auto out = receive({sealed_to_us(0, inner)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(0, std::memcmp(out[0].data(), EngineFixture::kOverlayMac.bytes.data(), 6));
  EXPECT_EQ(out[0][12], 0x86);
  EXPECT_EQ(out[0][13], 0xdd);
  Bytes expect = inner;
  expect[7] -= 1;  // hop limit: tartan routes the overlay port
  EXPECT_EQ(testing::l3_of(out[0]), expect);
  auto peer = f_.engine().wireguard_peer(EngineFixture::node6(2).public_ip);
  ASSERT_TRUE(peer);
  EXPECT_TRUE(peer->since_last_data_rx.has_value());
  EXPECT_EQ(peer->rx_packets, 1u);
  EXPECT_EQ(peer->endpoint_ip, IpAddr{EngineFixture::node6(2).public_ip});
  EXPECT_EQ(peer->endpoint_port, testing::kWireguardPortV6);
  EXPECT_EQ(f_.total_drops(), 0u);
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

TEST_F(Wireguard6Path, Ipv6HandshakeMessagesGoToTheControlThreadWithTheirSource) {
  Bytes initiation(sizeof(wireguard::Initiation), 0x77);
  wireguard::store_le32(initiation.data(), 1);
  EXPECT_TRUE(receive({initiation}).empty());
  const std::vector<WireguardMessage> got = f_.engine().take_wireguard_messages();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes, initiation);
  EXPECT_EQ(got[0].source, IpAddr{EngineFixture::node6(2).public_ip});
  EXPECT_EQ(got[0].source_port, testing::kWireguardPortV6);
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

TEST_F(Wireguard6Path, AnIpv6KeepaliveIsCountedAndFreed) {
  EXPECT_TRUE(receive({sealed_to_us(0, {})}).empty());
  EXPECT_EQ(f_.engine().stats().events.wg_keepalives, 1u);
  EXPECT_EQ(f_.total_drops(), 0u);
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

TEST_F(Wireguard6Path, RefusalsOverIpv6AreDroppedUnderTheirNames) {
  const Bytes inner = f_.pod_packet6_from(2, f_.pod_ip6(20), 100);
  Bytes flipped = sealed_to_us(0, inner);
  flipped[40] ^= 1;
  std::vector<Bytes> frames{
      f_.wireguard6_from(2, flipped),
      // node 3's IPv6 pod, through node 2's IPv6 keypair
      f_.wireguard6_from(2, sealed_to_us(1, f_.pod_packet6_from(3, f_.pod_ip6(20)))),
      // node 2's IPv4 pod: its podCIDR is the IPv4 peer's (flannel-wg's), not this one's
      f_.wireguard6_from(2, sealed_to_us(2, f_.pod_packet_from(2, f_.pod_ip(20)))),
      // neither IPv4 nor IPv6 inside
      f_.wireguard6_from(2, sealed_to_us(3, Bytes(40, 0x50))),
  };
  // Without a UDP checksum, which IPv6 requires.
  Bytes unchecked = f_.wireguard6_from(2, sealed_to_us(4, inner));
  unchecked[kEthLen + kIpv6HeaderLen + 6] = 0;
  unchecked[kEthLen + kIpv6HeaderLen + 7] = 0;
  frames.push_back(unchecked);
  EXPECT_TRUE(f_.from_underlay(frames).empty());
  EXPECT_EQ(f_.drops(DropReason::kWgBadMac), 1u);
  EXPECT_EQ(f_.drops(DropReason::kWgNotAllowedIp), 2u);
  EXPECT_EQ(f_.drops(DropReason::kWgInnerNotIp), 1u);
  EXPECT_EQ(f_.drops(DropReason::kUdp6ZeroChecksum), 1u);
  EXPECT_EQ(f_.total_drops(), 5u);
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

TEST_F(Wireguard6Path, TheIpv6UnderlayTakesOnlyListenPortV6) {
  const Bytes msg = sealed_to_us(0, f_.pod_packet6_from(2, f_.pod_ip6(20)));
  EXPECT_TRUE(f_.from_underlay({f_.wireguard6_from(2, msg, testing::kWireguardPort)}).empty());
  EXPECT_EQ(f_.drops(DropReason::kWrongDstPort), 1u);
  EXPECT_EQ(f_.total_drops(), 1u);
  EXPECT_FALSE(f_.engine().wireguard_peer(EngineFixture::node6(2).public_ip)->since_last_rx)
      << "not opened";
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

TEST_F(Wireguard6Path, AnIpv4PeersReceiverIndexIsUnknownOverIpv6) {
  // Node 2's flannel-wg session: its messages belong over IPv4 (each of
  // Linux's devices has indexes of its own), not to flannel-wg-v6.
  const Key v4_receive = key_of(0x5a);
  const uint32_t v4_index = f_.add_wireguard_keypair(2, key_of(0xa5), v4_receive, kPeerIndex + 1);
  const Bytes msg =
      testing::wireguard_transport(v4_receive, v4_index, 0, f_.pod_packet_from(2, f_.pod_ip(20)));
  EXPECT_TRUE(f_.from_underlay({f_.wireguard6_from(2, msg)}).empty());
  EXPECT_EQ(f_.drops(DropReason::kWgUnknownIndex), 1u);
  EXPECT_EQ(f_.total_drops(), 1u);
  // Over IPv4 it opens.
  EXPECT_EQ(f_.from_underlay({f_.wireguard_from(2, msg)}).size(), 1u);
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

TEST(Wireguard6Egress, WithoutAKeypairOnTheIpv6PeerDropsAndAsksForAHandshake) {
  EngineFixture f({.self = 1, .backend = BackendType::kWireguard, .ipv6 = true});
  f.add_node(2);
  f.add_node6(2);
  // A keypair for node 2's IPv4 peer is no keypair for its IPv6 one.
  f.add_wireguard_keypair(2, key_of(1), key_of(2), kPeerIndex);
  EXPECT_TRUE(f.from_overlay({f.pod_frame6(pod6_of(2, 7))}).empty());
  EXPECT_EQ(f.drops(DropReason::kWgNoSession), 1u);
  EXPECT_EQ(*f.engine().wireguard_take_wants(EngineFixture::node6(2).public_ip),
            kWireguardWantsHandshake);
  EXPECT_EQ(*f.engine().wireguard_take_wants(EngineFixture::node(2).public_ip), 0);
  EXPECT_EQ(f.mbufs_in_use(), 0);
}

// A node without IPv6 has no IPv6 podCIDR for any peer: an IPv6 packet
// inside an IPv4 session comes from none of its allowed IPs.
TEST(Wireguard6Ingress, AnIpv6PacketInsideOnANodeWithoutIpv6IsNotAllowed) {
  EngineFixture f({.self = 1, .backend = BackendType::kWireguard});
  f.add_node(2);
  const Key receive = key_of(9);
  const uint32_t index = f.add_wireguard_keypair(2, key_of(10), receive, kPeerIndex);
  const Bytes msg =
      testing::wireguard_transport(receive, index, 0, f.pod_packet6_from(2, pod6_of(1, 20)));
  EXPECT_TRUE(f.from_underlay({f.wireguard_from(2, msg)}).empty());
  EXPECT_EQ(f.drops(DropReason::kWgNotAllowedIp), 1u);
  EXPECT_EQ(f.total_drops(), 1u);
  EXPECT_EQ(f.mbufs_in_use(), 0);
}

// Two dual-stack engines, each with a keypair on the other's IPv6 peer:
// an IPv6 pod packet crosses sealed and arrives as it left.
TEST(Wireguard6RoundTrip, AnIpv6PodPacketArrivesAsItWasSent) {
  EngineFixture a({.self = 1, .backend = BackendType::kWireguard, .ipv6 = true});
  EngineFixture b({.self = 2, .backend = BackendType::kWireguard, .ipv6 = true});
  a.add_node6(2);
  b.add_node6(1);
  const Key a_to_b = key_of(7), b_to_a = key_of(8);
  // B's index first: A's keypair names it.
  const auto b_index = b.engine().wireguard_reserve_index();
  ASSERT_TRUE(b_index);
  const uint32_t a_index = a.add_wireguard_keypair6(2, a_to_b, b_to_a, *b_index);
  b.add_wireguard_keypair6(1, b_to_a, a_to_b, a_index, false, *b_index);
  const Bytes frame = a.pod_frame6(b.pod_ip6(20), 5353, 1200);
  const auto delivered = b.from_underlay(a.from_overlay({frame}));
  ASSERT_EQ(delivered.size(), 1u);
  Bytes expect = testing::l3_of(frame);
  expect[7] -= 2;  // a hop on each node
  EXPECT_EQ(testing::l3_of(delivered[0]), expect);
  EXPECT_EQ(a.total_drops() + b.total_drops(), 0u);
}

}  // namespace
}  // namespace tartan
