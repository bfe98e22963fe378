// One's complement checksum arithmetic for updating headers in place
// (RFC 1624), so a forwarded packet never needs its header re-summed.
#pragma once

#include <rte_ip.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

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

// The one's complement sum of `len` bytes taken as 16-bit words in memory
// order, folded to 16 bits: what rte_raw_cksum() returns. Written here
// because DPDK 22.11's adds one 16-bit word at a time, which made verifying
// a 1,400-byte tunnel packet's outer UDP checksum cost more than the rest
// of its decapsulation; 32-bit words into two 64-bit sums cannot overflow
// below 16 GiB and run at several bytes a cycle (perf/RESULTS.md).
inline uint16_t raw_checksum(const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t even = 0, odd = 0;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint32_t w[2];
    std::memcpy(w, p + i, 8);
    even += w[0];
    odd += w[1];
  }
  uint64_t sum = even + odd;
  if (i + 4 <= len) {
    uint32_t w;
    std::memcpy(&w, p + i, 4);
    sum += w;
    i += 4;
  }
  if (i + 2 <= len) {
    uint16_t w;
    std::memcpy(&w, p + i, 2);
    sum += w;
    i += 2;
  }
  if (i < len) {
    uint16_t w = 0;  // the last byte, padded with zero after it in memory
    std::memcpy(&w, p + i, 1);
    sum += w;
  }
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffffffff) + (sum >> 32);
  return csum_fold(static_cast<uint32_t>(sum));
}

// The one's complement sum of an IPv4 pseudo header (RFC 768, RFC 793):
// addresses, protocol and the L4 length, every term in network order;
// unfolded. (DPDK 22.11's rte_ipv4_phdr_cksum() sums the same words one
// 16-bit load at a time through a copy.)
inline uint32_t ipv4_pseudo_header_sum(const rte_ipv4_hdr* ip, uint8_t protocol, uint16_t l4_len) {
  return (ip->src_addr & 0xffff) + (ip->src_addr >> 16) + (ip->dst_addr & 0xffff) +
         (ip->dst_addr >> 16) + rte_cpu_to_be_16(protocol) + rte_cpu_to_be_16(l4_len);
}

// raw_checksum() over `len` bytes of `m` from `offset`, across the
// segments of a chain (GSO segments, merged or reassembled packets), each
// part summed 32 bits at a time. 0 on success, -1 when the range runs past
// the packet, as rte_raw_cksum_mbuf().
inline int raw_checksum_mbuf(const rte_mbuf* m, uint32_t offset, uint32_t len, uint16_t* sum) {
  if (offset + len > rte_pktmbuf_pkt_len(m)) return -1;
  if (offset + len <= rte_pktmbuf_data_len(m)) {  // the common case: all in the first segment
    *sum = raw_checksum(rte_pktmbuf_mtod_offset(m, const uint8_t*, offset), len);
    return 0;
  }
  uint32_t total = 0;
  bool odd = false;  // whether an odd count of bytes was summed before
  for (const rte_mbuf* s = m; s != nullptr && len > 0; s = s->next) {
    const uint32_t data_len = rte_pktmbuf_data_len(s);
    if (offset >= data_len) {
      offset -= data_len;
      continue;
    }
    const uint32_t n = std::min(data_len - offset, len);
    const uint16_t part = raw_checksum(rte_pktmbuf_mtod_offset(s, const uint8_t*, offset), n);
    // A part that starts at an odd position adds its bytes swapped.
    total += odd ? static_cast<uint16_t>((part >> 8) | (part << 8)) : part;
    odd ^= (n & 1) != 0;
    len -= n;
    offset = 0;
  }
  *sum = csum_fold(total);
  return 0;
}

}  // namespace tartan
