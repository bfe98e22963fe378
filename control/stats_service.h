#pragma once

#include "engine/engine.h"
#include "tartan/v1/stats.grpc.pb.h"

namespace tartan {

// Converts the engine's summed counters to the API message.
void fill_stats(const StatsSnapshot& snapshot, v1::StatsSnapshot* out);

class StatsService final : public v1::Stats::Service {
 public:
  explicit StatsService(const Engine& engine) : engine_(engine) {}
  grpc::Status GetStats(grpc::ServerContext*, const v1::GetStatsRequest*,
                        v1::StatsSnapshot* out) override;

 private:
  const Engine& engine_;
};

}  // namespace tartan
