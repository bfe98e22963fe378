// The fixed-size byte strings of the protocol, and little-endian field
// access for its messages (every integer on WireGuard's wire is
// little-endian).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace tartan::wireguard {

// Curve25519 keys, BLAKE2s-256 hashes, chaining keys, symmetric keys.
using Key = std::array<uint8_t, 32>;
// mac1, mac2, cookies: BLAKE2s truncated to 16 bytes; also the AEAD tag size.
using Mac = std::array<uint8_t, 16>;
using Bytes = std::span<const uint8_t>;

inline constexpr size_t kTagLen = 16;

inline uint32_t load_le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
inline uint64_t load_le64(const uint8_t* p) {
  return uint64_t{load_le32(p)} | uint64_t{load_le32(p + 4)} << 32;
}
inline void store_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void store_le64(uint8_t* p, uint64_t v) {
  store_le32(p, static_cast<uint32_t>(v));
  store_le32(p + 4, static_cast<uint32_t>(v >> 32));
}

}  // namespace tartan::wireguard
