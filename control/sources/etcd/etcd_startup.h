// tartand's first contact with etcd (lease.source etcd), before any port is
// touched: connect, read `<prefix>/config` as flanneld does, and make it
// the network this node runs with, or refuse to start.
#pragma once

#include <memory>

#include "control/config/config.h"
#include "control/sources/etcd/etcd_client.h"
#include "engine/status.h"

namespace tartan {

// Waits up to lease.etcd.startup_timeout_s for etcd to answer (retrying
// with back-off). When `<prefix>/config` exists, config.network takes its
// Network, SubnetLen, SubnetMin and SubnetMax; a backend, VNI, port or MTU
// that differs from ours is an error naming both. When it does not exist,
// ours stands (flanneld nodes on the prefix need it written by hand).
Result<std::unique_ptr<EtcdClient>> connect_etcd(Config& config);

}  // namespace tartan
