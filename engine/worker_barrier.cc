#include "engine/worker_barrier.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

namespace tartan::worker_barrier {
namespace {

struct Registry {
  std::mutex mu;
  std::vector<rte_rcu_qsbr*> workers;
};

// Never destroyed: EAL's threads may free memory while the process exits.
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

std::atomic<uint64_t> g_waits{0};

}  // namespace

void attach(rte_rcu_qsbr* workers) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  r.workers.push_back(workers);
}

void detach(rte_rcu_qsbr* workers) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  r.workers.erase(std::remove(r.workers.begin(), r.workers.end(), workers), r.workers.end());
}

// The lock is held while waiting, so an engine cannot detach (and free its
// QSBR variable) under a wait; workers never take it.
void wait_for_workers() {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  if (r.workers.empty()) return;
  for (rte_rcu_qsbr* v : r.workers) rte_rcu_qsbr_synchronize(v, RTE_QSBR_THRID_INVALID);
  g_waits.fetch_add(1, std::memory_order_relaxed);
}

uint64_t waits() {
  return g_waits.load(std::memory_order_relaxed);
}

}  // namespace tartan::worker_barrier
