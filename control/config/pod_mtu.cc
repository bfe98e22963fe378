#include "control/config/pod_mtu.h"

#include <algorithm>

namespace tartan {

uint16_t pod_mtu(const NetworkConfig& network, const DataplaneConfig& d) {
  if (!network.enable_ipv6) return d.overlay_mtu();
  if (!network.enable_ipv4) return d.overlay_mtu6();
  return std::min(d.overlay_mtu(), d.overlay_mtu6());
}

}  // namespace tartan
