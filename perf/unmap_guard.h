// tartan-perf is a memif peer too: when its device under test goes away
// (killed, or stopped while the traffic runs), DPDK's memif PMD unmaps the
// shared rings on EAL's interrupt thread while tartan-perf's lcores may be
// inside a burst on them, and the generator died with SIGSEGV. The lcores
// that poll report quiescence on a QSBR variable attached to the engine's
// unmap barrier (engine/unmap_barrier.h, worker_barrier.h), which holds such an unmap until
// each has left the burst it was in; an lcore not polling is offline.
#pragma once

#include <rte_rcu_qsbr.h>

namespace tartan::perf {

class UnmapGuard {
 public:
  // Reader thread ids 0 (the main lcore) and 1 (the worker lcore).
  static constexpr unsigned kMain = 0, kWorker = 1;

  UnmapGuard();
  ~UnmapGuard();
  UnmapGuard(const UnmapGuard&) = delete;
  UnmapGuard& operator=(const UnmapGuard&) = delete;

  // nullptr if it could not be made (no memory): nothing is guarded then.
  rte_rcu_qsbr* qsbr() const { return qsbr_; }

 private:
  rte_rcu_qsbr* qsbr_ = nullptr;
};

// Online from construction to destruction, for the lcore polling in between.
class PollingThread {
 public:
  PollingThread(rte_rcu_qsbr* qsbr, unsigned id) : qsbr_(qsbr), id_(id) {
    if (qsbr_ == nullptr) return;
    rte_rcu_qsbr_thread_register(qsbr_, id_);
    rte_rcu_qsbr_thread_online(qsbr_, id_);
  }
  ~PollingThread() {
    if (qsbr_ == nullptr) return;
    rte_rcu_qsbr_thread_offline(qsbr_, id_);
    rte_rcu_qsbr_thread_unregister(qsbr_, id_);
  }
  PollingThread(const PollingThread&) = delete;
  PollingThread& operator=(const PollingThread&) = delete;

  // Once per loop, outside any burst.
  void quiescent() {
    if (qsbr_ != nullptr) rte_rcu_qsbr_quiescent(qsbr_, id_);
  }

 private:
  rte_rcu_qsbr* qsbr_;
  unsigned id_;
};

}  // namespace tartan::perf
