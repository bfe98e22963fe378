// Curve25519 (RFC 7748) through OpenSSL's EVP X25519.
#pragma once

#include <optional>

#include "engine/wireguard/bytes.h"
#include "engine/wireguard/random.h"

namespace tartan::wireguard {

// 32 random bytes, clamped as RFC 7748 and wireguard-go's newPrivateKey do.
Key generate_private_key(const RandomSource& random);
Key clamp_private_key(Key key);

std::optional<Key> public_key_of(const Key& private_key);

// The shared secret, or nullopt when the result is all zero: a peer's
// low-order public key would otherwise give a key anyone can compute
// (whitepaper 5.4.3, wireguard-go's isZero checks).
std::optional<Key> dh(const Key& private_key, const Key& public_key);

}  // namespace tartan::wireguard
