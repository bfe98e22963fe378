// Linux's local checksum offload (LCO) for tunnels: the sum of a packet to
// be encapsulated, taken from its own checksums instead of its bytes.
#pragma once

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <optional>

#include "engine/backends/headers.h"
#include "engine/checksum.h"

namespace tartan {

// The one's complement sum of a whole inner IPv4 packet, known without
// reading its payload when its checksums are valid, as Linux's local
// checksum offload (LCO) assumes: a valid IPv4 header sums to zero, a valid
// TCP or UDP segment to minus its pseudo header, a valid ICMP message to
// zero. nullopt where that does not hold: fragments, UDP without a checksum,
// other protocols. (An inner packet with a wrong L4 checksum thus gets a
// wrong outer one, and the receiver drops it a layer earlier.)
inline std::optional<uint16_t> inner_packet_sum(const rte_mbuf* m, const rte_ipv4_hdr* ip) {
  if (ipv4_is_fragment(ip)) return std::nullopt;
  const uint16_t ihl = ipv4_header_len(ip);
  switch (ip->next_proto_id) {
    case IPPROTO_UDP: {
      const auto* l4 = reinterpret_cast<const uint8_t*>(ip) + ihl;
      if (l4 + kUdpLen > rte_pktmbuf_mtod(m, const uint8_t*) + rte_pktmbuf_data_len(m) ||
          reinterpret_cast<const rte_udp_hdr*>(l4)->dgram_cksum == 0)
        return std::nullopt;
      break;
    }
    case IPPROTO_TCP:
      break;
    case IPPROTO_ICMP:
      return 0;
    default:
      return std::nullopt;
  }
  const uint16_t l4_len = static_cast<uint16_t>(rte_be_to_cpu_16(ip->total_length) - ihl);
  return static_cast<uint16_t>(~csum_fold(ipv4_pseudo_header_sum(ip, ip->next_proto_id, l4_len)));
}

// The same for an inner IPv6 packet: its fixed header is no checksum's,
// so its sum is taken, but only the first 8 bytes need reading: a valid
// TCP, UDP or ICMPv6 message (all three sum over the pseudo header) sums to
// minus its pseudo header, whose addresses cancel the header's own. nullopt
// with extension headers or another protocol, or UDP without a checksum.
inline std::optional<uint16_t> inner_packet_sum6(const rte_mbuf* m, const rte_ipv6_hdr* ip) {
  switch (ip->proto) {
    case IPPROTO_UDP: {
      const auto* l4 = reinterpret_cast<const uint8_t*>(ip) + kIpv6HeaderLen;
      if (l4 + kUdpLen > rte_pktmbuf_mtod(m, const uint8_t*) + rte_pktmbuf_data_len(m) ||
          reinterpret_cast<const rte_udp_hdr*>(l4)->dgram_cksum == 0)
        return std::nullopt;
      break;
    }
    case IPPROTO_TCP:
    case IPPROTO_ICMPV6:
      break;
    default:
      return std::nullopt;
  }
  uint32_t w[2];
  std::memcpy(w, ip, sizeof w);
  const uint64_t first8 = uint64_t{w[0]} + w[1];
  const uint32_t folded = static_cast<uint32_t>((first8 & 0xffffffff) + (first8 >> 32));
  // Minus the pseudo header's length and next-header terms.
  const uint32_t sum = csum_fold(folded) + static_cast<uint16_t>(~ip->payload_len) +
                       static_cast<uint16_t>(~rte_cpu_to_be_16(ip->proto));
  return csum_fold(sum);
}

}  // namespace tartan
