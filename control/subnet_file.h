// flannel's subnet.env, which the flannel CNI plugin reads: the same lines
// in the same order as flanneld writes them.
#pragma once

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

}  // namespace tartan
