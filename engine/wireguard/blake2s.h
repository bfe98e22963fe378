// The whitepaper's HASH, MAC, HMAC and KDF (section 5.4), all over
// BLAKE2s through OpenSSL's EVP: BLAKE2S-256 for HASH, the keyed
// BLAKE2SMAC cut to 16 bytes for MAC, HMAC with BLAKE2S-256 for HMAC. KDF
// is the whitepaper's HKDF-like construction over HMAC.
#pragma once

#include <initializer_list>

#include "engine/wireguard/bytes.h"

namespace tartan::wireguard {

// HASH(parts[0] || parts[1] || ...).
Key hash(std::initializer_list<Bytes> parts);

// MAC(key, data): keyed BLAKE2s with a 16-byte output. key is 32 bytes for
// mac1 and the cookie, 16 for mac2 (keyed by the cookie).
Mac mac(Bytes key, Bytes data);

Key hmac(const Key& key, std::initializer_list<Bytes> parts);

// KDF_n(key, input): tau_0 = HMAC(key, input); tau_i = HMAC(tau_0,
// tau_{i-1} || i) for i = 1..N.
template <size_t N>
std::array<Key, N> kdf(const Key& key, Bytes input) {
  static_assert(N >= 1 && N <= 3);
  std::array<Key, N> out;
  const Key prk = hmac(key, {input});
  for (size_t i = 0; i < N; ++i) {
    const uint8_t counter = static_cast<uint8_t>(i + 1);
    out[i] = i == 0 ? hmac(prk, {Bytes(&counter, 1)}) : hmac(prk, {out[i - 1], Bytes(&counter, 1)});
  }
  return out;
}

}  // namespace tartan::wireguard
