#include "control/sources/etcd/etcd_netconf.h"

namespace tartan {

Result<NetworkConfig> adopt_etcd_network(const NetworkConfig& ours, const NetworkConfig& etcd_net,
                                         uint16_t underlay_mtu, const std::string& key) {
  const auto mismatch = [&](const std::string& what, const std::string& theirs,
                            const std::string& mine) {
    return Status(ErrorCode::kFailedPrecondition,
                  key + " has " + what + " " + theirs + " but this node's network." + what +
                      " is " + mine + ": every node on the prefix must agree (change one of them)");
  };
  if (etcd_net.enable_ipv6)
    return Status(ErrorCode::kFailedPrecondition,
                  key + " has EnableIPv6 true: " + kEtcdIpv6Unsupported);
  if (!etcd_net.enable_ipv4)
    return Status(ErrorCode::kFailedPrecondition, key + " has EnableIPv4 false");
  const BackendConfig& t = etcd_net.backend;
  const BackendConfig& o = ours.backend;
  if (t.type != o.type)
    return mismatch("Backend.Type", backend_type_name(t.type), backend_type_name(o.type));
  if (t.type == BackendType::kVxlan && t.vni != o.vni)
    return mismatch("Backend.VNI", std::to_string(t.vni), std::to_string(o.vni));
  if (t.type != BackendType::kHostGw && t.port != o.port)
    return mismatch("Backend.Port", std::to_string(t.port), std::to_string(o.port));
  if (t.mtu != 0 && t.mtu != underlay_mtu)
    return mismatch("Backend.MTU", std::to_string(t.mtu), std::to_string(underlay_mtu));
  NetworkConfig n = ours;
  n.network = etcd_net.network;
  n.subnet_len = etcd_net.subnet_len;
  n.subnet_min = etcd_net.subnet_min;
  n.subnet_max = etcd_net.subnet_max;
  return n;
}

}  // namespace tartan
