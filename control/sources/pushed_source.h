// lease.source static and grpc: nothing is watched; nodes are pushed
// through the API (tartanctl nodes apply), and the lease is the config's
// (static) or set through Leases.SetLocalLease (grpc).
#pragma once

#include "control/sources/node_source.h"

namespace tartan {

class PushedSource final : public NodeSource {
 public:
  explicit PushedSource(const Config& config) : config_(config) {}
  std::vector<std::string> readiness_conditions() const override;
  Status start(const SourceContext& context) override;
  void stop() override {}

 private:
  const Config& config_;
};

}  // namespace tartan
