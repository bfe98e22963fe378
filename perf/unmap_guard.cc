#include "perf/unmap_guard.h"

#include <rte_malloc.h>

#include "engine/worker_barrier.h"

namespace tartan::perf {

UnmapGuard::UnmapGuard() {
  const size_t size = rte_rcu_qsbr_get_memsize(2);
  qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("perf_unmap_qsbr", size, RTE_CACHE_LINE_SIZE));
  if (qsbr_ == nullptr || rte_rcu_qsbr_init(qsbr_, 2) != 0) {
    rte_free(qsbr_);
    qsbr_ = nullptr;
    return;
  }
  worker_barrier::attach(qsbr_);
}

UnmapGuard::~UnmapGuard() {
  if (qsbr_ == nullptr) return;
  worker_barrier::detach(qsbr_);
  rte_free(qsbr_);
}

}  // namespace tartan::perf
