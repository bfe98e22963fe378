// The data plane as one object: mempools, ports and worker lcores, created
// from EngineConfig after the EAL is up, torn down in reverse order.
#pragma once

#include <rte_mempool.h>

#include <atomic>
#include <memory>
#include <vector>

#include "engine/engine_config.h"
#include "engine/port.h"
#include "engine/stats.h"
#include "engine/status.h"
#include "engine/worker.h"

namespace tartan {

class Engine {
 public:
  // Creates the mempool, opens and configures every port, builds workers.
  static Result<std::unique_ptr<Engine>> create(const EngineConfig& config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts the ports and launches each worker on its lcore.
  Status start();
  // Starts the ports only; the caller drives workers with poll_once() (tests).
  Status start_ports();
  // Stops the workers, then the ports; idempotent.
  void stop();

  StatsSnapshot stats() const;
  const std::vector<Port>& ports() const { return ports_; }
  std::vector<std::unique_ptr<Worker>>& workers() { return workers_; }
  rte_mempool* mempool() const { return pool_; }

 private:
  explicit Engine(const EngineConfig& config) : config_(config) {}

  EngineConfig config_;
  rte_mempool* pool_ = nullptr;
  std::vector<Port> ports_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> stop_{false};
  bool launched_ = false;
  bool ports_started_ = false;
};

}  // namespace tartan
