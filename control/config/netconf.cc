#include "control/config/netconf.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <utility>

namespace tartan {
namespace {

Status bad(std::string* bad_key, const char* key, std::string message) {
  *bad_key = key;
  return Status::invalid(std::move(message));
}

// One family's net-conf keys and flannel's limits for it.
struct FamilyKeys {
  const char* network;     // "Network", "IPv6Network"
  const char* subnet_len;  // "SubnetLen", ...
  const char* subnet_min;
  const char* subnet_max;
  int bits;               // of an address
  int default_len;        // each node's, in a network wide enough
  const char* too_small;  // flannel's text for a Network too small to split
};

constexpr FamilyKeys kIpv4Keys{"Network",
                               "SubnetLen",
                               "SubnetMin",
                               "SubnetMax",
                               32,
                               24,
                               "network is too small. Minimum useful network prefix is /28"};
constexpr FamilyKeys kIpv6Keys{"IPv6Network",
                               "IPv6SubnetLen",
                               "IPv6SubnetMin",
                               "IPv6SubnetMax",
                               128,
                               64,
                               "IPv6Network is too small. Minimum useful network prefix is /124"};

// One family's subnet settings, as written and as derived.
template <class Prefix>
struct FamilySubnets {
  using Addr = decltype(Prefix::addr);
  const std::optional<int64_t>& raw_len;
  const std::optional<Addr>& raw_min;
  const std::optional<Addr>& raw_max;
  uint8_t& len;
  Addr& min;
  Addr& max;
};

// The subnet settings of one family as flanneld's CheckNetworkConfig
// derives and checks them (the same rules for both), with its error texts.
template <class Prefix>
Status finish_subnets(const FamilyKeys& k, const Prefix& network, FamilySubnets<Prefix> s,
                      std::string* bad_key) {
  using Addr = typename FamilySubnets<Prefix>::Addr;
  if (s.raw_len && *s.raw_len > 0) {
    // At least four addresses (flannel: room for a tunnel and a bridge device).
    if (*s.raw_len > k.bits - 2) {
      return bad(bad_key, k.subnet_len,
                 "SubnetLen must be less than /" + std::to_string(k.bits - 1));
    }
    if (*s.raw_len < network.len + 2) {
      return bad(bad_key, k.subnet_len,
                 "network must be able to accommodate at least four subnets");
    }
    s.len = static_cast<uint8_t>(*s.raw_len);
  } else if (network.len > k.bits - 4) {
    return bad(bad_key, k.network, k.too_small);
  } else {
    s.len =
        static_cast<uint8_t>(network.len <= k.default_len - 2 ? k.default_len : network.len + 2);
  }

  // An unset (or zero) minimum skips the first subnet, whose network
  // address is the whole Network's; the maximum defaults to the last subnet.
  const auto given = [](const std::optional<Addr>& a) { return a && *a != Addr{}; };
  s.min = given(s.raw_min) ? *s.raw_min : Prefix{network.addr, s.len}.next()->addr;
  s.max = given(s.raw_max) ? *s.raw_max : Prefix{network.last(), s.len}.network().addr;
  const std::pair<const char*, Addr> ends[] = {{k.subnet_min, s.min}, {k.subnet_max, s.max}};
  for (const auto& [key, addr] : ends) {
    if (!network.contains(addr))
      return bad(bad_key, key, std::string(key) + " is not in the range of the " + k.network);
  }
  for (const auto& [key, addr] : ends) {
    if (Prefix{addr, s.len}.network().addr != addr)
      return bad(bad_key, key, std::string(key) + " is not on a SubnetLen boundary: " + addr.str());
  }
  if (s.min > s.max) {
    return bad(bad_key, k.subnet_min,
               std::string(k.subnet_min) + " " + s.min.str() + " is above " + k.subnet_max + " " +
                   s.max.str());
  }
  return {};
}

constexpr std::pair<WireguardMode, const char*> kWireguardModes[] = {
    {WireguardMode::kSeparate, "separate"},
    {WireguardMode::kAuto, "auto"},
    {WireguardMode::kIpv4, "ipv4"},
    {WireguardMode::kIpv6, "ipv6"},
};

// The first of the wireguard backend's keys that `raw` sets, or null.
const char* wireguard_key_set(const RawNetworkConfig& raw) {
  if (raw.listen_port) return "Backend.ListenPort";
  if (raw.listen_port_v6) return "Backend.ListenPortV6";
  if (raw.psk) return "Backend.PSK";
  if (raw.persistent_keepalive) return "Backend.PersistentKeepaliveInterval";
  if (raw.wireguard_mode) return "Backend.Mode";
  return nullptr;
}

// flannel's wireguard RegisterNetwork: its defaults, and what its devices
// would refuse. A listen port of 0 (the kernel picks one) is refused:
// flannel sends to every peer on its own ListenPort, so the port must be
// the same, known one on every node.
Status finish_wireguard(const RawNetworkConfig& raw, WireguardBackendConfig& wg,
                        std::string* bad_key) {
  const std::pair<const char*, const std::optional<int64_t>*> ports[] = {
      {"Backend.ListenPort", &raw.listen_port}, {"Backend.ListenPortV6", &raw.listen_port_v6}};
  for (const auto& [key, port] : ports) {
    if (*port && (**port < 1 || **port > 65535))
      return bad(bad_key, key, std::to_string(**port) + " is not a UDP port (1..65535)");
  }
  if (raw.listen_port) wg.listen_port = static_cast<uint16_t>(*raw.listen_port);
  if (raw.listen_port_v6) wg.listen_port_v6 = static_cast<uint16_t>(*raw.listen_port_v6);
  if (raw.psk && !raw.psk->empty()) {
    auto key = parse_wireguard_key(*raw.psk);
    if (!key) return bad(bad_key, "Backend.PSK", key.status().message());
    wg.psk = *key;
  }
  if (raw.persistent_keepalive) {
    // wg's persistent-keepalive is 16 bits of seconds.
    if (*raw.persistent_keepalive < 0 || *raw.persistent_keepalive > 65535) {
      return bad(bad_key, "Backend.PersistentKeepaliveInterval",
                 std::to_string(*raw.persistent_keepalive) +
                     " is out of range 0..65535 (seconds; 0: off)");
    }
    wg.persistent_keepalive_s = static_cast<uint16_t>(*raw.persistent_keepalive);
  }
  if (raw.wireguard_mode) {
    const auto* mode = std::find_if(std::begin(kWireguardModes), std::end(kWireguardModes),
                                    [&](const auto& m) { return *raw.wireguard_mode == m.second; });
    if (mode == std::end(kWireguardModes)) {
      return bad(bad_key, "Backend.Mode",
                 "'" + *raw.wireguard_mode +
                     "' is not a mode of flannel's wireguard backend (separate, auto, ipv4, ipv6)");
    }
    wg.mode = mode->first;
  }
  return {};
}

}  // namespace

const char* wireguard_mode_name(WireguardMode mode) {
  for (const auto& [m, name] : kWireguardModes) {
    if (m == mode) return name;
  }
  return "?";
}

Result<NetworkConfig> finish_network_config(const RawNetworkConfig& raw, std::string* bad_key,
                                            bool kube_mode) {
  NetworkConfig n;
  n.enable_ipv4 = raw.enable_ipv4;
  n.enable_ipv6 = raw.enable_ipv6;
  if (!n.enable_ipv4 && !n.enable_ipv6)
    return bad(bad_key, "EnableIPv4", "at least one of EnableIPv4 and EnableIPv6 must be true");

  if (n.enable_ipv4) {
    if (!raw.network)
      return bad(bad_key, "Network", "required when EnableIPv4 is true (e.g. \"10.244.0.0/16\")");
    n.network = *raw.network;
    if (kube_mode) {
      n.subnet_len = static_cast<uint8_t>(raw.subnet_len.value_or(0));
      n.subnet_min = raw.subnet_min.value_or(Ipv4Addr{});
      n.subnet_max = raw.subnet_max.value_or(Ipv4Addr{});
    } else if (Status s = finish_subnets(
                   kIpv4Keys, n.network,
                   FamilySubnets<Ipv4Prefix>{raw.subnet_len, raw.subnet_min, raw.subnet_max,
                                             n.subnet_len, n.subnet_min, n.subnet_max},
                   bad_key);
               !s.ok()) {
      return s;
    }
  }

  if (n.enable_ipv6) {
    if (!raw.ipv6_network) return bad(bad_key, "IPv6Network", "required when EnableIPv6 is true");
    n.ipv6_network = raw.ipv6_network;
    if (kube_mode) {
      n.ipv6_subnet_len = static_cast<uint8_t>(raw.ipv6_subnet_len.value_or(0));
    } else if (Status s =
                   finish_subnets(kIpv6Keys, *n.ipv6_network,
                                  FamilySubnets<Ipv6Prefix>{
                                      raw.ipv6_subnet_len, raw.ipv6_subnet_min, raw.ipv6_subnet_max,
                                      n.ipv6_subnet_len, n.ipv6_subnet_min, n.ipv6_subnet_max},
                                  bad_key);
               !s.ok()) {
      return s;
    }
  }

  BackendConfig& b = n.backend;
  // flannel: no Backend at all means udp; the type is matched lower-cased.
  std::string type = raw.backend_type ? *raw.backend_type : "udp";
  for (char& ch : type) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (type == "vxlan")
    b.type = BackendType::kVxlan;
  else if (type == "udp")
    b.type = BackendType::kUdp;
  else if (type == "host-gw")
    b.type = BackendType::kHostGw;
  else if (type == "wireguard")
    b.type = BackendType::kWireguard;
  else
    return bad(
        bad_key, "Backend.Type",
        "backend '" + type + "' is not supported by tartan (vxlan, udp, host-gw or wireguard)");

  // flannel's udp backend encapsulates IPv4 only (no flannel-v6 device).
  if (n.enable_ipv6 && b.type == BackendType::kUdp)
    return bad(bad_key, "Backend.Type",
               "the udp backend is IPv4 only (as in flannel): use vxlan or host-gw with "
               "EnableIPv6");
  if (raw.vni && b.type != BackendType::kVxlan)
    return bad(bad_key, "Backend.VNI", "VNI applies to the vxlan backend only");
  if (raw.vni) b.vni = static_cast<uint32_t>(*raw.vni);
  if (raw.port && b.type == BackendType::kHostGw)
    return bad(bad_key, "Backend.Port", "host-gw has no UDP port");
  if (raw.port && b.type == BackendType::kWireguard)
    return bad(bad_key, "Backend.Port", "the wireguard backend listens on Backend.ListenPort");
  if (b.type == BackendType::kWireguard) {
    if (Status s = finish_wireguard(raw, b.wireguard, bad_key); !s.ok()) return s;
    b.port = b.wireguard.listen_port;
  } else if (const char* key = wireguard_key_set(raw)) {
    return bad(bad_key, key, std::string(key).substr(8) + " applies to the wireguard backend only");
  } else {
    b.port = raw.port                      ? static_cast<uint16_t>(*raw.port)
             : b.type == BackendType::kUdp ? 8285
                                           : 8472;
  }
  if (raw.mtu) b.mtu = static_cast<uint16_t>(*raw.mtu);
  if (raw.direct_routing && b.type != BackendType::kVxlan) {
    return bad(bad_key, "Backend.DirectRouting", "DirectRouting applies to the vxlan backend only");
  }
  b.direct_routing = raw.direct_routing;
  return n;
}

Status check_pod_cidr_v6(const NetworkConfig& n, const Ipv6Prefix& cidr, bool check_length) {
  if (!n.ipv6_network || !n.ipv6_network->contains(cidr)) {
    return Status::invalid(cidr.str() + " is outside network.IPv6Network " +
                           (n.ipv6_network ? n.ipv6_network->str() : "(none)"));
  }
  if (check_length && cidr.len != n.ipv6_subnet_len) {
    return Status::invalid(cidr.str() + " is not a /" + std::to_string(n.ipv6_subnet_len) +
                           " (network.IPv6SubnetLen)");
  }
  return {};
}

}  // namespace tartan
