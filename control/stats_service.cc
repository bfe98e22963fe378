#include "control/stats_service.h"

#include <chrono>

namespace tartan {

void fill_stats(const StatsSnapshot& s, v1::StatsSnapshot* out) {
  for (const PortStats& p : s.ports) {
    auto* o = out->add_ports();
    o->set_name(p.name);
    o->set_role(p.role);
    o->set_port_id(p.port_id);
    o->set_rx_packets(p.rx_packets);
    o->set_rx_bytes(p.rx_bytes);
    o->set_tx_packets(p.tx_packets);
    o->set_tx_bytes(p.tx_bytes);
    o->set_hw_rx_missed(p.hw_rx_missed);
    o->set_hw_rx_errors(p.hw_rx_errors);
    o->set_hw_tx_errors(p.hw_tx_errors);
  }
  for (const WorkerStats& w : s.workers) {
    auto* o = out->add_workers();
    o->set_lcore(w.lcore);
    o->set_loops(w.loops);
    o->set_busy_loops(w.busy_loops);
  }
  for (size_t r = 0; r < kNumDropReasons; ++r) {
    auto* d = out->add_drops();
    d->set_reason(drop_reason_name(static_cast<DropReason>(r)));
    d->set_help(drop_reason_help(static_cast<DropReason>(r)));
    d->set_packets(s.drops[r]);
  }
  out->set_timestamp_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

grpc::Status StatsService::GetStats(grpc::ServerContext*, const v1::GetStatsRequest*,
                                    v1::StatsSnapshot* out) {
  fill_stats(engine_.stats(), out);
  return grpc::Status::OK;
}

}  // namespace tartan
