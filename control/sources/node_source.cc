#include "control/sources/node_source.h"

#include "control/sources/etcd/etcd_node_source.h"
#include "control/sources/kube/kube_node_source.h"
#include "control/sources/pushed_source.h"

namespace tartan {

std::unique_ptr<NodeSource> make_node_source(const Config& config) {
  switch (config.lease.source) {
    case LeaseSource::kStatic:
    case LeaseSource::kGrpc:
      return std::make_unique<PushedSource>(config);
    case LeaseSource::kEtcd:
      return std::make_unique<EtcdNodeSource>(config);
    case LeaseSource::kKube:
      return std::make_unique<KubeNodeSource>(config);
  }
  return nullptr;
}

}  // namespace tartan
