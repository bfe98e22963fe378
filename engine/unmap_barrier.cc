#include "engine/unmap_barrier.h"

#include <dlfcn.h>
#include <rte_interrupts.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

namespace tartan::unmap_barrier {
namespace {

struct Registry {
  std::mutex mu;
  std::vector<rte_rcu_qsbr*> workers;
};

// Never destroyed: EAL's interrupt thread may unmap while the process exits.
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

std::atomic<uint64_t> g_waits{0};

// The lock is held while waiting, so an engine cannot detach (and free its
// QSBR variable) under a wait; workers never take it, and stopped workers
// are offline, which a grace period does not wait for.
void wait_for_workers() {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  if (r.workers.empty()) return;
  for (rte_rcu_qsbr* v : r.workers) rte_rcu_qsbr_synchronize(v, RTE_QSBR_THRID_INVALID);
  g_waits.fetch_add(1, std::memory_order_relaxed);
}

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

uint64_t waits() {
  return g_waits.load(std::memory_order_relaxed);
}

bool interposed() {
  return dlsym(RTLD_DEFAULT, "munmap") == reinterpret_cast<void*>(&::munmap);
}

}  // namespace tartan::unmap_barrier

// libc's munmap, or whatever comes after the executable in the lookup order
// (a sanitizer's interceptor, should one ever take it).
extern "C" int munmap(void* addr, size_t length) noexcept {
  using Munmap = int (*)(void*, size_t);
  static const auto next = reinterpret_cast<Munmap>(dlsym(RTLD_NEXT, "munmap"));
  if (rte_thread_is_intr()) tartan::unmap_barrier::wait_for_workers();
  return next(addr, length);
}
