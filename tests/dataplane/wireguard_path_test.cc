// The wireguard backend's data path: transport messages sealed by egress
// and opened by ingress, against a peer the test plays byte for byte with
// engine/wireguard's cipher, and between two engines; every refusal
// dropped under its own name, and no mbuf kept.
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
using testing::FixtureOptions;
using wireguard::Key;

constexpr uint32_t kPeerIndex = 0x11223344;  // the test peer's receiver index

Key key_of(uint8_t fill) {
  Key k;
  k.fill(fill);
  return k;
}

// The engine's side of a session with node 2, the test's peer: it sends
// under `send` to the peer's index, and receives under `receive` at the
// index it reserved.
struct Session {
  Key send = key_of(0x5a);
  Key receive = key_of(0xa5);
  uint32_t local_index = 0;
};

FixtureOptions wireguard_node(int self) {
  return {.self = self, .backend = BackendType::kWireguard};
}

// Installs `s` for node `peer` in `f`'s engine.
void install(EngineFixture& f, int peer, Session& s, bool initiator = true) {
  s.local_index = f.add_wireguard_keypair(peer, s.send, s.receive, kPeerIndex, initiator);
}

wireguard::ChaChaPoly cipher() {
  auto aead = wireguard::ChaChaPoly::create();
  if (!aead) throw std::runtime_error("no ChaCha20-Poly1305");
  return std::move(*aead);
}

class WireguardPath : public ::testing::Test {
 protected:
  void SetUp() override {
    f_.add_node(2);
    f_.add_node(3);
    install(f_, 2, session_);
  }
  // Injects the peer's frames, returns what reached the overlay.
  std::vector<Bytes> receive(const std::vector<Bytes>& messages, int peer = 2) {
    std::vector<Bytes> frames;
    for (const Bytes& m : messages) frames.push_back(f_.wireguard_from(peer, m));
    return f_.from_underlay(frames);
  }
  Bytes sealed_to_us(uint64_t counter, const Bytes& plain) {
    return testing::wireguard_transport(session_.receive, session_.local_index, counter, plain);
  }

  EngineFixture f_{wireguard_node(1)};
  Session session_;
};

TEST(WireguardConfig, OverlayMtuIsTheUnderlaysLess80ForBothFamilies) {
  DataplaneConfig d;
  d.backend = BackendType::kWireguard;
  d.underlay_mtu = 1500;
  EXPECT_EQ(d.overlay_mtu(), 1420);
  EXPECT_EQ(d.overlay_mtu6(), 1420);
  EXPECT_STREQ(backend_type_name(BackendType::kWireguard), "wireguard");
}

TEST_F(WireguardPath, EgressSealsThePodPacketInATransportMessageToThePeer) {
  const Bytes frame =
      f_.pod_frame(Ipv4Addr{EngineFixture::node(2).subnet.addr.value + 7}, 4242, 51);
  const Bytes inner = testing::l3_of(frame);  // 79 bytes: padded to 80
  const auto sent = f_.from_overlay({frame, frame});
  ASSERT_EQ(sent.size(), 2u);
  for (uint64_t counter = 0; counter < 2; ++counter) {
    const Bytes& out = sent[counter];
    const size_t message = kUdpTunnelHeaders;
    ASSERT_EQ(out.size(), message + 16 + 80 + 16);
    // Ethernet to the peer's MAC, IPv4 from us to its public IP, UDP from
    // our ListenPort to ours too: the route names no peer Port (flannel alike).
    EXPECT_EQ(0, std::memcmp(out.data(), EngineFixture::node(2).underlay_mac.bytes.data(), 6));
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(out.data() + kEthLen);
    EXPECT_EQ(ip->dst_addr, EngineFixture::node(2).public_ip.be());
    EXPECT_EQ(ip->src_addr, f_.self().public_ip.be());
    EXPECT_EQ(rte_be_to_cpu_16(ip->total_length), out.size() - kEthLen);
    EXPECT_EQ(testing::internet_checksum(out.data() + kEthLen, kIpv4Len), 0);
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(out.data() + kEthLen + kIpv4Len);
    EXPECT_EQ(rte_be_to_cpu_16(udp->src_port), testing::kWireguardPort);
    EXPECT_EQ(rte_be_to_cpu_16(udp->dst_port), testing::kWireguardPort);
    EXPECT_EQ(rte_be_to_cpu_16(udp->dgram_len), out.size() - kEthLen - kIpv4Len);
    Bytes resealed = out;
    testing::seal_udp(resealed);
    EXPECT_EQ(resealed, out) << "the outer UDP checksum is not the computed one";
    // Type 4, the peer's index, the counter; then the peer opens it.
    const uint8_t* msg = out.data() + message;
    EXPECT_EQ(wireguard::load_le32(msg), 4u);
    EXPECT_EQ(wireguard::load_le32(msg + 4), kPeerIndex);
    EXPECT_EQ(wireguard::load_le64(msg + 8), counter);
    Bytes plain(80);
    ASSERT_TRUE(cipher().open(session_.send, counter, {}, msg + 16, 96, plain.data()));
    Bytes expect = inner;
    expect[8] -= 1;  // TTL: tartan is the pod's hop
    expect.resize(80, 0);
    // The IPv4 checksum follows the TTL; compare the rest.
    expect[10] = plain[10];
    expect[11] = plain[11];
    EXPECT_EQ(plain, expect);
  }
  for (const PeerStats& p : f_.engine().stats().peers) {
    EXPECT_EQ(p.encap_packets, p.public_ip == EngineFixture::node(2).public_ip ? 2u : 0u);
  }
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

TEST_F(WireguardPath, PaddingStopsAtTheOverlayMtu) {
  // 1419 bytes of IPv4 (MTU 1420): padded to 1420, not 1424.
  const Bytes frame =
      f_.pod_frame(Ipv4Addr{EngineFixture::node(2).subnet.addr.value + 7}, 4242, 1419 - 28);
  const auto sent = f_.from_overlay({frame});
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].size(), kUdpTunnelHeaders + 16 + 1420 + 16);
}

TEST_F(WireguardPath, APacketWithoutTailroomForTheTagIsDroppedAsNoRoom) {
  const Bytes frame = f_.pod_frame(Ipv4Addr{EngineFixture::node(2).subnet.addr.value + 7});
  rte_mbuf* m = testing::to_mbuf(f_.pool(), frame);
  // The frame moved to the end of its buffer: no byte of tailroom.
  const uint16_t at = static_cast<uint16_t>(m->buf_len - frame.size());
  std::memmove(static_cast<uint8_t*>(m->buf_addr) + at, rte_pktmbuf_mtod(m, uint8_t*),
               frame.size());
  m->data_off = at;
  ASSERT_EQ(f_.overlay_port().inject({m}), 1u);
  f_.poll();
  EXPECT_TRUE(f_.take_underlay().empty());
  EXPECT_EQ(f_.drops(DropReason::kWgNoRoom), 1u);
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

TEST_F(WireguardPath, IngressOpensDeliversAndRecordsTheEndpoint) {
  const Bytes inner = f_.pod_packet_from(2, f_.pod_ip(20), 100);
  const auto out = receive({sealed_to_us(0, inner)});
  ASSERT_EQ(out.size(), 1u);
  // The overlay's Ethernet header, then the packet (its TTL spent here).
  EXPECT_EQ(0, std::memcmp(out[0].data(), EngineFixture::kOverlayMac.bytes.data(), 6));
  Bytes delivered = testing::l3_of(out[0]);
  ASSERT_EQ(delivered.size(), inner.size());
  EXPECT_EQ(delivered[8], 62);
  EXPECT_EQ(Bytes(delivered.begin() + 12, delivered.end()), Bytes(inner.begin() + 12, inner.end()));
  for (const PeerStats& p : f_.engine().stats().peers) {
    EXPECT_EQ(p.decap_packets, p.public_ip == EngineFixture::node(2).public_ip ? 1u : 0u);
  }
  auto peer = f_.engine().wireguard_peer(EngineFixture::node(2).public_ip);
  ASSERT_TRUE(peer);
  ASSERT_TRUE(peer->since_last_rx.has_value());
  EXPECT_EQ(peer->endpoint_ip, IpAddr{EngineFixture::node(2).public_ip});
  EXPECT_EQ(peer->endpoint_port, testing::kWireguardPort);
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

TEST_F(WireguardPath, ThePeerViewCountsTransferBothWaysWithItsTimes) {
  const Ipv4Addr peer_ip = EngineFixture::node(2).public_ip;
  auto fresh = f_.engine().wireguard_peer(peer_ip);
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(fresh->since_handshake.has_value()) << "the install is the latest handshake";
  EXPECT_FALSE(fresh->since_last_tx.has_value());
  EXPECT_FALSE(fresh->since_last_data_rx.has_value());
  const auto sent = f_.from_overlay(
      {f_.pod_frame(Ipv4Addr{EngineFixture::node(2).subnet.addr.value + 7}, 4242, 51)});
  ASSERT_EQ(sent.size(), 1u);
  const Bytes inner = f_.pod_packet_from(2, f_.pod_ip(20), 100);
  const auto delivered = receive({sealed_to_us(0, inner), sealed_to_us(1, inner)});
  ASSERT_EQ(delivered.size(), 2u);
  auto peer = f_.engine().wireguard_peer(peer_ip);
  ASSERT_TRUE(peer);
  // Sent: the frame on the underlay; received: the frames delivered.
  EXPECT_EQ(peer->tx_packets, 1u);
  EXPECT_EQ(peer->tx_bytes, sent[0].size());
  EXPECT_EQ(peer->rx_packets, 2u);
  EXPECT_EQ(peer->rx_bytes, delivered[0].size() + delivered[1].size());
  EXPECT_TRUE(peer->since_last_tx.has_value());
  EXPECT_TRUE(peer->since_last_data_rx.has_value());
  EXPECT_NE(peer->last_tx_tsc, 0u);
  EXPECT_NE(peer->last_data_rx_tsc, 0u);
  // Node 3 had none of it.
  auto other = f_.engine().wireguard_peer(EngineFixture::node(3).public_ip);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->tx_packets + other->rx_packets, 0u);
  EXPECT_FALSE(other->since_handshake.has_value());
}

TEST_F(WireguardPath, ARoamedPeerIsSentToWhereItsPacketsCameFrom) {
  const Ipv4Addr peer_ip = EngineFixture::node(2).public_ip;
  // Node 2's packets now come from node 3's address (a neighbour already
  // known here), port 40000: where the control side points its next hop.
  const Ipv4Addr roamed = EngineFixture::node(3).public_ip;
  const Bytes inner = f_.pod_packet_from(2, f_.pod_ip(20), 100);
  ASSERT_EQ(f_.from_underlay({f_.wireguard_from(2, sealed_to_us(0, inner), roamed, 40000)}).size(),
            1u);
  auto peer = f_.engine().wireguard_peer(peer_ip);
  ASSERT_TRUE(peer);
  EXPECT_EQ(peer->endpoint_ip, IpAddr{roamed});
  EXPECT_EQ(peer->endpoint_port, 40000);
  ASSERT_TRUE(f_.engine().wireguard_set_endpoint(peer_ip, roamed, 40000).ok());
  const Bytes frame = f_.pod_frame(Ipv4Addr{EngineFixture::node(2).subnet.addr.value + 7});
  const auto sent = f_.from_overlay({frame});
  ASSERT_EQ(sent.size(), 1u);
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(sent[0].data() + kEthLen);
  const auto* udp = reinterpret_cast<const rte_udp_hdr*>(sent[0].data() + kEthLen + kIpv4Len);
  EXPECT_EQ(0, std::memcmp(sent[0].data(), EngineFixture::node(3).underlay_mac.bytes.data(), 6));
  EXPECT_EQ(ip->dst_addr, roamed.be());
  EXPECT_EQ(rte_be_to_cpu_16(udp->dst_port), 40000);
  EXPECT_EQ(rte_be_to_cpu_16(udp->src_port), testing::kWireguardPort);
  EXPECT_EQ(testing::internet_checksum(sent[0].data() + kEthLen, kIpv4Len), 0);
  Bytes resealed = sent[0];
  testing::seal_udp(resealed);
  EXPECT_EQ(resealed, sent[0]) << "the outer UDP checksum is not the computed one";
  // The same peer: its session, its counters and its routes' public IP.
  const uint8_t* msg = sent[0].data() + kUdpTunnelHeaders;
  EXPECT_EQ(wireguard::load_le32(msg + 4), kPeerIndex);
  EXPECT_EQ(f_.engine().wireguard_peer(peer_ip)->tx_packets, 1u);
  for (const RouteView& r : f_.engine().routes()) {
    if (r.prefix == EngineFixture::node(2).subnet) {
      EXPECT_EQ(r.public_ip, peer_ip);
    }
  }
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

TEST_F(WireguardPath, ARoamedPeerComesBackToItsPublicIp) {
  const Ipv4Addr peer_ip = EngineFixture::node(2).public_ip;
  const Ipv4Addr roamed = EngineFixture::node(3).public_ip;
  ASSERT_TRUE(f_.engine().wireguard_set_endpoint(peer_ip, roamed, 40000).ok());
  EXPECT_TRUE(f_.engine().wireguard_set_endpoint(peer_ip, roamed, 40000).ok()) << "no change";
  f_.poll();
  ASSERT_TRUE(f_.engine().wireguard_set_endpoint(peer_ip, peer_ip, testing::kWireguardPort).ok());
  const auto sent =
      f_.from_overlay({f_.pod_frame(Ipv4Addr{EngineFixture::node(2).subnet.addr.value + 7})});
  ASSERT_EQ(sent.size(), 1u);
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(sent[0].data() + kEthLen);
  EXPECT_EQ(ip->dst_addr, peer_ip.be());
  EXPECT_EQ(0, std::memcmp(sent[0].data(), EngineFixture::node(2).underlay_mac.bytes.data(), 6));
  EXPECT_EQ(f_.engine().wireguard_set_endpoint(*Ipv4Addr::parse("192.0.2.200"), roamed, 1).code(),
            ErrorCode::kNotFound)
      << "no routes: no peer";
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

// flannel since v0.26.6: a node's backend-data names its ListenPort, where
// its peers send (each from its own ListenPort); a node naming none is
// sent to at ours, as older flannel did.
TEST_F(WireguardPath, EgressGoesToThePortThePeerAnnouncesFromOurListenPort) {
  const auto next_hop_to_node2 = [&] {
    for (const RouteView& r : f_.engine().routes())
      if (r.prefix == EngineFixture::node(2).subnet) return r.next_hop_id;
    throw std::runtime_error("no route to node 2");
  };
  // The UDP ports of a pod packet sent to node 2 (its outer checksum checked).
  const auto ports_to_node2 = [&] {
    const auto sent =
        f_.from_overlay({f_.pod_frame(Ipv4Addr{EngineFixture::node(2).subnet.addr.value + 7})});
    if (sent.size() != 1) throw std::runtime_error("nothing sent to node 2");
    Bytes resealed = sent[0];
    testing::seal_udp(resealed);
    EXPECT_EQ(resealed, sent[0]) << "the outer UDP checksum is not the computed one";
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(sent[0].data() + kEthLen + kIpv4Len);
    return std::pair{rte_be_to_cpu_16(udp->src_port), rte_be_to_cpu_16(udp->dst_port)};
  };
  const auto announce = [&](uint16_t port) {
    TableDelta d;
    d.upsert_routes.push_back(f_.route_to(2));
    d.upsert_routes.back().peer_port = port;
    ASSERT_TRUE(f_.engine().apply(d).ok());
  };
  const uint32_t unnamed = next_hop_to_node2();
  EXPECT_EQ(ports_to_node2(), std::pair(testing::kWireguardPort, testing::kWireguardPort));

  // Another port is another next hop (as another VtepMAC is): a session
  // starts over with it.
  announce(51999);
  EXPECT_NE(next_hop_to_node2(), unnamed);
  Session again;
  install(f_, 2, again);
  EXPECT_EQ(ports_to_node2(), std::pair(testing::kWireguardPort, uint16_t{51999}));

  // Back to none named: ours again.
  announce(0);
  const uint32_t ours = next_hop_to_node2();
  install(f_, 2, again);
  EXPECT_EQ(ports_to_node2(), std::pair(testing::kWireguardPort, testing::kWireguardPort));
  // Naming our own port is naming none: the same next hop, its session kept.
  announce(testing::kWireguardPort);
  EXPECT_EQ(next_hop_to_node2(), ours);
  EXPECT_EQ(ports_to_node2(), std::pair(testing::kWireguardPort, testing::kWireguardPort));
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

TEST_F(WireguardPath, RefusalsAreDroppedUnderTheirNames) {
  const Bytes inner = f_.pod_packet_from(2, f_.pod_ip(20), 100);
  Bytes flipped = sealed_to_us(0, inner);
  flipped[40] ^= 1;
  Bytes unknown = sealed_to_us(1, inner);
  wireguard::store_le32(unknown.data() + 4, session_.local_index ^ 0x80000000u);
  const Bytes good = sealed_to_us(2, inner);
  Bytes bad_type = good;
  bad_type[0] = 5;
  const Bytes truncated(good.begin(), good.begin() + 31);
  const auto out = receive({flipped, unknown, good, good, bad_type, truncated,
                            // node 3's pod, through node 2's keypair
                            sealed_to_us(3, f_.pod_packet_from(3, f_.pod_ip(20), 100)),
                            // neither IPv4 nor IPv6 inside
                            sealed_to_us(4, Bytes{0x50, 0, 0, 0, 0, 0, 17, 64})});
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(f_.drops(DropReason::kWgBadMac), 1u);
  EXPECT_EQ(f_.drops(DropReason::kWgUnknownIndex), 1u);
  EXPECT_EQ(f_.drops(DropReason::kWgReplayed), 1u);
  EXPECT_EQ(f_.drops(DropReason::kWgBadType), 1u);
  EXPECT_EQ(f_.drops(DropReason::kWgTruncated), 1u);
  EXPECT_EQ(f_.drops(DropReason::kWgNotAllowedIp), 1u);
  EXPECT_EQ(f_.drops(DropReason::kWgInnerNotIp), 1u);
  EXPECT_EQ(f_.total_drops(), 7u);
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

TEST_F(WireguardPath, KeepaliveIsCountedAndFreed) {
  const auto out = receive({sealed_to_us(0, {})});
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(f_.engine().stats().events.wg_keepalives, 1u);
  EXPECT_EQ(f_.total_drops(), 0u);
  const auto peer = f_.engine().wireguard_peer(EngineFixture::node(2).public_ip);
  EXPECT_TRUE(peer->since_last_rx);
  // Received, but no data: no passive keepalive is owed for it.
  EXPECT_FALSE(peer->since_last_data_rx);
  EXPECT_EQ(peer->rx_packets, 0u);
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

TEST_F(WireguardPath, HandshakeMessagesGoToTheControlThreadUnopened) {
  Bytes initiation(sizeof(wireguard::Initiation), 0x77);
  wireguard::store_le32(initiation.data(), 1);
  Bytes response(sizeof(wireguard::Response), 0x66);
  wireguard::store_le32(response.data(), 2);
  Bytes cookie(sizeof(wireguard::CookieReply), 0x55);
  wireguard::store_le32(cookie.data(), 3);
  EXPECT_TRUE(receive({initiation, response, cookie}).empty());
  const std::vector<WireguardMessage> got = f_.engine().take_wireguard_messages();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].bytes, initiation);
  EXPECT_EQ(got[1].bytes, response);
  EXPECT_EQ(got[2].bytes, cookie);
  EXPECT_EQ(got[0].source, IpAddr{EngineFixture::node(2).public_ip});
  EXPECT_EQ(got[0].source_port, testing::kWireguardPort);
  EXPECT_EQ(f_.engine().stats().events.wg_handshakes, 3u);
  EXPECT_TRUE(f_.engine().take_wireguard_messages().empty());
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

TEST_F(WireguardPath, HandshakeMessagesBeyondTheQueueAreDroppedAndCounted) {
  Bytes initiation(sizeof(wireguard::Initiation), 0x77);
  wireguard::store_le32(initiation.data(), 1);
  constexpr size_t kOver = 100;
  const std::vector<Bytes> frames(Engine::kMaxWireguardMessages + kOver,
                                  f_.wireguard_from(2, initiation));
  // The workers hand over a burst at a time; none is taken meanwhile.
  f_.from_underlay(frames);
  f_.poll(static_cast<int>(frames.size() / 32 + 1));
  EXPECT_EQ(f_.drops(DropReason::kWgHandshakeQueueFull), kOver);
  EXPECT_EQ(f_.engine().take_wireguard_messages().size(), Engine::kMaxWireguardMessages);
  EXPECT_EQ(f_.total_drops(), kOver);
  EXPECT_EQ(f_.mbufs_in_use(), 0);
}

TEST(WireguardEgress, WithoutAKeypairDropsAndAsksForAHandshake) {
  EngineFixture f(wireguard_node(1));
  f.add_node(2);
  const Ipv4Addr peer = EngineFixture::node(2).public_ip;
  EXPECT_TRUE(f.from_overlay({f.pod_frame(Ipv4Addr{EngineFixture::node(2).subnet.addr.value + 7})})
                  .empty());
  EXPECT_EQ(f.drops(DropReason::kWgNoSession), 1u);
  EXPECT_EQ(*f.engine().wireguard_take_wants(peer), kWireguardWantsHandshake);
  EXPECT_EQ(*f.engine().wireguard_take_wants(peer), 0);
  EXPECT_EQ(f.mbufs_in_use(), 0);
}

// Node 1 with a keypair to node 2 under `times`.
struct Keyed {
  explicit Keyed(const WireguardTimes& times)
      : f({.self = 1, .backend = BackendType::kWireguard, .wireguard_times = times}) {
    f.add_node(2);
    install(f, 2, s);
  }
  EngineFixture f;
  Session s;
};

TEST(WireguardEgress, InitiatorWantsARekeyAfterRekeyAfterTime) {
  Keyed keyed({.rekey_after = std::chrono::nanoseconds(0)});
  EngineFixture& f = keyed.f;
  EXPECT_EQ(
      f.from_overlay({f.pod_frame(Ipv4Addr{EngineFixture::node(2).subnet.addr.value + 7})}).size(),
      1u);
  EXPECT_EQ(*f.engine().wireguard_take_wants(EngineFixture::node(2).public_ip),
            kWireguardWantsRekey);
}

// Whitepaper 6.2: REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT is 0
// under these times, so every keypair is old enough.
constexpr WireguardTimes kRekeyOnReceive{.reject_after = wireguard::kKeepaliveTimeout +
                                                         wireguard::kRekeyTimeout};

TEST(WireguardIngress, TheInitiatorReceivingOnAnAgedKeypairWantsARekey) {
  Keyed keyed(kRekeyOnReceive);
  EngineFixture& f = keyed.f;
  const Bytes msg = testing::wireguard_transport(keyed.s.receive, keyed.s.local_index, 0,
                                                 f.pod_packet_from(2, f.pod_ip()));
  ASSERT_EQ(f.from_underlay({f.wireguard_from(2, msg)}).size(), 1u);
  EXPECT_EQ(*f.engine().wireguard_take_wants(EngineFixture::node(2).public_ip),
            kWireguardWantsRekey);
}

TEST(WireguardIngress, TheResponderAndAYoungKeypairWantNoRekeyOnReceiving) {
  for (const bool initiator : {false, true}) {
    EngineFixture f({.self = 1,
                     .backend = BackendType::kWireguard,
                     .wireguard_times = initiator ? WireguardTimes{} : kRekeyOnReceive});
    f.add_node(2);
    Session s;
    install(f, 2, s, initiator);
    const Bytes msg =
        testing::wireguard_transport(s.receive, s.local_index, 0, f.pod_packet_from(2, f.pod_ip()));
    ASSERT_EQ(f.from_underlay({f.wireguard_from(2, msg)}).size(), 1u);
    EXPECT_EQ(*f.engine().wireguard_take_wants(EngineFixture::node(2).public_ip), 0)
        << (initiator ? "young initiator keypair" : "aged responder keypair");
  }
}

TEST(WireguardEgress, KeypairsPastRejectAfterTimeAreRefusedBothWays) {
  Keyed keyed({.reject_after = std::chrono::nanoseconds(0)});
  EngineFixture& f = keyed.f;
  const Session& s = keyed.s;
  EXPECT_TRUE(f.from_overlay({f.pod_frame(Ipv4Addr{EngineFixture::node(2).subnet.addr.value + 7})})
                  .empty());
  EXPECT_EQ(f.drops(DropReason::kWgNoSession), 1u);
  const Bytes msg =
      testing::wireguard_transport(s.receive, s.local_index, 0, f.pod_packet_from(2, f.pod_ip()));
  EXPECT_TRUE(f.from_underlay({f.wireguard_from(2, msg)}).empty());
  EXPECT_EQ(f.drops(DropReason::kWgKeyExpired), 1u);
}

// A peer that only sends to us (we never do) still gets a new session
// when ours expires: it may be waiting for us to start one.
TEST(WireguardIngress, AnExpiredCurrentKeypairAsksForAHandshake) {
  Keyed keyed({.reject_after = std::chrono::nanoseconds(0)});
  EngineFixture& f = keyed.f;
  const Session& s = keyed.s;
  const Bytes msg =
      testing::wireguard_transport(s.receive, s.local_index, 0, f.pod_packet_from(2, f.pod_ip()));
  EXPECT_TRUE(f.from_underlay({f.wireguard_from(2, msg)}).empty());
  EXPECT_EQ(f.drops(DropReason::kWgKeyExpired), 1u);
  EXPECT_EQ(*f.engine().wireguard_take_wants(EngineFixture::node(2).public_ip),
            kWireguardWantsHandshake);
  EXPECT_EQ(f.mbufs_in_use(), 0);
}

TEST(WireguardSessions, IndexesAreReservedInstalledOnceAndRefusedOtherwise) {
  EngineFixture f(wireguard_node(1));
  f.add_node(2);
  wireguard::Keypair kp{};
  kp.local_index = 12345;  // never reserved
  kp.initiator = true;
  EXPECT_FALSE(f.engine().wireguard_install(EngineFixture::node(2).public_ip, kp).ok());
  auto index = f.engine().wireguard_reserve_index();
  ASSERT_TRUE(index);
  EXPECT_NE(*index, 0u);
  kp.local_index = *index;
  EXPECT_FALSE(f.engine().wireguard_install(EngineFixture::node(3).public_ip, kp).ok())
      << "node 3 has no routes";
  EXPECT_TRUE(f.engine().wireguard_install(EngineFixture::node(2).public_ip, kp).ok());
  EXPECT_FALSE(f.engine().wireguard_install(EngineFixture::node(2).public_ip, kp).ok())
      << "an index holds one keypair";
  auto spare = f.engine().wireguard_reserve_index();
  ASSERT_TRUE(spare);
  f.engine().wireguard_release_index(*spare);
  kp.local_index = *spare;
  EXPECT_FALSE(f.engine().wireguard_install(EngineFixture::node(2).public_ip, kp).ok())
      << "a released index is no handshake's";
  EngineFixture vxlan;
  EXPECT_EQ(vxlan.engine().wireguard_reserve_index().status().code(),
            ErrorCode::kFailedPrecondition);
}

TEST(WireguardRoundTrip, TheResponderSendsOnceTheInitiatorsFirstPacketConfirmsItsKeypair) {
  EngineFixture a(wireguard_node(1));
  EngineFixture b(wireguard_node(2));
  a.add_node(2);
  b.add_node(1);
  testing::add_wireguard_handshake(a, b);
  // B's keypair is next: no sending on it yet.
  EXPECT_TRUE(b.from_overlay({b.pod_frame(a.pod_ip())}).empty());
  EXPECT_EQ(b.drops(DropReason::kWgNoSession), 1u);
  EXPECT_EQ(b.from_underlay(a.from_overlay({a.pod_frame(b.pod_ip(20))})).size(), 1u);
  // The control pass that delivery ran made it current.
  const auto back = b.from_overlay({b.pod_frame(a.pod_ip(), 5353, 1300)});
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(a.from_underlay(back).size(), 1u);
  EXPECT_EQ(a.total_drops(), 0u);
  auto view = b.engine().wireguard_peer(EngineFixture::node(1).public_ip);
  EXPECT_TRUE(view->has_current);
  EXPECT_FALSE(view->has_next);
}

}  // namespace
}  // namespace tartan
