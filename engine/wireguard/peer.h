// Our static identity and what the handshake keeps per peer. Everything
// that depends only on the static keys is computed once here, as
// wireguard-go does: the static-static DH and the mac1 and cookie keys.
#pragma once

#include <chrono>
#include <optional>

#include "engine/wireguard/bytes.h"
#include "engine/wireguard/tai64n.h"

namespace tartan::wireguard {

using std::chrono::nanoseconds;

// HASH(label || public key): the key of mac1 on messages to the key's
// owner, and of the cookie replies the owner sends (whitepaper 5.4.4, 5.4.7).
Key mac1_key_for(const Key& public_key);
Key cookie_key_for(const Key& public_key);

struct LocalIdentity {
  Key private_key;
  Key public_key;
  Key mac1_key;    // checks mac1 on messages to us
  Key cookie_key;  // encrypts our cookie replies

  // nullopt when `private_key` has no public key (OpenSSL failure).
  static std::optional<LocalIdentity> from_private_key(const Key& private_key);
};

// A handshake in progress with one peer: the Noise state between messages.
struct HandshakeState {
  enum class Stage : uint8_t {
    kNone,
    kInitiationSent,      // we initiated; waiting for the response
    kInitiationReceived,  // we consumed an initiation; the response is to be made
  };
  Stage stage = Stage::kNone;
  Key chaining_key{};
  Key hash{};
  Key local_ephemeral{};  // private
  Key remote_ephemeral{};
  uint32_t local_index = 0;
  uint32_t remote_index = 0;
};

// The initiator's side of cookies: the last cookie a peer sent us, kept
// kCookieRefreshTime for mac2 on our next messages to it, and the mac1 of
// our last message, the AD a cookie reply must authenticate with.
struct ReceivedCookie {
  Mac cookie{};
  std::optional<nanoseconds> received_at;
  std::optional<Mac> last_mac1;
};

struct Peer {
  Key public_key;
  Key preshared_key;
  Key static_static;  // DH(our private, their public)
  Key mac1_key;       // mac1_key_for(public_key)
  Key cookie_key;     // cookie_key_for(public_key): opens their cookie replies
  // The newest initiation timestamp accepted from this peer.
  Tai64n last_timestamp{};
  std::optional<nanoseconds> last_initiation_at;
  HandshakeState handshake;
  ReceivedCookie cookie;

  // nullopt when DH(our private, their public) is all zero: a low-order
  // public key, with which no handshake is safe.
  static std::optional<Peer> create(const LocalIdentity& local, const Key& public_key,
                                    const Key& preshared_key);
};

}  // namespace tartan::wireguard
