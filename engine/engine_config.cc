#include "engine/engine_config.h"

#include "engine/backends/headers.h"

namespace tartan {

const char* port_role_name(PortRole role) {
  switch (role) {
    case PortRole::kUnderlay:
      return "underlay";
    case PortRole::kOverlay:
      return "overlay";
    case PortRole::kException:
      return "exception";
  }
  return "?";
}

const char* backend_type_name(BackendType type) {
  switch (type) {
    case BackendType::kVxlan:
      return "vxlan";
    case BackendType::kUdp:
      return "udp";
    case BackendType::kHostGw:
      return "host-gw";
    case BackendType::kWireguard:
      return "wireguard";
  }
  return "?";
}

uint16_t DataplaneConfig::overlay_mtu() const {
  switch (backend) {
    case BackendType::kVxlan:
      return underlay_mtu - 50;  // outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8
    case BackendType::kUdp:
      return underlay_mtu - 28;  // IPv4 20 + UDP 8
    case BackendType::kHostGw:
      return underlay_mtu;
    case BackendType::kWireguard:
      return underlay_mtu - kWireguardMtuOverhead;
  }
  return underlay_mtu;
}

uint16_t DataplaneConfig::overlay_mtu6() const {
  switch (backend) {
    case BackendType::kHostGw:
      return underlay_mtu;
    case BackendType::kWireguard:
      return underlay_mtu - kWireguardMtuOverhead;
    case BackendType::kVxlan:
    case BackendType::kUdp:
      break;
  }
  return static_cast<uint16_t>(underlay_mtu - kVxlan6MtuOverhead);
}

}  // namespace tartan
