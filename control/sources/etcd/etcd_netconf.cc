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
  const auto yes_no = [](bool on) { return on ? "true" : "false"; };
  if (etcd_net.enable_ipv4 != ours.enable_ipv4)
    return mismatch("EnableIPv4", yes_no(etcd_net.enable_ipv4), yes_no(ours.enable_ipv4));
  if (etcd_net.enable_ipv6 != ours.enable_ipv6)
    return mismatch("EnableIPv6", yes_no(etcd_net.enable_ipv6), yes_no(ours.enable_ipv6));
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
  n.ipv6_network = etcd_net.ipv6_network;
  n.ipv6_subnet_len = etcd_net.ipv6_subnet_len;
  n.ipv6_subnet_min = etcd_net.ipv6_subnet_min;
  n.ipv6_subnet_max = etcd_net.ipv6_subnet_max;
  return n;
}

}  // namespace tartan
