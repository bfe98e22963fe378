#pragma once

#include "control/cluster/local_lease.h"
#include "control/cluster/node_mirror.h"
#include "control/config/config.h"
#include "engine/engine.h"
#include "tartan/v1/lease.grpc.pb.h"

namespace tartan {

class LeasesService final : public v1::Leases::Service {
 public:
  LeasesService(const Config& config, const Engine& engine, LocalLease& lease,
                const NodeMirror& mirror, const AnnotationKeys& keys)
      : config_(config), engine_(engine), lease_(lease), mirror_(mirror), keys_(keys) {}

  grpc::Status GetLocalLease(grpc::ServerContext*, const v1::GetLocalLeaseRequest*,
                             v1::LocalLease* out) override;
  grpc::Status SetLocalLease(grpc::ServerContext*, const v1::SetLocalLeaseRequest* req,
                             v1::LocalLease* out) override;
  grpc::Status ListRemoteLeases(grpc::ServerContext*, const v1::ListRemoteLeasesRequest*,
                                v1::ListRemoteLeasesResponse* out) override;

 private:
  void fill(const LocalLeaseState& state, v1::LocalLease* out) const;

  const Config& config_;
  const Engine& engine_;
  LocalLease& lease_;
  const NodeMirror& mirror_;
  const AnnotationKeys keys_;
};

}  // namespace tartan
