#include "engine/wireguard/handshake.h"

#include <openssl/crypto.h>

#include <cstring>
#include <string_view>

#include "engine/wireguard/blake2s.h"
#include "engine/wireguard/chacha_poly.h"
#include "engine/wireguard/constants.h"
#include "engine/wireguard/x25519.h"

namespace tartan::wireguard {
namespace {

Bytes text(std::string_view s) {
  return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Noise's symmetric state: the chaining key and the transcript hash.
struct Noise {
  Key chaining_key;
  Key hash;

  // The state every handshake starts from, hashed with the responder's
  // static public key (the pre-message of IK).
  static Noise begin(const Key& responder_public) {
    static const Key kConstruction =
        wireguard::hash({text("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")});
    static const Key kIdentifier =
        wireguard::hash({kConstruction, text("WireGuard v1 zx2c4 Jason@zx2c4.com")});
    return {kConstruction, wireguard::hash({kIdentifier, responder_public})};
  }

  void mix_hash(Bytes data) { hash = wireguard::hash({hash, data}); }
  void mix_key(Bytes input) { chaining_key = kdf<1>(chaining_key, input)[0]; }
  // An ephemeral public key goes into both.
  void mix_ephemeral(const Key& ephemeral) {
    mix_key(ephemeral);
    mix_hash(ephemeral);
  }
  // Mixes `input` into the chaining key and returns the AEAD key derived
  // alongside.
  Key mix_key_for_aead(Bytes input) {
    const auto [ck, key] = kdf<2>(chaining_key, input);
    chaining_key = ck;
    return key;
  }
  // The response's schedule after its ephemeral: the ephemeral-ephemeral
  // and static-ephemeral DH results, then the preshared key (whose step
  // also mixes a value into the hash). Returns the key of its empty payload.
  Key mix_response_secrets(const Key& ee, const Key& se, const Key& psk) {
    mix_key(ee);
    mix_key(se);
    const auto [ck, tau, key] = kdf<3>(chaining_key, psk);
    chaining_key = ck;
    mix_hash(tau);
    return key;
  }
  // AEAD under `key` with counter 0 and the hash as AD, then hashed in.
  bool seal(const Key& key, Bytes plain, uint8_t* out) {
    if (!aead_seal(key, 0, plain, hash, out)) return false;
    mix_hash(Bytes(out, plain.size() + kTagLen));
    return true;
  }
  bool open(const Key& key, Bytes sealed, uint8_t* out) {
    if (!aead_open(key, 0, sealed, hash, out)) return false;
    mix_hash(sealed);
    return true;
  }
};

// The ephemeral private key and other secrets are not left in memory once
// the handshake is over (whitepaper 5.4.5: "zeroed").
void forget(HandshakeState& state) {
  OPENSSL_cleanse(&state, sizeof state);
  state = HandshakeState{};
}

Keypair derive_keypair(const Noise& noise, const HandshakeState& hs, bool initiator,
                       nanoseconds now) {
  const auto [first, second] = kdf<2>(noise.chaining_key, Bytes());
  Keypair keypair{{initiator ? first : second, hs.remote_index, 0},
                  {initiator ? second : first, {}},
                  hs.local_index,
                  now,
                  initiator};
  return keypair;
}

template <class Message>
Message copy_message(Bytes packet) {
  Message message;
  std::memcpy(&message, packet.data(), sizeof message);
  return message;
}

// Size, type and macs: all checked before any DH.
template <class Message>
std::optional<Reject> screen(const CookieChecker& checker, const Arrival& arrival,
                             MessageType type) {
  if (arrival.packet.size() != sizeof(Message)) return Reject::kWrongSize;
  if (message_type(arrival.packet) != static_cast<uint32_t>(type)) return Reject::kWrongType;
  return checker.check(arrival.packet, kMac1Offset<Message>, arrival.source, arrival.under_load,
                       arrival.now);
}

template <class Message>
void stamp(Peer& peer, Message& message, nanoseconds now) {
  stamp_macs(peer, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&message), sizeof message),
             kMac1Offset<Message>, now);
}

}  // namespace

Outcome<Initiation, Reject> create_initiation(const LocalIdentity& local, Peer& peer,
                                              uint32_t local_index, const Tai64n& timestamp,
                                              nanoseconds now, const RandomSource& random) {
  forget(peer.handshake);
  HandshakeState hs;
  Noise noise = Noise::begin(peer.public_key);
  hs.local_ephemeral = generate_private_key(random);
  const std::optional<Key> ephemeral = public_key_of(hs.local_ephemeral);
  if (!ephemeral) return Reject::kCryptoFailed;

  Initiation msg{};
  set_type(msg.type, MessageType::kInitiation);
  store_le32(msg.sender.data(), local_index);
  msg.ephemeral = *ephemeral;
  noise.mix_ephemeral(msg.ephemeral);

  const std::optional<Key> es = dh(hs.local_ephemeral, peer.public_key);
  if (!es) return Reject::kBadKey;
  if (!noise.seal(noise.mix_key_for_aead(*es), local.public_key, msg.encrypted_static.data()))
    return Reject::kCryptoFailed;
  if (!noise.seal(noise.mix_key_for_aead(peer.static_static), timestamp,
                  msg.encrypted_timestamp.data()))
    return Reject::kCryptoFailed;
  stamp(peer, msg, now);

  hs.stage = HandshakeState::Stage::kInitiationSent;
  hs.chaining_key = noise.chaining_key;
  hs.hash = noise.hash;
  hs.local_index = local_index;
  peer.handshake = hs;
  return msg;
}

Outcome<Peer*, Reject> consume_initiation(const LocalIdentity& local, const CookieChecker& checker,
                                          const Arrival& arrival, const PeerByKey& peers) {
  if (auto refused = screen<Initiation>(checker, arrival, MessageType::kInitiation))
    return *refused;
  const Initiation msg = copy_message<Initiation>(arrival.packet);

  Noise noise = Noise::begin(local.public_key);
  noise.mix_ephemeral(msg.ephemeral);
  const std::optional<Key> es = dh(local.private_key, msg.ephemeral);
  if (!es) return Reject::kBadKey;
  Key their_static;
  if (!noise.open(noise.mix_key_for_aead(*es), msg.encrypted_static, their_static.data()))
    return Reject::kDecryptFailed;
  Peer* peer = peers(their_static);
  if (!peer) return Reject::kUnknownPeer;
  Tai64n timestamp;
  if (!noise.open(noise.mix_key_for_aead(peer->static_static), msg.encrypted_timestamp,
                  timestamp.data()))
    return Reject::kDecryptFailed;

  if (!tai64n_after(timestamp, peer->last_timestamp)) return Reject::kReplayedTimestamp;
  if (peer->last_initiation_at && arrival.now - *peer->last_initiation_at < kInitiationMinInterval)
    return Reject::kInitiationTooFrequent;

  forget(peer->handshake);
  peer->handshake.stage = HandshakeState::Stage::kInitiationReceived;
  peer->handshake.chaining_key = noise.chaining_key;
  peer->handshake.hash = noise.hash;
  peer->handshake.remote_ephemeral = msg.ephemeral;
  peer->handshake.remote_index = load_le32(msg.sender.data());
  peer->last_timestamp = timestamp;
  peer->last_initiation_at = arrival.now;
  return peer;
}

Outcome<CreatedResponse, Reject> create_response(Peer& peer, uint32_t local_index, nanoseconds now,
                                                 const RandomSource& random) {
  HandshakeState& hs = peer.handshake;
  if (hs.stage != HandshakeState::Stage::kInitiationReceived) return Reject::kUnexpectedMessage;
  hs.local_index = local_index;
  Noise noise{hs.chaining_key, hs.hash};

  Response msg{};
  set_type(msg.type, MessageType::kResponse);
  store_le32(msg.sender.data(), local_index);
  store_le32(msg.receiver.data(), hs.remote_index);
  hs.local_ephemeral = generate_private_key(random);
  const std::optional<Key> ephemeral = public_key_of(hs.local_ephemeral);
  if (!ephemeral) return Reject::kCryptoFailed;
  msg.ephemeral = *ephemeral;
  noise.mix_ephemeral(msg.ephemeral);

  const std::optional<Key> ee = dh(hs.local_ephemeral, hs.remote_ephemeral);
  const std::optional<Key> se = dh(hs.local_ephemeral, peer.public_key);
  if (!ee || !se) return Reject::kBadKey;
  if (!noise.seal(noise.mix_response_secrets(*ee, *se, peer.preshared_key), Bytes(),
                  msg.encrypted_nothing.data()))
    return Reject::kCryptoFailed;
  stamp(peer, msg, now);

  CreatedResponse created{msg, derive_keypair(noise, hs, false, now)};
  forget(hs);
  return created;
}

Outcome<ConsumedResponse, Reject> consume_response(const LocalIdentity& local,
                                                   const CookieChecker& checker,
                                                   const Arrival& arrival,
                                                   const PeerByIndex& handshakes) {
  if (auto refused = screen<Response>(checker, arrival, MessageType::kResponse)) return *refused;
  const Response msg = copy_message<Response>(arrival.packet);
  Peer* peer = handshakes(load_le32(msg.receiver.data()));
  if (!peer) return Reject::kUnknownReceiver;
  // Worked on a copy: a forged response must not disturb the handshake
  // the genuine one will complete.
  HandshakeState hs = peer->handshake;
  if (hs.stage != HandshakeState::Stage::kInitiationSent ||
      hs.local_index != load_le32(msg.receiver.data()))
    return Reject::kUnexpectedMessage;
  Noise noise{hs.chaining_key, hs.hash};
  noise.mix_ephemeral(msg.ephemeral);
  const std::optional<Key> ee = dh(hs.local_ephemeral, msg.ephemeral);
  const std::optional<Key> se = dh(local.private_key, msg.ephemeral);
  if (!ee || !se) return Reject::kBadKey;
  if (!noise.open(noise.mix_response_secrets(*ee, *se, peer->preshared_key), msg.encrypted_nothing,
                  nullptr))
    return Reject::kDecryptFailed;

  hs.remote_index = load_le32(msg.sender.data());
  ConsumedResponse consumed{peer, derive_keypair(noise, hs, true, arrival.now)};
  forget(hs);
  forget(peer->handshake);
  return consumed;
}

}  // namespace tartan::wireguard
