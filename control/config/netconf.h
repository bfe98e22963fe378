// flannel's net-conf.json semantics: the defaults flanneld derives
// (SubnetLen, SubnetMin, SubnetMax, backend Port) and the checks it makes.
// Shared by the YAML `network` section and the JSON reader
// (netconf_json.h: `network_file`, etcd's `<prefix>/config`).
#pragma once

#include <optional>
#include <string>

#include "control/config/config.h"
#include "engine/status.h"

namespace tartan {

// net-conf.json as written, before defaults.
struct RawNetworkConfig {
  bool enable_ipv4 = true;
  bool enable_ipv6 = false;
  std::optional<Ipv4Prefix> network;
  std::optional<int64_t> subnet_len;
  std::optional<Ipv4Addr> subnet_min;
  std::optional<Ipv4Addr> subnet_max;
  std::optional<Ipv6Prefix> ipv6_network;
  std::optional<int64_t> ipv6_subnet_len;
  std::optional<Ipv6Addr> ipv6_subnet_min;
  std::optional<Ipv6Addr> ipv6_subnet_max;
  std::optional<std::string> backend_type;  // unset: no Backend object (flannel: udp)
  std::optional<int64_t> vni;
  std::optional<int64_t> port;
  std::optional<int64_t> mtu;
  bool direct_routing = false;
  // The wireguard backend's (flannel's names: ListenPort, ListenPortV6,
  // PSK, PersistentKeepaliveInterval, Mode).
  std::optional<int64_t> listen_port;
  std::optional<int64_t> listen_port_v6;
  std::optional<std::string> psk;
  std::optional<int64_t> persistent_keepalive;
  std::optional<std::string> wireguard_mode;
};

// Applies flannel's defaults and checks. On error, *bad_key names the
// net-conf key at fault ("SubnetMin", "Backend.Type", ...). `kube_mode`
// (lease.source kube): as flanneld's kube subnet manager, SubnetLen,
// SubnetMin and SubnetMax (and their IPv6 counterparts) are neither derived
// nor checked, since kube-controller-manager assigns the podCIDRs; they keep
// what the net-conf says, 0 when absent.
Result<NetworkConfig> finish_network_config(const RawNetworkConfig& raw, std::string* bad_key,
                                            bool kube_mode = false);

// Whether `cidr` may be a node's IPv6 podCIDR: inside IPv6Network and,
// when `check_length` (not for Kubernetes' podCIDRs, as flanneld), of length
// IPv6SubnetLen. The error names the net-conf key it breaks.
Status check_pod_cidr_v6(const NetworkConfig& n, const Ipv6Prefix& cidr, bool check_length);

}  // namespace tartan
