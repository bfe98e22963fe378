// What fuzz_wireguard's engine is and how its input becomes a frame, for
// the target and for the seeds make_corpus writes for it: one definition
// of the keys, the peers and the selector's bits.
//
// The engine is node 1 with the wireguard backend, routes to nodes 2 and
// 3, a keypair with node 2 (fixed keys, the engine's receiver index), and
// WireguardPeers on the control side knowing node 2's PublicKey.
#pragma once

#include <cstdint>

#include "engine/wireguard/bytes.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/wireguard_frames.h"

namespace tartan::fuzz::wireguard_setup {

inline wireguard::Key filled(uint8_t b) {
  wireguard::Key k;
  k.fill(b);
  return k;
}
// Static private keys (X25519 clamps any 32 bytes) of node 1, the engine,
// and node 2, its peer; the transport keys of their keypair.
inline const wireguard::Key kOurPrivateKey = filled(0x41);
inline const wireguard::Key kPeerPrivateKey = filled(0x42);
inline const wireguard::Key kPeerSends = filled(0xa5);     // what the engine receives under
inline const wireguard::Key kPeerReceives = filled(0x5a);  // what the engine sends under
inline constexpr uint32_t kPeerIndex = 0x11223344;         // node 2's receiver index

// The input's selector: bit 0, the payload comes from a stranger (no
// node's address) instead of node 2; bit 1, a transport message's
// receiver index is replaced by the keypair's (which the engine draws at
// random), so sealed seeds reach decryption.
inline constexpr uint8_t kFromStranger = 1;
inline constexpr uint8_t kToOurKeypair = 2;
inline const Ipv4Addr kStranger = Ipv4Addr{0xc6120001};  // 198.18.0.1
inline constexpr uint16_t kStrangerPort = 40000;

// The frame that carries `payload` as the selector says.
inline testing::Bytes frame_of(const testing::EngineFixture& fx, uint8_t selector,
                               testing::Bytes payload, uint32_t keypair_index) {
  if ((selector & kToOurKeypair) != 0 && payload.size() >= 8 && payload[0] == 4)
    wireguard::store_le32(payload.data() + 4, keypair_index);
  if ((selector & kFromStranger) != 0)
    return fx.wireguard_from(2, payload, kStranger, kStrangerPort);
  return fx.wireguard_from(2, payload);
}

}  // namespace tartan::fuzz::wireguard_setup
