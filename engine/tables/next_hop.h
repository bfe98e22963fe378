// A next hop is where a route's packets go, with the bytes to put in front
// of them computed once when the route is programmed: per packet the worker
// copies the template and patches only lengths, IP id, checksums, the UDP
// source port and the neighbour's MAC.
//
// IPv4 and IPv6 next hops share the type and the id space (so per-peer
// counters, neighbours and RCU retirement are one mechanism). The IPv6
// VXLAN template is 84 bytes (outer Ethernet 14 + IPv6 40 + UDP 8 + VXLAN 8
// + inner Ethernet 14) where IPv4's is 64: the fields a packet reads fill
// the first 32 bytes and the header the next 96, so either family's
// encapsulation reads two cache lines; what no packet reads (the remote
// node's addresses, for views and proxy ARP) comes after.
#pragma once

#include <rte_common.h>

#include <cstdint>
#include <optional>
#include <utility>

#include "engine/engine_config.h"
#include "engine/net_types.h"

namespace tartan {

enum class NextHopKind : uint8_t {
  kVxlan,   // encapsulate in Ethernet/IPv4/UDP/VXLAN to a remote VTEP
  kUdp,     // encapsulate in Ethernet/IPv4/UDP (flannel's udp backend)
  kDirect,  // plain L2 rewrite to the remote node's underlay MAC (host-gw, DirectRouting)
  kLocal,   // deliver to an overlay port of this node
  // seal in a WireGuard transport message to the remote node's peer, then
  // Ethernet/IPv4/UDP, or Ethernet/IPv6/UDP for an IPv6 next hop
  // (flannel-wg-v6's peer); the next-hop id is the peer's session slot
  kWireguard,
};

const char* next_hop_kind_name(NextHopKind kind);

// Whether next hops of `kind` put a UDP tunnel in front of the packet, so
// their public IP is a sender of tunnel traffic.
inline bool tunnel_kind(NextHopKind kind) {
  return kind == NextHopKind::kVxlan || kind == NextHopKind::kUdp ||
         kind == NextHopKind::kWireguard;
}

inline constexpr uint32_t kNoAdjacency = UINT32_MAX;
// Room for the longest template: IPv6 VXLAN's 84 bytes, rounded to 16.
inline constexpr size_t kNextHopHeaderRoom = 96;

struct alignas(RTE_CACHE_LINE_SIZE) NextHop {
  NextHopKind kind = NextHopKind::kLocal;
  uint8_t header_len = 0;             // bytes of `header` that go in front of the payload
  uint16_t out_port = 0;              // ethdev port id the packet leaves on
  uint32_t id = 0;                    // slot in the next-hop table; indexes per-peer counters
  uint32_t adjacency = kNoAdjacency;  // neighbour whose MAC is the outer Ethernet destination
  uint32_t ip_sum = 0;  // one's complement sum of the outer IPv4 header, variable fields zero
  // Tunnel kinds, one's complement sums (network-order terms, unfolded) of
  // what the outer UDP checksum covers and no packet changes: the pseudo
  // header's addresses and protocol (`phdr_sum`), and those plus the fixed
  // UDP ports and the template's bytes after the UDP header (`udp_sum`).
  // Per packet only the lengths, the flow's source port and the payload's
  // own sum are added.
  uint32_t phdr_sum = 0;
  uint32_t udp_sum = 0;
  // An IPv6 next hop: outer IPv6 (tunnel) or an IPv6 peer (direct). In the
  // packet's lines: wireguard's one-device modes seal either family's
  // packets behind either family's headers, chosen per packet by this.
  bool ipv6 = false;
  alignas(32) uint8_t header[kNextHopHeaderRoom] = {};
  Ipv4Addr public_ip;   // remote node (tunnel and direct kinds)
  MacAddr vtep_mac;     // remote VTEP (vxlan)
  Ipv6Addr public_ip6;  // remote node's underlay IPv6 (IPv6 tunnel and direct kinds)
};
static_assert(offsetof(NextHop, header) + kNextHopHeaderRoom == 2 * RTE_CACHE_LINE_SIZE,
              "a packet reads two cache lines of its next hop");

struct NextHopParams {
  NextHopKind kind = NextHopKind::kLocal;
  uint16_t out_port = 0;
  uint32_t adjacency = kNoAdjacency;
  MacAddr src_mac;          // underlay port MAC (tunnel, direct) or our VTEP MAC (local)
  MacAddr dst_mac;          // local: the overlay host's MAC; direct/tunnel: filled per packet
  Ipv4Addr local_ip;        // our underlay address (outer source)
  Ipv4Addr public_ip;       // remote node's underlay address (outer destination)
  uint16_t udp_port = 0;    // tunnel destination port (udp, wireguard: source port too;
                            // an IPv6 wireguard next hop's: ListenPortV6)
  uint16_t peer_port = 0;   // wireguard: the peer's ListenPort, the destination; 0: udp_port
  uint32_t vni = 0;         // vxlan
  MacAddr our_vtep_mac;     // vxlan inner source
  MacAddr remote_vtep_mac;  // vxlan inner destination
  // IPv6 (flannel-v6): outer IPv6 from local_ip6 to public_ip6 (tunnel),
  // Ethernet type IPv6 (direct); our_vtep_mac is then flannel-v6's own.
  bool ipv6 = false;
  Ipv6Addr local_ip6;
  Ipv6Addr public_ip6;
  // wireguard: where the peer's packets go once it roamed (its endpoint,
  // UDP port in host order); unset: public_ip and peer_port. endpoint6:
  // the same for an IPv6 next hop (public_ip6).
  std::optional<std::pair<Ipv4Addr, uint16_t>> endpoint;
  std::optional<std::pair<Ipv6Addr, uint16_t>> endpoint6;
};

// Fills kind, header, header_len, the checksum sums and the addressing fields.
void build_next_hop(const NextHopParams& params, NextHop& out);

}  // namespace tartan
