// The wireguard backend's handshake side (control/wireguard): two engines,
// each with its WireguardPeers, complete handshakes over their underlays
// on their own, after which pods' packets cross both ways; they retry,
// give up, follow a peer's new key, keep sessions alive, and count every
// handshake message they refuse.
#include "control/wireguard/wireguard_peers.h"

#include <gtest/gtest.h>

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
  explicit Node(int self, std::chrono::seconds keepalive = 0s)
      : fx({.self = self, .backend = BackendType::kWireguard}),
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

TEST(WireguardPeers, PersistentKeepalivesKeepTheSessionAlive) {
  Node a(1, 25s), b(2);
  a.meet(b);
  b.meet(a);
  converse(a, b);
  const uint64_t before = a.peers->counters().keepalives_sent;
  const uint64_t arrived = b.fx.engine().stats().events.wg_keepalives;
  a.now += 25s;
  a.tick();
  cross(a, b);
  EXPECT_EQ(a.peers->counters().keepalives_sent, before + 1);
  EXPECT_EQ(b.fx.engine().stats().events.wg_keepalives, arrived + 1);
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
