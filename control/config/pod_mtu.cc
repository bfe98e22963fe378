#include "control/config/pod_mtu.h"

#include <algorithm>

namespace tartan {

uint16_t ipv6_overlay_mtu(const DataplaneConfig& d) {
  constexpr uint16_t kVxlanOverIpv6 = 14 + 40 + 8 + 8;
  return d.backend == BackendType::kHostGw ? d.underlay_mtu : d.underlay_mtu - kVxlanOverIpv6;
}

uint16_t pod_mtu(const NetworkConfig& network, const DataplaneConfig& d) {
  if (!network.enable_ipv6) return d.overlay_mtu();
  if (!network.enable_ipv4) return ipv6_overlay_mtu(d);
  return std::min(d.overlay_mtu(), ipv6_overlay_mtu(d));
}

}  // namespace tartan
