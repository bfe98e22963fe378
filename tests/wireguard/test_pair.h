// Two WireGuard nodes, A and B, each knowing the other as its peer, with
// deterministic randomness and a settable clock: for tests that drive both
// ends of a handshake through engine/wireguard.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "engine/wireguard/handshake.h"

namespace tartan::wireguard::testing {

struct Node {
  LocalIdentity identity;
  CookieChecker checker;
  Peer peer;  // the other node
  uint32_t index;
};

class TestPair {
 public:
  TestPair();

  // Counting bytes: different on every draw, the same in every run.
  RandomSource random();
  Tai64n timestamp() const;
  PeerByKey peers_of(Node& node);
  PeerByIndex handshakes_of(Node& node);

  Initiation initiation_from_a();
  // A full handshake, A initiating: A's keypair, then B's.
  std::pair<Keypair, Keypair> handshake();

  Node a, b;
  std::chrono::nanoseconds now{std::chrono::seconds(100)};
  std::chrono::system_clock::time_point wall{std::chrono::seconds(1'700'000'000)};
  std::vector<uint8_t> source_a{192, 0, 2, 1, 0xca, 0x6c};  // 192.0.2.1:51820

 private:
  uint8_t next_random_ = 1;
};

}  // namespace tartan::wireguard::testing
