// A poll-mode worker: one loop over its (port, queue) list, rx_burst ->
// process -> staged tx_burst. No locks, no allocation, no syscalls inside.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "engine/engine_config.h"
#include "engine/stats.h"
#include "engine/tx_buffers.h"

namespace tartan {

struct RxQueueRef {
  uint16_t port_id;
  uint16_t queue;
};

inline constexpr uint16_t kNoPort = UINT16_MAX;

class Worker {
 public:
  // `forward_to[rx port id]` is where packets received on that port go.
  Worker(unsigned index, unsigned lcore, std::vector<RxQueueRef> rx_queues,
         std::array<uint16_t, RTE_MAX_ETHPORTS> forward_to, uint16_t tx_queue, uint16_t burst);

  // One pass over every RX queue; returns packets received.
  unsigned poll_once();

  // Polls until `stop` becomes true.
  void run(const std::atomic<bool>& stop);

  unsigned index() const { return index_; }
  unsigned lcore() const { return lcore_; }
  const WorkerCounters& counters() const { return counters_; }

 private:
  unsigned index_;
  unsigned lcore_;
  std::vector<RxQueueRef> rx_queues_;
  std::array<uint16_t, RTE_MAX_ETHPORTS> forward_to_;
  uint16_t burst_;
  WorkerCounters counters_;
  TxBuffers tx_;
};

}  // namespace tartan
