#include "control/sources/pushed_source.h"

namespace tartan {

std::vector<std::string> PushedSource::readiness_conditions() const {
  return {"tables_programmed"};
}

Status PushedSource::start(const SourceContext& context) {
  // Pushed nodes arrive through the API; there is nothing to sync first.
  context.readiness.set("tables_programmed", true, "nodes are pushed through the API");
  if (config_.lease.source == LeaseSource::kStatic)
    return context.lease.set({config_.lease.subnet, config_.lease.subnet_v6}, LeaseSource::kStatic);
  context.readiness.set("lease_acquired", false, "waiting for Leases.SetLocalLease");
  context.readiness.set("subnet_env_written", false, "waiting for the lease");
  return {};
}

}  // namespace tartan
