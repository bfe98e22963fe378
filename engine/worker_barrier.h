// Holds a thread of EAL's (or any thread but a worker's) until every
// attached engine's workers have finished the loop iteration they were in:
// one RCU grace period on the QSBR variable the workers report quiescence
// on once per iteration, outside any burst.
//
// DPDK frees memory the workers may be using from its own threads without
// waiting for them in two places, and the engine interposes on both:
// memif's unmap of a vanished peer's regions (unmap_barrier.h) and the
// removal of the RX/TX callbacks dpdk-dumpcap's captures run in
// (callback_barrier.h). Waiting there, before DPDK goes on, is the only
// point at which the workers can be kept out of the memory in time.
#pragma once

#include <rte_rcu_qsbr.h>

#include <cstdint>

namespace tartan::worker_barrier {

// The QSBR variable an engine's workers report quiescence on; from then on
// until detach(), wait_for_workers() waits for them.
void attach(rte_rcu_qsbr* workers);
void detach(rte_rcu_qsbr* workers);

// Returns once every attached worker has passed a quiescent state after the
// call (stopped workers are offline and not waited for). Never call it on a
// worker: it would wait for itself.
void wait_for_workers();

// How many waits have been done.
uint64_t waits();

}  // namespace tartan::worker_barrier
