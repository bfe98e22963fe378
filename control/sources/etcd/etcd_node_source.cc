#include "control/sources/etcd/etcd_node_source.h"

#include "control/sources/etcd/etcd_startup.h"

namespace tartan {

std::vector<std::string> EtcdNodeSource::readiness_conditions() const {
  return {"tables_programmed", "etcd"};
}

Status EtcdNodeSource::prepare(Config& config) {
  auto client = connect_etcd(config);
  if (!client) return client.status();
  client_ = std::move(client).value();
  return {};
}

Status EtcdNodeSource::start(const SourceContext& context) {
  leases_ = std::make_unique<EtcdLeaseSource>(std::move(client_), config_, context.mirror,
                                              context.lease, context.readiness, context.vtep_mac);
  return leases_->start();
}

std::string EtcdNodeSource::mirror_owner() const {
  return "etcd (lease.source etcd): every node is a lease under " + config_.lease.etcd.prefix +
         "/subnets/; change it there (etcdctl)";
}

void EtcdNodeSource::stop() {
  if (leases_) leases_->stop();
}

}  // namespace tartan
