// The second lcore: runs its pollers in a loop until destroyed, and applies
// control requests from the main lcore between polls (the main lcore waits
// until it has).
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "perf/poller.h"
#include "perf/unmap_guard.h"

namespace tartan::perf {

class WorkerLcore {
 public:
  // `qsbr`: where the loop reports quiescence as UnmapGuard::kWorker.
  WorkerLcore(unsigned lcore, std::vector<Poller*> pollers, rte_rcu_qsbr* qsbr);
  ~WorkerLcore();  // stops the loop and waits for the lcore
  WorkerLcore(const WorkerLcore&) = delete;
  WorkerLcore& operator=(const WorkerLcore&) = delete;

  bool launched() const { return launched_; }
  unsigned lcore() const { return lcore_; }
  // Applies `c` to every poller on the worker; returns once it has.
  void control(Control c);

 private:
  static int loop(void* self);

  unsigned lcore_;
  std::vector<Poller*> pollers_;
  rte_rcu_qsbr* qsbr_;
  bool launched_ = false;
  std::atomic<bool> quit_{false};
  std::atomic<Control> op_{Control::kReset};
  std::atomic<uint32_t> requested_{0};
  std::atomic<uint32_t> done_{0};
};

}  // namespace tartan::perf
