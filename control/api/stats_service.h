#pragma once

#include <atomic>

#include "control/wireguard/wireguard_driver.h"
#include "engine/engine.h"
#include "tartan/v1/stats.grpc.pb.h"

namespace tartan {

// The engine's summed counters as the API message, with at most
// `max_peers` peers (the busiest; 0: all) and the rest summed.
void fill_stats(const StatsSnapshot& snapshot, uint32_t max_peers, v1::StatsSnapshot* out);
// `now` minus `before`, counter by counter; gauges (arp_held_now) as they are now.
StatsSnapshot stats_delta(const StatsSnapshot& now, const StatsSnapshot& before);

// The handshake side's counters as the API message.
void fill_wireguard_stats(const WireguardHandshakeCounters& counters, v1::WireguardStats* out);

class StatsService final : public v1::Stats::Service {
 public:
  // `wireguard`: the handshakes' counters (null: another backend).
  explicit StatsService(const Engine& engine, const WireguardDriver* wireguard = nullptr)
      : engine_(engine), wireguard_(wireguard) {}
  grpc::Status GetStats(grpc::ServerContext*, const v1::GetStatsRequest*,
                        v1::StatsSnapshot* out) override;
  grpc::Status StreamStats(grpc::ServerContext* ctx, const v1::StreamStatsRequest* req,
                           grpc::ServerWriter<v1::StatsSnapshot>* writer) override;
  void stop_streams() { stopping_ = true; }
  size_t open_streams() const { return open_streams_; }

 private:
  const Engine& engine_;
  const WireguardDriver* wireguard_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> open_streams_{0};
};

}  // namespace tartan
