#pragma once

#include "control/cluster/readiness.h"
#include "tartan/v1/health.grpc.pb.h"

namespace tartan {

// tartand's health as the Health API, `tartanctl health` and /readyz give
// it: live, ready, each readiness condition, version and uptime.
v1::HealthCheckResponse health_report(const Readiness& readiness);

class HealthService final : public v1::Health::Service {
 public:
  explicit HealthService(const Readiness& readiness) : readiness_(readiness) {}
  grpc::Status Check(grpc::ServerContext*, const v1::HealthCheckRequest*,
                     v1::HealthCheckResponse* out) override;

 private:
  const Readiness& readiness_;
};

}  // namespace tartan
