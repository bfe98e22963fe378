// Why a handshake message or a transport packet was not accepted: one
// value per cause, so the data path can keep a drop counter for each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tartan::wireguard {

enum class Reject : uint8_t {
  kWrongSize,              // not the size of its message type
  kWrongType,              // the type word is not the expected message type
  kBadMac1,                // mac1 does not authenticate: not for us, or corrupted
  kCookieRequired,         // under load, and mac2 missing or stale: answer with a cookie reply
  kUnknownPeer,            // an initiation's static key is not one of our peers
  kUnknownReceiver,        // the receiver index names no handshake or keypair of ours
  kUnexpectedMessage,      // valid, but not what the handshake's state waits for
  kDecryptFailed,          // an AEAD tag did not authenticate
  kReplayedTimestamp,      // an initiation not newer than the last accepted from its peer
  kInitiationTooFrequent,  // a peer's initiations faster than kInitiationMinInterval
  kBadKey,                 // a Curve25519 result of all zeros (a low-order public key)
  kReplayedCounter,        // a transport counter seen before or older than the window
  kCounterExhausted,       // a transport counter at or past kRejectAfterMessages
  kNoRoom,                 // the buffer has not the headroom or tailroom a message needs
  kCryptoFailed,           // the crypto library failed to seal (not input-dependent)
};
inline constexpr size_t kRejectCount = static_cast<size_t>(Reject::kCryptoFailed) + 1;

// A stable snake_case name, for counters and logs.
std::string_view reject_name(Reject reason);

}  // namespace tartan::wireguard
