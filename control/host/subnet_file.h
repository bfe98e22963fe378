// flannel's subnet.env, which the flannel CNI plugin reads: the same lines
// in the same order as flanneld writes them.
#pragma once

#include <optional>
#include <string>

#include "control/cluster/pod_cidrs.h"
#include "engine/net_types.h"
#include "engine/status.h"

namespace tartan {

// One family's lines: the cluster network and our podCIDR.
template <class Prefix>
struct SubnetFileFamily {
  Prefix network;  // FLANNEL_NETWORK / FLANNEL_IPV6_NETWORK
  Prefix subnet;   // our podCIDR; FLANNEL_SUBNET / FLANNEL_IPV6_SUBNET is its first host address
};

struct SubnetFile {
  std::optional<SubnetFileFamily<Ipv4Prefix>> ipv4;  // with EnableIPv4
  std::optional<SubnetFileFamily<Ipv6Prefix>> ipv6;  // with EnableIPv6
  uint16_t mtu = 0;  // FLANNEL_MTU: the pods' MTU (control/config/pod_mtu.h)
  bool ip_masq = false;
};

// As flanneld's WriteSubnetFile, the IPv4 lines only with IPv4, the IPv6
// ones only with IPv6:
// FLANNEL_NETWORK=10.244.0.0/16
// FLANNEL_SUBNET=10.244.1.1/24
// FLANNEL_IPV6_NETWORK=fd00:10:244::/56
// FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64
// FLANNEL_MTU=1430
// FLANNEL_IPMASQ=false
std::string render_subnet_file(const SubnetFile& f);

// Atomically (temp file + rename), mode 0644.
Status write_subnet_file(const std::string& path, const SubnetFile& f);

// The podCIDRs an earlier run wrote (FLANNEL_SUBNET and FLANNEL_IPV6_SUBNET,
// masked as flanneld's ReadCIDRFromSubnetFile does: 10.244.1.1/24 gives
// 10.244.1.0/24); a family's is unset when the file or its line is missing
// or malformed.
PodCidrs read_previous_subnets(const std::string& path);

}  // namespace tartan
