// lease.source etcd as a NodeSource: connects and adopts <prefix>/config
// before the engine is built (connect_etcd), then runs EtcdLeaseSource.
#pragma once

#include <memory>

#include "control/sources/etcd/etcd_client.h"
#include "control/sources/etcd/etcd_lease_source.h"
#include "control/sources/node_source.h"

namespace tartan {

class EtcdNodeSource final : public NodeSource {
 public:
  explicit EtcdNodeSource(const Config& config) : config_(config) {}
  std::vector<std::string> readiness_conditions() const override;
  Status prepare(Config& config) override;
  Status start(const SourceContext& context) override;
  void stop() override;
  std::string mirror_owner() const override;

  // The running source (after start()), for tests and benchmarks.
  EtcdLeaseSource* leases() { return leases_.get(); }

 private:
  const Config& config_;
  std::unique_ptr<EtcdClient> client_;  // from prepare() to start()
  std::unique_ptr<EtcdLeaseSource> leases_;
};

}  // namespace tartan
