// flannel's wireguard Mode as the node mirror applies it (flannel's
// pkg/backend/wireguard): in Mode separate each family has its own device
// and peers; in the one-device modes (auto, ipv4, ipv6) flannel-wg carries
// both families, each node being one peer at the address of the family
// the mode picks.
#pragma once

#include <optional>

#include "control/config/config.h"
#include "engine/net_types.h"

namespace tartan {

// The mode and, for auto, what flannel's selectMode weighs of ours.
struct WireguardModeSettings {
  WireguardMode mode = WireguardMode::kSeparate;
  std::optional<Ipv4Addr> underlay_ip;   // our IPv4 underlay address (flannel's ExtAddr)
  std::optional<Ipv6Addr> underlay_ip6;  // our IPv6 one (flannel's ExtV6Addr)
};

// In a one-device mode: whether a node with these public addresses is
// reached over IPv6 (else IPv4); nullopt in Mode separate. auto is
// flannel's selectMode: IPv4 when the node has no IPv6, or a public IPv4
// and we have an IPv4; IPv6 when the node's IPv6 and ours are both public
// (not RFC 4193); else IPv4.
std::optional<bool> one_peer_over_ipv6(const WireguardModeSettings& settings,
                                       const std::optional<Ipv4Addr>& public_ip,
                                       const std::optional<Ipv6Addr>& public_ipv6);

}  // namespace tartan
