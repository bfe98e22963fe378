// flannel's subnet.env, which the flannel CNI plugin reads: the same lines
// in the same order as flanneld writes them.
#pragma once

#include <optional>
#include <string>

#include "engine/net_types.h"
#include "engine/status.h"

namespace tartan {

struct SubnetFile {
  Ipv4Prefix network;  // FLANNEL_NETWORK
  Ipv4Prefix subnet;   // our podCIDR; FLANNEL_SUBNET is its first host address
  uint16_t mtu = 0;    // FLANNEL_MTU: the overlay MTU
  bool ip_masq = false;
};

// FLANNEL_NETWORK=10.244.0.0/16
// FLANNEL_SUBNET=10.244.1.1/24
// FLANNEL_MTU=1450
// FLANNEL_IPMASQ=false
std::string render_subnet_file(const SubnetFile& f);

// Atomically (temp file + rename), mode 0644.
Status write_subnet_file(const std::string& path, const SubnetFile& f);

// The podCIDR an earlier run wrote (FLANNEL_SUBNET, masked as flanneld's
// ReadCIDRFromSubnetFile does: 10.244.1.1/24 gives 10.244.1.0/24); nullopt
// when the file or the line is missing or malformed.
std::optional<Ipv4Prefix> read_previous_subnet(const std::string& path);

}  // namespace tartan
