// The MTU pods get: subnet.env's FLANNEL_MTU and the overlay ports' MTU.
// With dual stack one value serves both families, so it is the smaller of
// the two overlay MTUs and a pod's packets fit whichever tunnel they take.
#pragma once

#include <cstdint>

#include "control/config/config.h"

namespace tartan {

// The IPv6 overlay's MTU: vxlan's outer IPv6 header is 20 bytes longer than
// IPv4's, so underlay MTU - 70 (Ethernet 14 + IPv6 40 + UDP 8 + VXLAN 8).
// flanneld gives flannel-v6.<VNI> underlay - 50 as for IPv4 (flannel#1781):
// full-size IPv6 frames then do not fit the underlay. host-gw adds nothing.
uint16_t ipv6_overlay_mtu(const DataplaneConfig& d);

// IPv4 only: the IPv4 overlay MTU; IPv6 only: the IPv6 one; dual stack:
// the smaller.
uint16_t pod_mtu(const NetworkConfig& network, const DataplaneConfig& d);

}  // namespace tartan
