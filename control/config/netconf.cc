#include "control/config/netconf.h"

#include <cctype>

namespace tartan {
namespace {

Status bad(std::string* bad_key, const char* key, std::string message) {
  *bad_key = key;
  return Status::invalid(std::move(message));
}

// The IPv4 subnet settings as flanneld's CheckNetworkConfig derives and
// checks them, with its error texts.
Status finish_subnets(const RawNetworkConfig& raw, NetworkConfig& n, std::string* bad_key) {
  if (raw.subnet_len && *raw.subnet_len > 0) {
    if (*raw.subnet_len > 30) return bad(bad_key, "SubnetLen", "SubnetLen must be less than /31");
    if (*raw.subnet_len < n.network.len + 2) {
      return bad(bad_key, "SubnetLen", "network must be able to accommodate at least four subnets");
    }
    n.subnet_len = static_cast<uint8_t>(*raw.subnet_len);
  } else if (n.network.len > 28) {
    return bad(bad_key, "Network", "network is too small. Minimum useful network prefix is /28");
  } else {
    n.subnet_len = n.network.len <= 22 ? 24 : n.network.len + 2;
  }

  const uint32_t size = uint32_t{1} << (32 - n.subnet_len);
  const uint32_t mask = ~(size - 1);
  // An unset (or 0.0.0.0) SubnetMin skips the first subnet, whose network
  // address is the whole Network's; SubnetMax defaults to the last subnet.
  const uint32_t network_end = n.network.addr.value | ~n.network.mask();
  n.subnet_min = raw.subnet_min && raw.subnet_min->value ? *raw.subnet_min
                                                         : Ipv4Addr{n.network.addr.value + size};
  n.subnet_max =
      raw.subnet_max && raw.subnet_max->value ? *raw.subnet_max : Ipv4Addr{network_end + 1 - size};
  if (!n.network.contains(n.subnet_min))
    return bad(bad_key, "SubnetMin", "SubnetMin is not in the range of the Network");
  if (!n.network.contains(n.subnet_max))
    return bad(bad_key, "SubnetMax", "SubnetMax is not in the range of the Network");
  if ((n.subnet_min.value & mask) != n.subnet_min.value) {
    return bad(bad_key, "SubnetMin",
               "SubnetMin is not on a SubnetLen boundary: " + n.subnet_min.str());
  }
  if ((n.subnet_max.value & mask) != n.subnet_max.value) {
    return bad(bad_key, "SubnetMax",
               "SubnetMax is not on a SubnetLen boundary: " + n.subnet_max.str());
  }
  if (n.subnet_min.value > n.subnet_max.value) {
    return bad(bad_key, "SubnetMin",
               "SubnetMin " + n.subnet_min.str() + " is above SubnetMax " + n.subnet_max.str());
  }
  return {};
}

Status finish_ipv6_subnets(const RawNetworkConfig& raw, NetworkConfig& n, std::string* bad_key) {
  const int len = n.ipv6_network->len;
  if (raw.ipv6_subnet_len && *raw.ipv6_subnet_len > 0) {
    if (*raw.ipv6_subnet_len > 126)
      return bad(bad_key, "IPv6SubnetLen", "SubnetLen must be less than /127");
    if (*raw.ipv6_subnet_len < len + 2) {
      return bad(bad_key, "IPv6SubnetLen",
                 "network must be able to accommodate at least four subnets");
    }
    n.ipv6_subnet_len = static_cast<uint8_t>(*raw.ipv6_subnet_len);
  } else if (len > 124) {
    return bad(bad_key, "IPv6Network",
               "IPv6Network is too small. Minimum useful network prefix is /124");
  } else {
    n.ipv6_subnet_len = static_cast<uint8_t>(len <= 62 ? 64 : len + 2);
  }

  // As for IPv4: an unset (or ::) IPv6SubnetMin skips the first subnet,
  // IPv6SubnetMax defaults to the last one.
  const Ipv6Prefix& network = *n.ipv6_network;
  const auto given = [](const std::optional<Ipv6Addr>& a) { return a && !a->is_zero(); };
  n.ipv6_subnet_min = given(raw.ipv6_subnet_min)
                          ? *raw.ipv6_subnet_min
                          : Ipv6Prefix{network.addr, n.ipv6_subnet_len}.next()->addr;
  n.ipv6_subnet_max = given(raw.ipv6_subnet_max)
                          ? *raw.ipv6_subnet_max
                          : Ipv6Prefix{network.last(), n.ipv6_subnet_len}.network().addr;
  for (const auto& [key, addr] : {std::pair{"IPv6SubnetMin", n.ipv6_subnet_min},
                                  std::pair{"IPv6SubnetMax", n.ipv6_subnet_max}}) {
    if (!network.contains(addr))
      return bad(bad_key, key, std::string(key) + " is not in the range of the IPv6Network");
    if (Ipv6Prefix{addr, n.ipv6_subnet_len}.network().addr != addr) {
      return bad(bad_key, key, std::string(key) + " is not on a SubnetLen boundary: " + addr.str());
    }
  }
  if (n.ipv6_subnet_min > n.ipv6_subnet_max) {
    return bad(bad_key, "IPv6SubnetMin",
               "IPv6SubnetMin " + n.ipv6_subnet_min.str() + " is above IPv6SubnetMax " +
                   n.ipv6_subnet_max.str());
  }
  return {};
}

}  // namespace

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
    } else if (Status s = finish_subnets(raw, n, bad_key); !s.ok()) {
      return s;
    }
  }

  if (n.enable_ipv6) {
    if (!raw.ipv6_network) return bad(bad_key, "IPv6Network", "required when EnableIPv6 is true");
    n.ipv6_network = raw.ipv6_network;
    if (kube_mode) {
      n.ipv6_subnet_len = static_cast<uint8_t>(raw.ipv6_subnet_len.value_or(0));
    } else if (Status s = finish_ipv6_subnets(raw, n, bad_key); !s.ok()) {
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
  else
    return bad(bad_key, "Backend.Type",
               "backend '" + type + "' is not supported by tartan (vxlan, udp or host-gw)");

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
  b.port = raw.port ? static_cast<uint16_t>(*raw.port) : b.type == BackendType::kUdp ? 8285 : 8472;
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
