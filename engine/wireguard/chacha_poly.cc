#include "engine/wireguard/chacha_poly.h"

namespace tartan::wireguard {
namespace {

using Nonce = std::array<uint8_t, 12>;

Nonce nonce_for(uint64_t counter) {
  Nonce n{};
  store_le64(n.data() + 4, counter);
  return n;
}

int int_len(size_t len) {
  return static_cast<int>(len);
}

// Readies `ctx` for one message: the nonce always, the key only when it is
// not the one `ctx` already has. Re-keying costs about as much as sealing
// 64 bytes, and a worker's burst to one peer is all under one key.
bool start(EVP_CIPHER_CTX* ctx, std::optional<Key>& current, const Key& key, uint64_t counter,
           int encrypt) {
  const Nonce nonce = nonce_for(counter);
  const bool same_key = current && *current == key;
  current.reset();
  if (EVP_CipherInit_ex2(ctx, nullptr, same_key ? nullptr : key.data(), nonce.data(), encrypt,
                         nullptr) != 1)
    return false;
  current = key;
  return true;
}

}  // namespace

std::optional<ChaChaPoly> ChaChaPoly::create() {
  ChaChaPoly aead;
  aead.cipher_.reset(EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr));
  aead.seal_.reset(EVP_CIPHER_CTX_new());
  aead.open_.reset(EVP_CIPHER_CTX_new());
  if (!aead.cipher_ || !aead.seal_ || !aead.open_) return std::nullopt;
  // Bound to the cipher now; per call only key and nonce change.
  if (EVP_EncryptInit_ex2(aead.seal_.get(), aead.cipher_.get(), nullptr, nullptr, nullptr) != 1 ||
      EVP_DecryptInit_ex2(aead.open_.get(), aead.cipher_.get(), nullptr, nullptr, nullptr) != 1)
    return std::nullopt;
  return aead;
}

bool ChaChaPoly::seal(const Key& key, uint64_t counter, Bytes ad, const uint8_t* in, size_t len,
                      uint8_t* out) {
  EVP_CIPHER_CTX* ctx = seal_.get();
  int n = 0;
  if (!start(ctx, seal_key_, key, counter, 1)) return false;
  if (!ad.empty() && EVP_EncryptUpdate(ctx, nullptr, &n, ad.data(), int_len(ad.size())) != 1)
    return false;
  if (len > 0 && EVP_EncryptUpdate(ctx, out, &n, in, int_len(len)) != 1) return false;
  return EVP_EncryptFinal_ex(ctx, out + len, &n) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTagLen, out + len) == 1;
}

bool ChaChaPoly::open(const Key& key, uint64_t counter, Bytes ad, const uint8_t* in, size_t len,
                      uint8_t* out) {
  if (len < kTagLen) return false;
  EVP_CIPHER_CTX* ctx = open_.get();
  const size_t text_len = len - kTagLen;
  int n = 0;
  // OpenSSL's SET_TAG takes a non-const pointer but only copies from it.
  uint8_t* tag = const_cast<uint8_t*>(in + text_len);
  if (!start(ctx, open_key_, key, counter, 0) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTagLen, tag) != 1)
    return false;
  if (!ad.empty() && EVP_DecryptUpdate(ctx, nullptr, &n, ad.data(), int_len(ad.size())) != 1)
    return false;
  if (text_len > 0 && EVP_DecryptUpdate(ctx, out, &n, in, int_len(text_len)) != 1) return false;
  return EVP_DecryptFinal_ex(ctx, out + text_len, &n) == 1;
}

bool aead_seal(const Key& key, uint64_t counter, Bytes plain, Bytes ad, uint8_t* out) {
  std::optional<ChaChaPoly> aead = ChaChaPoly::create();
  return aead && aead->seal(key, counter, ad, plain.data(), plain.size(), out);
}

bool aead_open(const Key& key, uint64_t counter, Bytes sealed, Bytes ad, uint8_t* out) {
  std::optional<ChaChaPoly> aead = ChaChaPoly::create();
  return aead && aead->open(key, counter, ad, sealed.data(), sealed.size(), out);
}

}  // namespace tartan::wireguard
