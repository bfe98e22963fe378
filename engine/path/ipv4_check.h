// The IPv4 header checks a router makes before forwarding (RFC 1812 5.2.2),
// shared by egress, ingress and the decapsulated inner packet.
#pragma once

#include <rte_ip.h>
#include <rte_mbuf.h>

#include <optional>

#include "engine/backends/headers.h"
#include "engine/checksum.h"
#include "engine/observe/stats.h"

namespace tartan {

// Whether the IPv4 header `ip` (`ihl` bytes) of `m` has a good checksum:
// the port's RX verdict where `rx_flags_apply` and it gave one, else summed.
// Inlined as check_ipv4() is: both run once or twice per packet.
[[gnu::always_inline]] inline bool ipv4_checksum_ok(const rte_mbuf* m, const rte_ipv4_hdr* ip,
                                                    uint16_t ihl, bool rx_flags_apply) {
  const uint64_t cksum_flags = rx_flags_apply ? (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) : 0;
  if (cksum_flags == RTE_MBUF_F_RX_IP_CKSUM_BAD) return false;
  if (cksum_flags == RTE_MBUF_F_RX_IP_CKSUM_GOOD) return true;
  return ihl == kIpv4Len ? ipv4_header20_sum_ok(ip) : raw_checksum(ip, ihl) == 0xffff;
}

// Checks the IPv4 header at `l3_offset` and trims Ethernet padding after
// the packet. `rx_flags_apply` says whether the port's RX checksum flags
// describe this header (not so for a decapsulated inner packet). Inlined
// into each stage of the worker: every packet passes here once or twice,
// and as a call it cost decapsulation about 5 of its cycles per packet.
[[gnu::always_inline]] inline std::optional<DropReason> check_ipv4(rte_mbuf* m, uint16_t l3_offset,
                                                                   bool rx_flags_apply) {
  const uint32_t data_len = rte_pktmbuf_data_len(m);
  if (data_len < l3_offset + uint32_t{kIpv4Len}) return DropReason::kRunt;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, l3_offset);
  if ((ip->version_ihl >> 4) != 4 || (ip->version_ihl & 0x0f) < 5) return DropReason::kBadIpHeader;
  const uint16_t ihl = ipv4_header_len(ip);
  const uint16_t total = rte_be_to_cpu_16(ip->total_length);
  const uint32_t pkt_len = rte_pktmbuf_pkt_len(m);
  if (data_len < l3_offset + ihl || total < ihl || l3_offset + total > pkt_len)
    return DropReason::kTruncated;
  if (!ipv4_checksum_ok(m, ip, ihl, rx_flags_apply)) return DropReason::kBadIpChecksum;
  if (pkt_len > l3_offset + total)
    rte_pktmbuf_trim(m, static_cast<uint16_t>(pkt_len - l3_offset - total));
  return std::nullopt;
}

// Decrements TTL with an RFC 1624 checksum update. TTL and protocol share
// a 16-bit word, so the TTL's change is -0x0100 in that word.
inline void decrement_ttl(rte_ipv4_hdr* ip) {
  const uint16_t old_word =
      rte_cpu_to_be_16(static_cast<uint16_t>(ip->time_to_live << 8 | ip->next_proto_id));
  --ip->time_to_live;
  const uint16_t new_word =
      rte_cpu_to_be_16(static_cast<uint16_t>(ip->time_to_live << 8 | ip->next_proto_id));
  ip->hdr_checksum = csum_replace16(ip->hdr_checksum, old_word, new_word);
}

}  // namespace tartan
