// How many remote nodes get their own counters by default where an operator
// reads them: tartanctl stats' rows and /metrics' series
// (control.http.metrics_peers); the rest are summed (busiest_peers.h).
// Apart from stats.h so that tartanctl, which has no DPDK, can take it.
#pragma once

#include <cstdint>

namespace tartan {

inline constexpr uint32_t kDefaultShownPeers = 100;

}  // namespace tartan
