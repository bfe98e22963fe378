// IPv6 neighbour discovery (RFC 4861) for the underlay, in place on mbufs
// as arp.h does ARP: neighbour solicitations and advertisements parsed and
// validated (7.1.1, 7.1.2), the advertisement that answers a solicitation
// for our address, the solicitation that resolves a neighbour and the
// unsolicited advertisement that announces us. Frames are Ethernet with the
// IPv6 header right after it (ND carries no extension headers we accept).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <optional>
#include <variant>

#include "engine/net_types.h"
#include "engine/observe/stats.h"

namespace tartan {

inline constexpr uint8_t kIcmp6NeighbourSolicit = 135;
inline constexpr uint8_t kIcmp6NeighbourAdvert = 136;

struct NdInfo {
  uint8_t type = 0;  // kIcmp6NeighbourSolicit or kIcmp6NeighbourAdvert
  Ipv6Addr src;      // the IPv6 source (:: for duplicate address detection)
  Ipv6Addr dst;
  Ipv6Addr target;
  // The source link-layer address option of a solicitation, the target
  // link-layer address option of an advertisement.
  std::optional<MacAddr> link_addr;
  bool router = false;  // advertisements' flags
  bool solicited = false;
  bool override_flag = false;
};

// The NS or NA in an Ethernet frame, or why it is to be dropped (RFC 4861
// 7.1.1 and 7.1.2: hop limit 255, ICMPv6 checksum, code 0, length, target
// not multicast (nor the source, RFC 4291 2.7; nor an IP version but 6), options of non-zero length
// within the message, a solicitation from :: carrying no source link-layer address and sent to a
// solicited-node multicast address, no S flag on an advertisement sent to a
// multicast address). Anything but NS or NA is DropReason::kNdNotForUs.
std::variant<NdInfo, DropReason> parse_nd(const rte_mbuf* m);

// ff02::1:ffXX:XXXX, the solicited-node multicast address of `a`.
Ipv6Addr solicited_node(const Ipv6Addr& a);
// 33:33:xx:xx:xx:xx, the Ethernet address IPv6 multicast `a` goes to (RFC 2464 7).
MacAddr ipv6_multicast_mac(const Ipv6Addr& a);
inline bool is_ipv6_multicast(const Ipv6Addr& a) {
  return a.bytes[0] == 0xff;
}

// Turns the solicitation `ns` (parsed from `m`) for our address into its
// solicited advertisement, "ns.target is at our_mac", with the S and O
// flags and a target link-layer address option, to the asker at the MAC of
// its source link-layer option (or, a unicast probe without one, the
// frame's Ethernet source); for duplicate address detection (from ::), to
// all nodes (ff02::1) without S (RFC 4861 7.2.4). False (`m` untouched)
// when `m` is a chain or has no room for the 86-byte answer.
bool make_nd_advert_reply(rte_mbuf* m, const NdInfo& ns, const MacAddr& our_mac);

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
