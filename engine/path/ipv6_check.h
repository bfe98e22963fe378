// The IPv6 header checks before forwarding, shared by egress, ingress and
// the decapsulated inner packet (RFC 8200: no header checksum; the payload
// length must fit the frame). Extension headers are carried untouched.
#pragma once

#include <rte_ip.h>
#include <rte_mbuf.h>

#include <optional>

#include "engine/backends/headers.h"
#include "engine/observe/stats.h"

namespace tartan {

// Checks the IPv6 header at `l3_offset` and trims Ethernet padding after
// the packet.
[[gnu::always_inline]] inline std::optional<DropReason> check_ipv6(rte_mbuf* m,
                                                                   uint16_t l3_offset) {
  if (rte_pktmbuf_data_len(m) < l3_offset + uint32_t{kIpv6HeaderLen}) return DropReason::kRunt;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, l3_offset);
  if ((*reinterpret_cast<const uint8_t*>(ip) >> 4) != 6) return DropReason::kBadIpv6Header;
  const uint32_t end = l3_offset + uint32_t{kIpv6HeaderLen} + rte_be_to_cpu_16(ip->payload_len);
  const uint32_t pkt_len = rte_pktmbuf_pkt_len(m);
  if (end > pkt_len) return DropReason::kTruncated;
  if (pkt_len > end) rte_pktmbuf_trim(m, static_cast<uint16_t>(pkt_len - end));
  return std::nullopt;
}

// The traffic class of an IPv6 header.
inline uint8_t ipv6_traffic_class(const rte_ipv6_hdr* ip) {
  return static_cast<uint8_t>(rte_be_to_cpu_32(ip->vtc_flow) >> 20);
}

}  // namespace tartan
