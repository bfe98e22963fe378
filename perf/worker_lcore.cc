#include "perf/worker_lcore.h"

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_pause.h>

#include <utility>

namespace tartan::perf {

WorkerLcore::WorkerLcore(unsigned lcore, std::vector<Poller*> pollers, rte_rcu_qsbr* qsbr)
    : lcore_(lcore), pollers_(std::move(pollers)), qsbr_(qsbr) {
  launched_ = rte_eal_remote_launch(&WorkerLcore::loop, this, lcore_) == 0;
}

WorkerLcore::~WorkerLcore() {
  if (!launched_) return;
  quit_.store(true, std::memory_order_release);
  rte_eal_wait_lcore(lcore_);
}

void WorkerLcore::control(Control c) {
  op_.store(c, std::memory_order_relaxed);
  const uint32_t r = requested_.load(std::memory_order_relaxed) + 1;
  requested_.store(r, std::memory_order_release);
  while (done_.load(std::memory_order_acquire) != r) rte_pause();
}

int WorkerLcore::loop(void* arg) {
  auto* self = static_cast<WorkerLcore*>(arg);
  uint32_t seen = 0;
  PollingThread polling(self->qsbr_, UnmapGuard::kWorker);
  while (!self->quit_.load(std::memory_order_acquire)) {
    polling.quiescent();
    const uint32_t r = self->requested_.load(std::memory_order_acquire);
    uint64_t now = rte_get_tsc_cycles();
    if (r != seen) {
      const Control c = self->op_.load(std::memory_order_relaxed);
      for (Poller* p : self->pollers_) p->control(c, now);
      seen = r;
      self->done_.store(r, std::memory_order_release);
    }
    if (seen == 0) continue;  // nothing to do before the first trial starts
    for (Poller* p : self->pollers_) p->poll(now);
  }
  return 0;
}

}  // namespace tartan::perf
