#include "control/cluster/wireguard_mode.h"

namespace tartan {

namespace {

// flannel's IP4.IsPrivate: RFC 1918.
bool rfc1918(Ipv4Addr ip) {
  const uint32_t a = ip.value >> 24, b = (ip.value >> 16) & 0xff;
  return a == 10 || (a == 172 && (b & 0xf0) == 16) || (a == 192 && b == 168);
}

// flannel's IP6.IsPrivate: fc00::/7 (RFC 4193), tested on the first byte
// of the address as a big integer, so on its first non-zero byte.
bool rfc4193(const Ipv6Addr& ip) {
  for (uint8_t byte : ip.bytes) {
    if (byte != 0) return (byte & 0xfe) == 0xfc;
  }
  return false;
}

}  // namespace

std::optional<bool> one_peer_over_ipv6(const WireguardModeSettings& settings,
                                       const std::optional<Ipv4Addr>& public_ip,
                                       const std::optional<Ipv6Addr>& public_ipv6) {
  switch (settings.mode) {
    case WireguardMode::kSeparate:
      return std::nullopt;
    case WireguardMode::kIpv4:
      return false;
    case WireguardMode::kIpv6:
      return true;
    case WireguardMode::kAuto:
      break;
  }
  if (!public_ipv6) return false;
  if (public_ip && !rfc1918(*public_ip) && settings.underlay_ip) return false;
  return !rfc4193(*public_ipv6) && settings.underlay_ip6 && !rfc4193(*settings.underlay_ip6);
}

}  // namespace tartan
