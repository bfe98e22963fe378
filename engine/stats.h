// Per-worker counters (written only by their worker, cache-aligned so no two
// workers share a line) and the summed snapshot the control plane reads.
#pragma once

#include <rte_common.h>
#include <rte_config.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/counter.h"

namespace tartan {

// Every reason a packet is dropped has its own counter: (enum, name, help).
#define TARTAN_DROP_REASONS(X)                                                    \
  X(kTxQueueFull, "tx_queue_full", "the TX queue was full; the packet was freed") \
  X(kNoTxPort, "no_tx_port", "no port to forward to for the packet's RX port")

enum class DropReason : uint8_t {
#define TARTAN_DROP_ENUM(e, name, help) e,
  TARTAN_DROP_REASONS(TARTAN_DROP_ENUM)
#undef TARTAN_DROP_ENUM
      kCount
};
inline constexpr size_t kNumDropReasons = static_cast<size_t>(DropReason::kCount);

const char* drop_reason_name(DropReason reason);
const char* drop_reason_help(DropReason reason);

struct PortCounters {
  Counter rx_packets, rx_bytes, tx_packets, tx_bytes;
};

struct alignas(RTE_CACHE_LINE_SIZE) WorkerCounters {
  Counter loops;       // iterations of the poll loop
  Counter busy_loops;  // iterations that received at least one packet
  std::array<PortCounters, RTE_MAX_ETHPORTS> ports;
  std::array<Counter, kNumDropReasons> drops;

  void drop(DropReason reason, uint64_t n = 1) { drops[static_cast<size_t>(reason)].add(n); }
};

struct PortStats {
  std::string name;
  std::string role;
  uint16_t port_id = 0;
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
  uint64_t hw_rx_missed = 0, hw_rx_errors = 0, hw_tx_errors = 0;  // from rte_eth_stats
};

struct WorkerStats {
  unsigned lcore = 0;
  uint64_t loops = 0, busy_loops = 0;
};

struct StatsSnapshot {
  std::vector<PortStats> ports;
  std::vector<WorkerStats> workers;
  std::array<uint64_t, kNumDropReasons> drops{};
};

}  // namespace tartan
