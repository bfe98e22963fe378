// Keeps dpdk-dumpcap's end of capture from freeing memory a worker is using.
//
// A capture runs in RX/TX callbacks rte_pdump installs on the ports, which
// copy packets into a ring and a mempool dpdk-dumpcap (a secondary process)
// made. When the capture ends, rte_pdump (DPDK 22.11, upstream alike)
// removes the callbacks on EAL's multi-process thread and answers
// dumpcap at once; dumpcap then frees its ring and mempool, and the
// primary unmaps the pages. But rte_eth_remove_rx_callback() only unlinks
// the callback: a worker inside it (preempted, or just slower) goes on
// copying into the freed ring, and tartand died with SIGSEGV. DPDK leaves
// it to the application to wait for callbacks in flight; rte_pdump does not.
//
// The engine defines rte_eth_remove_rx_callback() and
// rte_eth_remove_tx_callback() (the executable exports them, so
// librte_pdump's calls resolve to them): each removes the callback with
// ethdev's own function, then waits for the workers (worker_barrier.h)
// before it returns, so rte_pdump answers dumpcap only once no worker can
// be inside the callback. Calls from a worker lcore go straight through.
#pragma once

namespace tartan::callback_barrier {

// Whether rte_eth_remove_{rx,tx}_callback() calls from shared objects
// (librte_pdump) reach the engine's definitions: false if an executable was
// linked without exporting them.
bool interposed();

}  // namespace tartan::callback_barrier
