// flannel's `<prefix>/config` in etcd: the net-conf JSON every flanneld on
// the prefix runs with (read by config/netconf_json.h). Where tartan's own
// config disagrees on what must be common to every node, tartan refuses to
// start.
#pragma once

#include <string>

#include "control/config/config.h"
#include "engine/status.h"

namespace tartan {

// The network this node runs with when etcd holds `etcd_net` (already
// finished, defaults applied) at `key`: Network, SubnetLen, SubnetMin and
// SubnetMax and their IPv6 counterparts are etcd's, as for flanneld; the
// address families (EnableIPv4, EnableIPv6), backend type, VNI, port and an
// explicit MTU must equal ours (`underlay_mtu`: our effective backend MTU),
// else the error names both values.
Result<NetworkConfig> adopt_etcd_network(const NetworkConfig& ours, const NetworkConfig& etcd_net,
                                         uint16_t underlay_mtu, const std::string& key);

}  // namespace tartan
