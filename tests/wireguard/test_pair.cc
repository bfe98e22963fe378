#include "tests/wireguard/test_pair.h"

#include <gtest/gtest.h>

#include "engine/wireguard/x25519.h"

namespace tartan::wireguard::testing {
namespace {

const Key kPresharedKey = {0xa0, 0xa1, 0xa2};

Key counting_key(uint8_t first) {
  Key k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(first + i);
  return clamp_private_key(k);
}

Node make_node(const Key& private_key, const Key& other_private, uint32_t index) {
  const LocalIdentity identity = *LocalIdentity::from_private_key(private_key);
  const Key other_public = *public_key_of(other_private);
  return Node{identity, CookieChecker(identity),
              *Peer::create(identity, other_public, kPresharedKey), index};
}

}  // namespace

TestPair::TestPair()
    : a(make_node(counting_key(0x10), counting_key(0x40), 0x1111)),
      b(make_node(counting_key(0x40), counting_key(0x10), 0x2222)) {}

RandomSource TestPair::random() {
  return [this](std::span<uint8_t> out) {
    for (uint8_t& byte : out) byte = next_random_++;
  };
}

Tai64n TestPair::timestamp() const {
  return tai64n(wall);
}

PeerByKey TestPair::peers_of(Node& node) {
  return [&node](const Key& key) { return key == node.peer.public_key ? &node.peer : nullptr; };
}

PeerByIndex TestPair::handshakes_of(Node& node) {
  return [&node](uint32_t index) { return index == node.index ? &node.peer : nullptr; };
}

Initiation TestPair::initiation_from_a() {
  auto initiation = create_initiation(a.identity, a.peer, a.index, timestamp(), now, random());
  EXPECT_TRUE(initiation.ok());
  return *initiation;
}

std::pair<Keypair, Keypair> TestPair::handshake() {
  const Initiation initiation = initiation_from_a();
  auto consumed = consume_initiation(b.identity, b.checker,
                                     {as_bytes(initiation), source_a, false, now}, peers_of(b));
  EXPECT_TRUE(consumed.ok()) << reject_name(consumed.reason());
  auto response = create_response(b.peer, b.index, now, random());
  EXPECT_TRUE(response.ok()) << reject_name(response.reason());
  auto finished = consume_response(a.identity, a.checker,
                                   {as_bytes(response->message), {}, false, now}, handshakes_of(a));
  EXPECT_TRUE(finished.ok()) << reject_name(finished.reason());
  return {finished->keypair, response->keypair};
}

}  // namespace tartan::wireguard::testing
