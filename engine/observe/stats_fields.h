// The one list of tartan's numeric statistics: each field's name (the Stats
// API's proto field, the DPDK telemetry key, the Prometheus metric's stem),
// its help text and whether it is a gauge rather than a counter. The Stats
// service, DPDK telemetry and /metrics all walk these tables, so a counter
// added here appears in all three.
#pragma once

#include <cstdint>
#include <span>

#include "engine/observe/stats.h"

namespace tartan {

enum class StatKind : uint8_t { kCounter, kGauge };

template <class Record>
struct StatField {
  const char* name;
  const char* help;
  uint64_t Record::*field;
  StatKind kind = StatKind::kCounter;
};

// Per port (PortStats; link_up, a bool, is reported beside them).
std::span<const StatField<PortStats>> port_stat_fields();
// Per worker (WorkerStats).
std::span<const StatField<WorkerStats>> worker_stat_fields();
// Engine-wide events (EventStats).
std::span<const StatField<EventStats>> event_stat_fields();
// Per remote node (PeerStats).
std::span<const StatField<PeerStats>> peer_stat_fields();

}  // namespace tartan
