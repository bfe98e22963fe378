#include "engine/wireguard/x25519.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>

namespace tartan::wireguard {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

}  // namespace

Key clamp_private_key(Key key) {
  key[0] &= 248;
  key[31] = (key[31] & 127) | 64;
  return key;
}

Key generate_private_key(const RandomSource& random) {
  Key key;
  random(key);
  return clamp_private_key(key);
}

std::optional<Key> public_key_of(const Key& private_key) {
  Pkey pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(),
                                         private_key.size()));
  Key pub;
  size_t len = pub.size();
  if (!pkey || EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &len) != 1 || len != pub.size())
    return std::nullopt;
  return pub;
}

std::optional<Key> dh(const Key& private_key, const Key& public_key) {
  Pkey ours(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(),
                                         private_key.size()));
  Pkey theirs(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, public_key.data(), public_key.size()));
  if (!ours || !theirs) return std::nullopt;
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(ours.get(), nullptr));
  Key shared;
  size_t len = shared.size();
  // OpenSSL's X25519 derive itself refuses an all-zero result; the check
  // below keeps that guarantee ours rather than a library detail.
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), theirs.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != shared.size())
    return std::nullopt;
  static constexpr Key kZero{};
  if (CRYPTO_memcmp(shared.data(), kZero.data(), shared.size()) == 0) return std::nullopt;
  return shared;
}

}  // namespace tartan::wireguard
