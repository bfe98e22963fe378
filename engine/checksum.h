// One's complement checksum arithmetic for updating headers in place
// (RFC 1624), so a forwarded packet never needs its header re-summed.
#pragma once

#include <cstdint>

namespace tartan {

// Folds a 32-bit one's complement sum to 16 bits.
inline uint16_t csum_fold(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 16-bit field changing from
// m to m'. All values in the same byte order (network order in headers).
inline uint16_t csum_replace16(uint16_t check, uint16_t old_value, uint16_t new_value) {
  const uint32_t sum = static_cast<uint16_t>(~check) +
                       static_cast<uint32_t>(static_cast<uint16_t>(~old_value)) + new_value;
  return static_cast<uint16_t>(~csum_fold(sum));
}

}  // namespace tartan
