#include "control/api/health_service.h"

#include "version.h"

namespace tartan {

v1::HealthCheckResponse health_report(const Readiness& readiness) {
  v1::HealthCheckResponse out;
  out.set_live(true);
  bool ready = true;
  for (const ReadinessCondition& c : readiness.conditions()) {
    auto* pc = out.add_conditions();
    pc->set_name(c.name);
    pc->set_ok(c.ok);
    pc->set_message(c.message);
    ready = ready && c.ok;
  }
  out.set_ready(ready);
  out.set_version(kTartanVersion);
  out.set_uptime_seconds(readiness.uptime_seconds());
  return out;
}

grpc::Status HealthService::Check(grpc::ServerContext*, const v1::HealthCheckRequest*,
                                  v1::HealthCheckResponse* out) {
  *out = health_report(readiness_);
  return grpc::Status::OK;
}

}  // namespace tartan
