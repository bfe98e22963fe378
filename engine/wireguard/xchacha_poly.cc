#include "engine/wireguard/xchacha_poly.h"

#include <sodium.h>

namespace tartan::wireguard {

static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == sizeof(XNonce));
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == sizeof(Key));
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kTagLen);

namespace {

// sodium_init() picks the fastest implementations for this CPU; it is
// thread-safe and idempotent, so the first use calls it.
bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace

bool xaead_seal(const Key& key, const XNonce& nonce, Bytes plain, Bytes ad, uint8_t* out) {
  return sodium_ready() && crypto_aead_xchacha20poly1305_ietf_encrypt(
                               out, nullptr, plain.data(), plain.size(), ad.data(), ad.size(),
                               nullptr, nonce.data(), key.data()) == 0;
}

bool xaead_open(const Key& key, const XNonce& nonce, Bytes sealed, Bytes ad, uint8_t* out) {
  if (sealed.size() < kTagLen || !sodium_ready()) return false;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(out, nullptr, nullptr, sealed.data(),
                                                    sealed.size(), ad.data(), ad.size(),
                                                    nonce.data(), key.data()) == 0;
}

}  // namespace tartan::wireguard
