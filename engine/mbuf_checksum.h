// One's complement sums over an mbuf chain, for checksums that cover a
// packet spread over several segments (GSO and GRO packets, their pieces).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "engine/checksum.h"

namespace tartan {

// The sum of the chain's bytes from `offset` to its end, as 16-bit words in
// packet order (not folded to 16 bits: add more terms, then csum_fold).
inline uint32_t chain_sum(const rte_mbuf* m, uint32_t offset) {
  uint32_t sum = 0;
  bool odd = false;  // whether an odd count of bytes was summed before
  for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
    const uint32_t len = rte_pktmbuf_data_len(s);
    if (offset >= len) {
      offset -= len;
      continue;
    }
    const uint16_t part =
        raw_checksum(rte_pktmbuf_mtod_offset(s, const uint8_t*, offset), len - offset);
    // A part that starts at an odd position adds its bytes swapped.
    sum += odd ? static_cast<uint16_t>((part >> 8) | (part << 8)) : part;
    odd ^= ((len - offset) & 1) != 0;
    offset = 0;
  }
  return sum;
}

}  // namespace tartan
