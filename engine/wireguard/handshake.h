// Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it (whitepaper
// 5.4.2-5.4.5, wireguard-go's device/noise-protocol.go): the initiation,
// the response, and the transport keypair both sides derive from them.
//
// Time and randomness come from the caller (the known-answer tests replay
// wireguard-go's); so do peer lookups, since the peer table and the index
// table belong to the caller. Indexes are chosen by the caller's index
// table, which keeps them unique. Every refusal is a Reject naming why.
#pragma once

#include <functional>

#include "engine/wireguard/cookie.h"
#include "engine/wireguard/keypair.h"
#include "engine/wireguard/messages.h"
#include "engine/wireguard/outcome.h"
#include "engine/wireguard/peer.h"
#include "engine/wireguard/random.h"
#include "engine/wireguard/reject.h"
#include "engine/wireguard/tai64n.h"

namespace tartan::wireguard {

// A handshake message as it arrived: the UDP payload, the sender's
// address bytes (what cookies are keyed by), and whether we are under load
// (then mac2 is required).
struct Arrival {
  Bytes packet;
  Bytes source;
  bool under_load;
  nanoseconds now;
};

using PeerByKey = std::function<Peer*(const Key& public_key)>;
using PeerByIndex = std::function<Peer*(uint32_t local_index)>;

// Initiator: the first message to `peer`, `local_index` being the index
// the response will name. Replaces any handshake in progress with `peer`.
Outcome<Initiation, Reject> create_initiation(const LocalIdentity& local, Peer& peer,
                                              uint32_t local_index, const Tai64n& timestamp,
                                              nanoseconds now, const RandomSource& random);

// Responder: an initiation, mac-checked, decrypted and authenticated as
// from one of our peers (found by `peers`), with a timestamp newer than
// that peer's last. The peer's handshake then waits for create_response.
Outcome<Peer*, Reject> consume_initiation(const LocalIdentity& local, const CookieChecker& checker,
                                          const Arrival& arrival, const PeerByKey& peers);

struct CreatedResponse {
  Response message;
  Keypair keypair;  // the responder's: usable once the initiator has sent first
};
// Responder: the response to the initiation consume_initiation accepted
// from `peer`, and the keypair it completes.
Outcome<CreatedResponse, Reject> create_response(Peer& peer, uint32_t local_index, nanoseconds now,
                                                 const RandomSource& random);

struct ConsumedResponse {
  Peer* peer;
  Keypair keypair;  // the initiator's
};
// Initiator: the response to our initiation (found by its receiver index
// through `handshakes`), and the keypair it completes.
Outcome<ConsumedResponse, Reject> consume_response(const LocalIdentity& local,
                                                   const CookieChecker& checker,
                                                   const Arrival& arrival,
                                                   const PeerByIndex& handshakes);

}  // namespace tartan::wireguard
