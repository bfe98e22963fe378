// One's complement (RFC 1071) arithmetic for building checksums from parts.
//
// Every sum here is of 16-bit words as they lie in memory (native loads of
// network-order bytes), which is byte-order independent: the folded result,
// inverted, is stored as it is. Sums are additive modulo 0xffff, so a
// checksum can be split into a part fixed per frame size, a part fixed per
// flow and a part that changes per packet, and `negate` subtracts.
#pragma once

#include <rte_ip.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tartan::perf::csum {

// The words of a 16/32/64-bit value as it is stored in memory.
inline uint32_t word16(uint16_t stored) {
  return stored;
}
inline uint32_t word32(uint32_t stored) {
  return (stored & 0xffff) + (stored >> 16);
}
inline uint32_t word64(uint64_t stored) {
  return word32(static_cast<uint32_t>(stored)) + word32(static_cast<uint32_t>(stored >> 32));
}

// Folds a sum of words to 16 bits.
inline uint16_t fold(uint64_t sum) {
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The sum of `len` bytes (an even count, starting at an even offset of the
// checksummed area).
inline uint16_t bytes(const void* p, size_t len) {
  return rte_raw_cksum(p, len);
}

// The additive inverse: sum + negate(sum) is zero (0xffff) modulo 0xffff.
inline uint16_t negate(uint64_t sum) {
  return static_cast<uint16_t>(0xffff - fold(sum));
}

// The value to store in a checksum field whose covered words sum to `sum`.
inline uint16_t finish(uint64_t sum) {
  return static_cast<uint16_t>(~fold(sum));
}
// UDP sends a computed zero as 0xffff (zero means "no checksum").
inline uint16_t finish_udp(uint64_t sum) {
  const uint16_t c = finish(sum);
  return c == 0 ? 0xffff : c;
}

// True when a checksummed area (checksum field included) is intact.
inline bool valid(uint64_t sum) {
  return fold(sum) == 0xffff;
}

// The pseudo header's words for a TCP/UDP checksum, given the sum of its
// addresses' words: IPv4's and IPv6's add up alike (IPv6's 32-bit length
// and next header have zero upper words).
inline uint64_t pseudo_header(uint64_t address_words, uint8_t proto, uint16_t l4_len) {
  return address_words + rte_cpu_to_be_16(proto) + rte_cpu_to_be_16(l4_len);
}

// Unaligned stores and loads of stored (network order) values.
template <class T>
inline void store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}
template <class T>
inline T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace tartan::perf::csum
