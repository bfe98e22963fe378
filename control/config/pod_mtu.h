// The MTU pods get: subnet.env's FLANNEL_MTU and the overlay ports' MTU.
// With dual stack one value serves both families, so it is the smaller of
// the two overlay MTUs and a pod's packets fit whichever tunnel they take.
#pragma once

#include <cstdint>

#include "control/config/config.h"

namespace tartan {

// IPv4 only: the IPv4 overlay MTU (DataplaneConfig::overlay_mtu); IPv6
// only: the IPv6 one (overlay_mtu6); dual stack: the smaller.
uint16_t pod_mtu(const NetworkConfig& network, const DataplaneConfig& d);

}  // namespace tartan
