// The wireguard backend's handshake side (control/wireguard): two engines,
// each with its WireguardPeers, complete handshakes over their underlays
// on their own, after which pods' packets cross both ways; they retry,
// give up, follow a peer's new key, keep sessions alive, and count every
// handshake message they refuse.
#include "control/wireguard/wireguard_peers.h"

#include <gtest/gtest.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>
#include <tuple>

#include "engine/backends/headers.h"
#include "engine/wireguard/x25519.h"
#include "tests/support/engine_fixture.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;
using testing::EngineFixture;
using wireguard::Key;
using wireguard::Reject;

Key new_private_key() {
  return wireguard::generate_private_key(wireguard::os_random);
}

// One node: its engine and its handshake side, on a clock the test steps.
struct Node {
  explicit Node(int self, std::chrono::seconds keepalive = 0s, WireguardTimes times = {},
                bool ipv6 = false, bool one_device = false)
      : fx({.self = self,
            .backend = BackendType::kWireguard,
            .wireguard_times = times,
            .wireguard_one_device = one_device,
            .ipv6 = ipv6}),
        private_key(new_private_key()),
        peers(make(keepalive)) {}

  std::unique_ptr<WireguardPeers> make(std::chrono::seconds keepalive) {
    auto p = WireguardPeers::create(fx.engine(), {private_key, {}, keepalive});
    if (!p) throw std::runtime_error(p.status().message());
    return std::move(p).value();
  }
  // Knows `other` as its peer (the route to it and its PublicKey).
  void meet(const Node& other) {
    fx.add_node(other.fx.options().self);
    peers->set_peers({{other.fx.self().public_ip, other.peers->public_key()}}, now);
  }
  void tick() {
    peers->tick(now, std::chrono::system_clock::now());
    fx.poll();
  }
  uint64_t rejected(Reject r) const { return peers->counters().rejected[static_cast<size_t>(r)]; }

  EngineFixture fx;
  Key private_key;
  std::unique_ptr<WireguardPeers> peers;
  nanoseconds now{1h};
};

// What `from` sent on its underlay goes into `to`'s; what `to` delivered
// to its overlay is returned.
std::vector<testing::Bytes> cross(Node& from, Node& to) {
  return to.fx.from_underlay(from.fx.take_underlay());
}

// Ticks both nodes, their frames crossing, `rounds` times.
void converse(Node& a, Node& b, int rounds = 4) {
  for (int i = 0; i < rounds; ++i) {
    a.tick();
    cross(a, b);
    b.tick();
    cross(b, a);
  }
}

// A pod of `from` sends to a pod of `to`: whether it arrived.
bool pod_packet_arrives(Node& from, Node& to) {
  return to.fx.from_underlay(from.fx.from_overlay({from.fx.pod_frame(to.fx.pod_ip(20))})).size() ==
         1;
}

TEST(WireguardPeers, TwoNodesHandshakeOnTheirOwnAndPodsReachEachOther) {
  Node a(1), b(2);
  a.meet(b);
  b.meet(a);
  converse(a, b);
  // One handshake, whichever key is the smaller: each side completed it
  // once (the initiator's keypair, the responder's).
  EXPECT_EQ(a.peers->counters().completed, 1u);
  EXPECT_EQ(b.peers->counters().completed, 1u);
  EXPECT_EQ(a.peers->counters().initiations_sent + b.peers->counters().initiations_sent, 1u);
  EXPECT_TRUE(pod_packet_arrives(a, b));
  EXPECT_TRUE(pod_packet_arrives(b, a));
}

// flannel's Mode separate: a node's IPv4 pods behind flannel-wg, its IPv6
// pods behind flannel-wg-v6, one key, a handshake and session on each.
TEST(WireguardPeers, DualStackNodesHandshakeOnEachFamilysDeviceAndBothFamiliesPodsCross) {
  Node a(1, 0s, {}, true), b(2, 0s, {}, true);
  for (auto [self, other] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    const int i = other->fx.options().self;
    self->fx.add_node(i);
    self->fx.add_node6(i);
    self->peers->set_peers({{other->fx.self().public_ip, other->peers->public_key()},
                            {other->fx.self6().public_ip, other->peers->public_key()}},
                           self->now);
  }
  converse(a, b);
  EXPECT_EQ(a.peers->counters().completed, 2u);
  EXPECT_EQ(b.peers->counters().completed, 2u);
  EXPECT_EQ(a.peers->counters().rejected, decltype(a.peers->counters().rejected){});
  EXPECT_EQ(b.peers->counters().rejected, decltype(b.peers->counters().rejected){});
  // Each device's peer has its own session.
  const auto v4 = a.fx.engine().wireguard_peer(b.fx.self().public_ip);
  const auto v6 = a.fx.engine().wireguard_peer(b.fx.self6().public_ip);
  ASSERT_TRUE(v4.ok() && v6.ok());
  EXPECT_TRUE(v4->since_handshake && v6->since_handshake);
  EXPECT_TRUE(pod_packet_arrives(a, b));
  EXPECT_TRUE(pod_packet_arrives(b, a));
  for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    EXPECT_EQ(to->fx.from_underlay(from->fx.from_overlay({from->fx.pod_frame6(to->fx.pod_ip6(20))}))
                  .size(),
              1u);
  }
  // The IPv6 pods' packets went over the IPv6 sessions only.
  EXPECT_NE(a.fx.engine().wireguard_peer(b.fx.self6().public_ip)->tx_packets, 0u);
}

// flannel's one-device modes: one flannel-wg, each node one peer reached
// over the IPv4 underlay (Mode ipv4) or the IPv6 one (Mode ipv6), whose one
// session carries both families' pods. `self` reaches `other` over IPv6
// when `over_ipv6`.
void meet_on_one_device(Node& self, const Node& other, bool over_ipv6) {
  const int i = other.fx.options().self;
  TableDelta d;
  RouteSpec r4 = self.fx.route_to(i);
  Route6Spec r6 = self.fx.route6_to(i);
  if (over_ipv6) {
    r4.cross_ip = EngineFixture::node6(i).public_ip;
  } else {
    r6.cross_ip = EngineFixture::node(i).public_ip;
  }
  d.upsert_routes.push_back(r4);
  d.upsert_routes6.push_back(r6);
  d.set_neighbours.push_back(
      {EngineFixture::node(i).public_ip, EngineFixture::node(i).underlay_mac});
  d.set_neighbours6.push_back(
      {EngineFixture::node6(i).public_ip, EngineFixture::node6(i).underlay_mac});
  ASSERT_TRUE(self.fx.engine().apply(d).ok());
  const IpAddr peer = over_ipv6 ? IpAddr{EngineFixture::node6(i).public_ip}
                                : IpAddr{EngineFixture::node(i).public_ip};
  self.peers->set_peers({{peer, other.peers->public_key()}}, self.now);
}

// a reaches b over IPv6 when `a_over_ipv6`, b reaches a over IPv6 when
// `b_over_ipv6`: one handshake, then both families' pods cross both ways,
// each sealed over the family its sender picked.
void one_device_dual_stack(bool a_over_ipv6, bool b_over_ipv6) {
  Node a(1, 0s, {}, true, true), b(2, 0s, {}, true, true);
  meet_on_one_device(a, b, a_over_ipv6);
  meet_on_one_device(b, a, b_over_ipv6);
  converse(a, b);
  EXPECT_EQ(a.peers->counters().completed, 1u);
  EXPECT_EQ(b.peers->counters().completed, 1u);
  EXPECT_EQ(a.peers->counters().rejected, decltype(a.peers->counters().rejected){});
  EXPECT_EQ(b.peers->counters().rejected, decltype(b.peers->counters().rejected){});
  for (auto [from, to, over_ipv6] :
       {std::tuple{&a, &b, a_over_ipv6}, std::tuple{&b, &a, b_over_ipv6}}) {
    const uint8_t outer_type = over_ipv6 ? 0xdd : 0x00;  // 0x86dd or 0x0800
    for (const testing::Bytes& frame :
         {from->fx.pod_frame(to->fx.pod_ip(20)), from->fx.pod_frame6(to->fx.pod_ip6(20))}) {
      const auto sealed = from->fx.from_overlay({frame});
      ASSERT_EQ(sealed.size(), 1u);
      EXPECT_EQ(sealed[0][13], outer_type) << "sealed over the family the sender picked";
      const auto delivered = to->fx.from_underlay(sealed);
      ASSERT_EQ(delivered.size(), 1u);
      EXPECT_EQ(delivered[0][12], frame[12]) << "the inner family as sent";
      EXPECT_EQ(delivered[0][13], frame[13]);
    }
  }
  for (Node* n : {&a, &b}) {
    EXPECT_EQ(n->fx.drops(DropReason::kWgNotAllowedIp), 0u);
    EXPECT_EQ(n->fx.drops(DropReason::kWgUnknownIndex), 0u);
  }
}

TEST(WireguardPeers, OneDeviceModeIpv4CarriesBothFamiliesPodsInOneSessionOverIpv4) {
  one_device_dual_stack(false, false);
}

TEST(WireguardPeers, OneDeviceModeIpv6CarriesBothFamiliesPodsInOneSessionOverIpv6) {
  one_device_dual_stack(true, true);
}

// flannel's auto is not symmetric: a node with a public IPv4 reaches one
// with a private IPv4 over IPv6 (both IPv6 public), which reaches it over
// IPv4. One device hears its peer over either family, so one session
// still forms and carries both ways.
TEST(WireguardPeers, OneDeviceAutoPickingADifferentFamilyAtEachEndStillSharesOneSession) {
  one_device_dual_stack(true, false);
}

TEST(WireguardPeers, TheLargerKeyInitiatesAfterRekeyTimeoutWhenThePeerWaits) {
  Node a(1), b(2);
  Node& larger = a.peers->public_key() < b.peers->public_key() ? b : a;
  Node& smaller = &larger == &a ? b : a;
  // The smaller side does not know the larger one yet: it neither
  // initiates nor answers (the initiation is refused as from no peer).
  larger.meet(smaller);
  smaller.fx.add_node(larger.fx.options().self);
  larger.tick();
  EXPECT_EQ(larger.peers->counters().initiations_sent, 0u);
  larger.now += wireguard::kRekeyTimeout;
  larger.tick();
  EXPECT_EQ(larger.peers->counters().initiations_sent, 1u);
  cross(larger, smaller);
  smaller.tick();
  EXPECT_EQ(smaller.peers->counters().responses_sent, 0u);
  EXPECT_EQ(smaller.rejected(Reject::kUnknownPeer), 1u);
}

TEST(WireguardPeers, UnansweredInitiationsAreRetriedThenGivenUp) {
  Node a(1), b(2);
  Node& first = a.peers->public_key() < b.peers->public_key() ? a : b;
  Node& other = &first == &a ? b : a;
  first.meet(other);
  first.tick();
  EXPECT_EQ(first.peers->counters().initiations_sent, 1u);
  first.now += 4s;  // before REKEY_TIMEOUT: no retry yet
  first.tick();
  EXPECT_EQ(first.peers->counters().initiations_sent, 1u);
  first.now += 1s + wireguard::kRekeyTimeoutJitterMax;
  first.tick();
  EXPECT_EQ(first.peers->counters().initiations_sent, 2u);
  for (int i = 0; i < 20; ++i) {
    first.now += wireguard::kRekeyTimeout + wireguard::kRekeyTimeoutJitterMax;
    first.tick();
  }
  EXPECT_EQ(first.peers->counters().attempts_expired, 1u);
  const uint64_t sent = first.peers->counters().initiations_sent;
  EXPECT_LT(sent, 20u);  // none after REKEY_ATTEMPT_TIME
  first.now += 1min;
  first.tick();
  EXPECT_EQ(first.peers->counters().initiations_sent, sent);
  // Traffic wants a session again: a new attempt.
  first.fx.from_overlay({first.fx.pod_frame(other.fx.pod_ip(20))});
  first.tick();
  EXPECT_EQ(first.peers->counters().initiations_sent, sent + 1);
}

TEST(WireguardPeers, APeerWithANewKeyIsAFreshPeer) {
  Node a(1), b(2);
  a.meet(b);
  b.meet(a);
  converse(a, b);
  ASSERT_TRUE(pod_packet_arrives(a, b));
  // b restarts with a new key: a learns it from b's annotation.
  b.private_key = new_private_key();
  b.peers = b.make(0s);
  b.peers->set_peers({{a.fx.self().public_ip, a.peers->public_key()}}, b.now);
  a.peers->set_peers({{b.fx.self().public_ip, b.peers->public_key()}}, a.now);
  auto view = a.fx.engine().wireguard_peer(b.fx.self().public_ip);
  ASSERT_TRUE(view.ok());
  EXPECT_FALSE(view->has_current) << "the old key's keypairs are cleared";
  converse(a, b);
  EXPECT_TRUE(pod_packet_arrives(a, b));
  EXPECT_TRUE(pod_packet_arrives(b, a));
}

// The node that initiated (the smaller key) and the responder, after a handshake.
struct Pair {
  // `keepalive`: a's persistent keepalive interval.
  explicit Pair(WireguardTimes times = {}, std::chrono::seconds keepalive = 0s)
      : a(1, keepalive, times), b(2, 0s, times) {
    a.meet(b);
    b.meet(a);
    converse(a, b);
  }
  Node& initiator() { return a.peers->public_key() < b.peers->public_key() ? a : b; }
  Node& responder() { return &initiator() == &a ? b : a; }
  Node a, b;
};

TEST(WireguardPeers, PersistentKeepalivesKeepTheSessionAlive) {
  Pair p({}, 25s);
  Node &a = p.a, &b = p.b;
  const uint64_t before = a.peers->counters().keepalives_sent;
  const uint64_t arrived = b.fx.engine().stats().events.wg_keepalives;
  a.now += 25s;
  a.tick();
  cross(a, b);
  EXPECT_EQ(a.peers->counters().keepalives_sent, before + 1);
  EXPECT_EQ(b.fx.engine().stats().events.wg_keepalives, arrived + 1);
}

TEST(WireguardPeers, PersistentKeepalivesAreSentOnlyWhenNothingElseWasForTheInterval) {
  Pair p({}, 25s);
  Node &a = p.a, &b = p.b;
  const uint64_t before = a.peers->counters().keepalives_sent;
  a.now += 20s;
  ASSERT_TRUE(pod_packet_arrives(a, b));
  a.tick();
  a.now += 10s;  // 30 s since the last keepalive, 10 s since the pod's packet
  a.tick();
  EXPECT_EQ(a.peers->counters().keepalives_sent, before);
  a.now += 15s;  // the interval since the pod's packet
  a.tick();
  EXPECT_EQ(a.peers->counters().keepalives_sent, before + 1);
}

TEST(WireguardPeers, DataLeftUnansweredForKeepaliveTimeoutGetsAPassiveKeepalive) {
  Pair p;
  Node& from = p.initiator();
  Node& to = p.responder();
  const uint64_t before = to.peers->counters().keepalives_sent;
  const uint64_t arrived = from.fx.engine().stats().events.wg_keepalives;
  ASSERT_TRUE(pod_packet_arrives(from, to));
  to.tick();
  to.now += wireguard::kKeepaliveTimeout - 1s;
  to.tick();
  EXPECT_EQ(to.peers->counters().keepalives_sent, before);
  to.now += 1s;
  to.tick();
  cross(to, from);
  EXPECT_EQ(to.peers->counters().keepalives_sent, before + 1);
  EXPECT_EQ(from.fx.engine().stats().events.wg_keepalives, arrived + 1);
  // Answered: nothing more until data comes again. A keepalive received
  // is no data: the sender of the first answers it with none.
  to.now += 1min;
  to.tick();
  from.now += 1min;
  from.tick();
  EXPECT_EQ(to.peers->counters().keepalives_sent, before + 1);
  EXPECT_EQ(from.peers->counters().keepalives_sent, 1u) << "the handshake's own only";
}

TEST(WireguardPeers, DataAnsweredWithinKeepaliveTimeoutGetsNoKeepalive) {
  Pair p;
  Node& from = p.initiator();
  Node& to = p.responder();
  const uint64_t before = to.peers->counters().keepalives_sent;
  ASSERT_TRUE(pod_packet_arrives(from, to));
  to.tick();
  to.now += 5s;
  ASSERT_TRUE(pod_packet_arrives(to, from));
  to.tick();
  to.now += 1min;
  to.tick();
  EXPECT_EQ(to.peers->counters().keepalives_sent, before);
}

TEST(WireguardPeers, TheInitiatorReceivingOnAKeypairNearRejectAfterTimeRekeys) {
  // REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT is 0 here: every
  // packet received on the keypair is late enough.
  Pair p({.reject_after = wireguard::kKeepaliveTimeout + wireguard::kRekeyTimeout});
  Node& initiator = p.initiator();
  Node& responder = p.responder();
  const uint64_t initiated = initiator.peers->counters().initiations_sent;
  const uint64_t answered = responder.peers->counters().initiations_sent;
  // The responder receiving on its keypair does not rekey: the initiator does.
  ASSERT_TRUE(pod_packet_arrives(initiator, responder));
  responder.tick();
  EXPECT_EQ(responder.peers->counters().initiations_sent, answered);
  ASSERT_TRUE(pod_packet_arrives(responder, initiator));
  initiator.tick();
  EXPECT_EQ(initiator.peers->counters().initiations_sent, initiated + 1);
}

TEST(WireguardPeers, ReceivingOnAYoungKeypairAsksForNoRekey) {
  Pair p;
  Node& initiator = p.initiator();
  const uint64_t initiated = initiator.peers->counters().initiations_sent;
  ASSERT_TRUE(pod_packet_arrives(p.responder(), initiator));
  initiator.tick();
  EXPECT_EQ(initiator.peers->counters().initiations_sent, initiated);
}

// `frame` (Ethernet/IPv4/UDP) as if sent from `ip`:`port`: through a NAT
// that rebound, or from another uplink.
testing::Bytes from_elsewhere(testing::Bytes frame, Ipv4Addr ip, uint16_t port) {
  constexpr size_t kIp = 14, kUdp = 34;
  const uint32_t be = ip.be();
  std::memcpy(&frame[kIp + 12], &be, 4);
  frame[kUdp] = static_cast<uint8_t>(port >> 8);
  frame[kUdp + 1] = static_cast<uint8_t>(port);
  frame[kIp + 10] = frame[kIp + 11] = 0;
  const uint16_t sum = testing::internet_checksum(&frame[kIp], 20);
  frame[kIp + 10] = static_cast<uint8_t>(sum >> 8);
  frame[kIp + 11] = static_cast<uint8_t>(sum);
  testing::seal_udp(frame);
  return frame;
}

TEST(WireguardPeers, APeerThatRoamedIsSentToWhereItsPacketsComeFrom) {
  Pair p;
  Node& from = p.initiator();
  Node& to = p.responder();
  // Node 3's address is one `to` has a neighbour for: where `from` now is.
  to.fx.add_node(3);
  const Ipv4Addr roamed = EngineFixture::node(3).public_ip;
  std::vector<testing::Bytes> frames = from.fx.from_overlay({from.fx.pod_frame(to.fx.pod_ip(20))});
  ASSERT_EQ(frames.size(), 1u);
  ASSERT_EQ(to.fx.from_underlay({from_elsewhere(frames[0], roamed, 40000)}).size(), 1u);
  to.tick();
  const auto sent = to.fx.from_overlay({to.fx.pod_frame(from.fx.pod_ip(20))});
  ASSERT_EQ(sent.size(), 1u);
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(sent[0].data() + kEthLen);
  const auto* udp = reinterpret_cast<const rte_udp_hdr*>(sent[0].data() + kEthLen + kIpv4Len);
  EXPECT_EQ(ip->dst_addr, roamed.be());
  EXPECT_EQ(rte_be_to_cpu_16(udp->dst_port), 40000);
  // The node's annotations did not change: its routes still name its public IP.
  auto view = to.fx.engine().wireguard_peer(from.fx.self().public_ip);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->endpoint_ip, IpAddr{roamed});
  // Back where it was: followed back.
  ASSERT_EQ(to.fx.from_underlay(from.fx.from_overlay({from.fx.pod_frame(to.fx.pod_ip(20))})).size(),
            1u);
  to.tick();
  const auto back = to.fx.from_overlay({to.fx.pod_frame(from.fx.pod_ip(20))});
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(reinterpret_cast<const rte_ipv4_hdr*>(back[0].data() + kEthLen)->dst_addr,
            from.fx.self().public_ip.be());
}

TEST(WireguardPeers, RefusedHandshakeMessagesAreCountedByReason) {
  Node a(1), b(2);
  a.meet(b);
  b.meet(a);
  converse(a, b);
  // An initiation and a response of the wrong size.
  testing::Bytes short_initiation(100, 0);
  short_initiation[0] = 1;
  a.fx.from_underlay({a.fx.wireguard_from(2, short_initiation)});
  a.fx.from_underlay({a.fx.wireguard_from(2, testing::Bytes{2, 0, 0, 0, 1})});
  a.tick();
  EXPECT_EQ(a.rejected(Reject::kWrongSize), 2u);
}

}  // namespace
}  // namespace tartan
