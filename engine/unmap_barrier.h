// Keeps EAL's interrupt thread from unmapping memory a worker may be reading.
//
// DPDK 22.11's memif PMD (and upstream's to this day) handles a peer that
// goes away on EAL's interrupt thread: memif_disconnect() marks the port
// down, then munmap()s the shared regions holding the rings and buffers,
// without waiting for the threads polling the port. A worker that passed
// the PMD's "connected" check before that, and is still inside its rx/tx
// burst (preempted, or just slower), then reads unmapped memory and the
// process dies with SIGSEGV. The PMD raises no ethdev event (LSC, RMV)
// before, or at all, so nothing in the ethdev API can stop the workers in
// time.
//
// The one moment every such teardown passes through is the munmap() call.
// The engine defines munmap() (the executable exports it, so the PMD's call
// resolves to it): on the interrupt thread, it first waits for the workers
// (worker_barrier.h), i.e. until each has finished the loop iteration it
// was in; a burst that starts after that already sees the port disconnected
// (cleared before the unmap) and touches nothing.
// VPP's own memif does the like: its disconnect takes the rx queues away
// from the workers under the worker barrier (vnet_hw_if_update_runtime_data)
// before it unmaps.
// Calls on any other thread (the control thread closing a port, after the
// workers stopped) go straight through. vhost-user needs none of this: its
// PMD stops new bursts and waits for those in flight before the vhost
// library unmaps a guest's memory.
#pragma once

namespace tartan::unmap_barrier {

// Whether munmap() calls from shared objects (the PMDs) reach the engine's
// definition: false if an executable was linked without exporting it.
bool interposed();

}  // namespace tartan::unmap_barrier
