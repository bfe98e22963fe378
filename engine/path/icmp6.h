// ICMPv6 errors (RFC 4443) where tartan is the IPv6 router, built in place
// from the packet that caused them as icmp.h does for IPv4: the offending
// mbuf becomes the reply, no allocation.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "engine/net_types.h"

namespace tartan {

inline constexpr uint8_t kIcmp6DestUnreachable = 1;
inline constexpr uint8_t kIcmp6NoRoute = 0;  // code of type 1
inline constexpr uint8_t kIcmp6PacketTooBig = 2;
inline constexpr uint8_t kIcmp6TimeExceeded = 3;
inline constexpr uint8_t kIcmp6HopLimitExceeded = 0;  // code of type 3
// The IPv6 minimum MTU (RFC 8200 5): no ICMPv6 error is longer (RFC 4443 2.4(c)).
inline constexpr uint16_t kIpv6MinMtu = 1280;

// Whether an ICMPv6 error of `type` may be sent about the IPv6 packet at
// `l3_offset` of the Ethernet frame `m` (RFC 4443 2.4(e)): not about an
// ICMPv6 error or a redirect (found through the extension headers; a chain
// we cannot follow to its end counts as one), not to an unspecified or
// multicast source, and, except Packet Too Big, not about a packet to an
// IPv6 or link-layer multicast destination.
bool icmp6_error_allowed(const rte_mbuf* m, uint16_t l3_offset, uint8_t type);

// Rewrites `m`, an Ethernet frame carrying the offending IPv6 packet at
// `l3_offset`, into an ICMPv6 error from `src` back to the packet's source:
// Ethernet addresses swapped (the frame's destination is the router's own
// MAC), hop limit 64 (Linux's default, which icmp6_send takes from the
// route), and as much of the offending packet as keeps the error within
// 1280 bytes. `mtu_or_pointer` is the MTU of Packet Too Big, the pointer
// of Parameter Problem, zero otherwise. A chain becomes one segment. The
// offending IPv6 header must be in the frame (the caller parsed it).
void make_icmp6_error(rte_mbuf* m, uint16_t l3_offset, uint8_t type, uint8_t code,
                      uint32_t mtu_or_pointer, const Ipv6Addr& src);

}  // namespace tartan
