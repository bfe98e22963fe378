// ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce: 4 zero bytes and the
// 64-bit counter, little-endian (whitepaper 5.4, AEAD).
//
// The data path's cipher: workers seal and open every transport packet
// through one of these, one per thread (an EVP_CIPHER_CTX is not shared).
// The EVP_CIPHER is fetched and the two contexts allocated here, once;
// seal() and open() only set the nonce (and the key when it changes) in
// the contexts and run the cipher, with no allocation, lock or syscall per
// call (the unit test counts OpenSSL's allocations across calls to hold
// this).
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <optional>

#include "engine/wireguard/bytes.h"

namespace tartan::wireguard {

class ChaChaPoly {
 public:
  // nullopt when OpenSSL has no ChaCha20-Poly1305 or cannot allocate.
  static std::optional<ChaChaPoly> create();

  // Encrypts `len` bytes at `in` to `out` (which may equal `in`) and writes
  // the 16-byte tag at out + len. Fails only if OpenSSL does.
  bool seal(const Key& key, uint64_t counter, Bytes ad, const uint8_t* in, size_t len,
            uint8_t* out);
  // Decrypts `len` bytes at `in` (ciphertext followed by the tag, len >= 16)
  // to `out` (which may equal `in`): len - 16 bytes. False when the tag does
  // not authenticate; `out` then holds garbage.
  bool open(const Key& key, uint64_t counter, Bytes ad, const uint8_t* in, size_t len,
            uint8_t* out);

 private:
  struct CipherFree {
    void operator()(EVP_CIPHER* p) const { EVP_CIPHER_free(p); }
  };
  struct CtxFree {
    void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
  };
  ChaChaPoly() = default;

  std::unique_ptr<EVP_CIPHER, CipherFree> cipher_;
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> seal_;
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> open_;
  // The key each context holds, if any.
  std::optional<Key> seal_key_, open_key_;
};

// One-shot forms for the handshake, which is not per packet: each makes a
// ChaChaPoly. `out` has plain.size() + 16 bytes for seal, sealed.size() - 16
// for open.
bool aead_seal(const Key& key, uint64_t counter, Bytes plain, Bytes ad, uint8_t* out);
bool aead_open(const Key& key, uint64_t counter, Bytes sealed, Bytes ad, uint8_t* out);

}  // namespace tartan::wireguard
