// tartan-perf's run, after EAL is up: checks the ports, builds the frames,
// runs the mode (or the throughput search) and reports.
#pragma once

#include <csignal>

#include "perf/options.h"

namespace tartan::perf {

// Runs until the duration/packet count is reached or *stop becomes non-zero.
// Returns the process exit code: 0 done, 1 runtime failure, 2 bad options.
int run_traffic(const TrafficOptions& options, volatile std::sig_atomic_t& stop);

}  // namespace tartan::perf
