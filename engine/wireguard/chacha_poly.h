// ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce: 4 zero bytes and the
// 64-bit counter, little-endian (whitepaper 5.4, AEAD).
//
// The data path's cipher, one per thread (its intel-ipsec-mb manager is
// not shared), made once: no call allocates, locks or makes a syscall
// (tests/wireguard counts the heap's allocations across calls to hold
// this). intel-ipsec-mb rather than OpenSSL 3's EVP, which the handshake's
// other primitives come from: on this machine its multi-buffer job API
// seals a burst at a fraction of EVP's cost per packet, and even its
// one-message API is faster (perf/RESULTS.md, "WireGuard's AEAD").
// Workers seal and open whole bursts; the one-message forms serve the
// handshake, keepalives and tests.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "engine/wireguard/bytes.h"

struct IMB_MGR;

namespace tartan::wireguard {

// One message of a burst, sealed or opened in place.
struct AeadJob {
  const Key* key = nullptr;
  uint64_t counter = 0;
  uint8_t* data = nullptr;
  uint32_t len = 0;  // seal: the plaintext's, tag written after it; open: with the tag
};

class ChaChaPoly {
 public:
  // The most messages one seal_burst or open_burst takes.
  static constexpr size_t kMaxBurst = 64;

  // nullopt when the library cannot allocate its manager.
  static std::optional<ChaChaPoly> create();
  ~ChaChaPoly();
  ChaChaPoly(ChaChaPoly&&) noexcept;
  ChaChaPoly& operator=(ChaChaPoly&&) noexcept;

  // Encrypts `len` bytes at `in` to `out` (which may equal `in`) and writes
  // the 16-byte tag at out + len. Fails only if the library does.
  bool seal(const Key& key, uint64_t counter, Bytes ad, const uint8_t* in, size_t len,
            uint8_t* out);
  // Decrypts `len` bytes at `in` (ciphertext followed by the tag, len >= 16)
  // to `out` (which may equal `in`): len - 16 bytes. False when the tag does
  // not authenticate; `out` then holds garbage.
  bool open(const Key& key, uint64_t counter, Bytes ad, const uint8_t* in, size_t len,
            uint8_t* out);

  // Every job sealed, no associated data. Bit i of the result is set when
  // job i was (a clear bit: the library failed it).
  uint64_t seal_burst(std::span<const AeadJob> jobs);
  // Every job opened (len >= 16, else refused). Bit i of the result is set
  // when job i authenticated; a job that did not holds garbage.
  uint64_t open_burst(std::span<const AeadJob> jobs);

 private:
  struct Scratch;
  ChaChaPoly(IMB_MGR* manager, std::unique_ptr<Scratch> scratch);
  uint64_t run_burst(std::span<const AeadJob> jobs, bool seal);

  IMB_MGR* manager_ = nullptr;
  std::unique_ptr<Scratch> scratch_;  // where jobs in flight point: it does not move
};

// One-shot forms for the handshake, which is not per packet: each makes a
// ChaChaPoly. `out` has plain.size() + 16 bytes for seal, sealed.size() - 16
// for open.
bool aead_seal(const Key& key, uint64_t counter, Bytes plain, Bytes ad, uint8_t* out);
bool aead_open(const Key& key, uint64_t counter, Bytes sealed, Bytes ad, uint8_t* out);

}  // namespace tartan::wireguard
