// ICMP errors (RFC 792) built in place from the packet that caused them, so
// answering costs no allocation: the offending mbuf becomes the reply.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "engine/net_types.h"

namespace tartan {

inline constexpr uint8_t kIcmpDestUnreachable = 3;
inline constexpr uint8_t kIcmpNetUnreachable = 0;       // code of type 3
inline constexpr uint8_t kIcmpFragmentationNeeded = 4;  // code of type 3 (RFC 1191)
inline constexpr uint8_t kIcmpTimeExceeded = 11;

// Whether an ICMP error may be sent about this IPv4 packet (RFC 1122
// 3.2.2: not about ICMP errors, fragments other than the first, broadcast
// or multicast destinations).
bool icmp_error_allowed(const rte_mbuf* m, uint16_t l3_offset);

// Rewrites `m`, an Ethernet frame carrying the offending IPv4 packet at
// `l3_offset`, into an ICMP error from `src` back to the packet's sender:
// Ethernet addresses swapped, IPv4 TTL 64, ICMP data = the offending header
// plus its first 8 payload bytes. `mtu` is the next-hop MTU for
// fragmentation-needed (0 otherwise).
void make_icmp_error(rte_mbuf* m, uint16_t l3_offset, uint8_t type, uint8_t code, uint16_t mtu,
                     Ipv4Addr src);

}  // namespace tartan
