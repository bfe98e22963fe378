// The forward modes of tartan-perf, as a library so tests can drive them.
#pragma once

#include <csignal>
#include <cstdint>
#include <string>

namespace tartan::perf {

struct TrafficOptions {
  std::string mode = "txonly";  // txonly | rxonly | io
  uint16_t tx_port = 0;
  uint16_t rx_port = 0;
  uint16_t frame_size = 64;  // bytes without CRC
  uint32_t flows = 1;        // distinct UDP source ports
  std::string dst_ip = "10.244.2.10";
  unsigned duration_seconds = 5;
  uint16_t burst = 32;
  uint32_t mbufs = 8191;  // mempool size
};

struct TrafficResult {
  uint64_t tx_packets = 0;
  uint64_t rx_packets = 0;
  double seconds = 0;
};

// Validates options, sets up the ports and runs the mode on the calling
// lcore until duration elapses or *stop becomes non-zero. Prints a line per
// second and a summary. Returns a process exit code.
int run_traffic(const TrafficOptions& options, volatile std::sig_atomic_t& stop);

}  // namespace tartan::perf
