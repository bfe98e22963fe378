// Runs a mode for one trial: the pollers on the main lcore (and the second
// lcore when there is one), a line per second, then the counts.
#pragma once

#include <rte_mempool.h>

#include <csignal>
#include <cstdint>
#include <memory>
#include <vector>

#include "perf/forwarder.h"
#include "perf/frames.h"
#include "perf/generator.h"
#include "perf/options.h"
#include "perf/receiver.h"
#include "perf/result.h"
#include "perf/unmap_guard.h"
#include "perf/worker_lcore.h"

namespace tartan::perf {

struct RunnerPorts {
  uint16_t tx = 0, rx = 0;
  uint16_t count = 0;  // ports EAL created (io/macswap use 0 and 1, or 0 alone)
};

class Runner {
 public:
  // `frames`: needed by the modes that send. With two or more lcores the
  // receiver (loopback) or the port 1 -> 0 direction (io, macswap) runs on
  // the first worker lcore.
  Runner(const TrafficOptions& o, rte_mempool* pool, const FrameFactory* frames,
         const RunnerPorts& ports, volatile std::sig_atomic_t& stop);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // One trial at `rate_pps` for `duration_s` (0: until stopped) or
  // `packets` (0: no limit).
  TrialResult run(double rate_pps, double duration_s, uint64_t packets, bool progress);

  unsigned lcores() const { return worker_ ? 2 : 1; }
  bool stopped() const { return stop_ != 0; }

 private:
  Counts counts() const;
  void control(Control c, uint64_t now);
  bool done(uint64_t now, uint64_t end) const;

  const TrafficOptions& o_;
  volatile std::sig_atomic_t& stop_;
  std::unique_ptr<Generator> generator_;
  std::unique_ptr<Receiver> receiver_;
  std::vector<std::unique_ptr<Forwarder>> forwarders_;
  UnmapGuard unmap_guard_;      // outlives the worker lcore
  std::vector<Poller*> local_;  // polled on the main lcore
  std::unique_ptr<WorkerLcore> worker_;
};

}  // namespace tartan::perf
