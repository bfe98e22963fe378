// Header sizes and the encapsulation overheads of flannel's backends.
#pragma once

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include <cstdint>

namespace tartan {

inline constexpr uint16_t kEthLen = sizeof(rte_ether_hdr);    // 14
inline constexpr uint16_t kIpv4Len = sizeof(rte_ipv4_hdr);    // 20, without options
inline constexpr uint16_t kUdpLen = sizeof(rte_udp_hdr);      // 8
inline constexpr uint16_t kVxlanLen = sizeof(rte_vxlan_hdr);  // 8

// Outer Ethernet + IPv4 + UDP + VXLAN in front of the inner Ethernet frame.
inline constexpr uint16_t kVxlanOverhead = kEthLen + kIpv4Len + kUdpLen + kVxlanLen;  // 50
// flannel-v6: outer Ethernet + IPv6 + UDP + VXLAN in front of the inner
// Ethernet frame.
inline constexpr uint16_t kIpv6HeaderLen = 40;
inline constexpr uint16_t kVxlan6Overhead = kEthLen + kIpv6HeaderLen + kUdpLen + kVxlanLen;  // 70
inline constexpr uint8_t kIpv6HopLimit = 64;  // Linux's ip6_dst_hoplimit() default
// What an inner IPv6 packet may be for its tunnel packet to fit the
// underlay MTU: less outer IPv6 40, UDP 8, VXLAN 8 and inner Ethernet 14,
// Linux's VXLAN6_HEADROOM. flannel subtracts 50 for both families
// (flannel#1781), so its IPv6 pods send 20 bytes more than fit; tartan's
// IPv6 overlay MTU is the underlay's minus 70.
inline constexpr uint16_t kVxlan6MtuOverhead =
    kIpv6HeaderLen + kUdpLen + kVxlanLen + kEthLen;  // 70

// Outer Ethernet + IPv4 + UDP in front of the inner IPv4 packet (udp backend).
inline constexpr uint16_t kUdpTunnelHeaders = kEthLen + kIpv4Len + kUdpLen;  // 42
// Outer Ethernet + IPv6 + UDP in front of a wireguard transport message
// (flannel-wg-v6).
inline constexpr uint16_t kUdp6TunnelHeaders = kEthLen + kIpv6HeaderLen + kUdpLen;  // 62

// flannel's wireguard backend: the overlay MTU is the underlay's minus 80
// for either underlay family (the worst case, IPv6 40 + UDP 8 + WireGuard's
// transport header 16 + tag 16; pkg/backend/wireguard's `overhead`).
inline constexpr uint16_t kWireguardMtuOverhead = 80;

// The first 32-bit word of a VXLAN header flannel's kernel peers send and
// accept: only the I flag (RFC 7348 section 5).
inline constexpr uint32_t kVxlanFlagsWord = 0x08000000;

inline uint16_t ipv4_header_len(const rte_ipv4_hdr* ip) {
  return static_cast<uint16_t>((ip->version_ihl & 0x0f) * 4);
}

inline bool ipv4_is_fragment(const rte_ipv4_hdr* ip) {
  return (ip->fragment_offset &
          rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG)) != 0;
}

inline bool ipv4_dont_fragment(const rte_ipv4_hdr* ip) {
  return (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)) != 0;
}

}  // namespace tartan
