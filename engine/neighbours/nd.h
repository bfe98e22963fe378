// IPv6 neighbour discovery (RFC 4861) for the underlay, in place on mbufs
// as arp.h does ARP: the solicitation that resolves a neighbour and the
// unsolicited advertisement that announces us. Frames are Ethernet with the
// IPv6 header right after it (ND carries no extension headers we accept).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <optional>

#include "engine/net_types.h"

namespace tartan {

inline constexpr uint8_t kIcmp6NeighbourSolicit = 135;
inline constexpr uint8_t kIcmp6NeighbourAdvert = 136;

// ff02::1:ffXX:XXXX, the solicited-node multicast address of `a`.
Ipv6Addr solicited_node(const Ipv6Addr& a);
// 33:33:xx:xx:xx:xx, the Ethernet address IPv6 multicast `a` goes to (RFC 2464 7).
MacAddr ipv6_multicast_mac(const Ipv6Addr& a);
inline bool is_ipv6_multicast(const Ipv6Addr& a) {
  return a.bytes[0] == 0xff;
}

// Writes a solicitation for `target` from `src_ip`/`src_mac`, with a source
// link-layer address option, into the empty mbuf `m`: to target's
// solicited-node multicast address, or, with `unicast_mac` (a neighbour
// being refreshed), to the target itself at that MAC. False if `m` has no
// room.
bool build_nd_solicit(rte_mbuf* m, const MacAddr& src_mac, const Ipv6Addr& src_ip,
                      const Ipv6Addr& target, const std::optional<MacAddr>& unicast_mac);

// Writes an unsolicited advertisement of `ip` at `mac` to all nodes (O flag,
// target link-layer address option; RFC 4861 7.2.6) into the empty mbuf `m`.
bool build_nd_announce(rte_mbuf* m, const MacAddr& mac, const Ipv6Addr& ip);

}  // namespace tartan
