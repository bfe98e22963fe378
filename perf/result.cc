#include "perf/result.h"

namespace tartan::perf {
namespace {

Loss ratio_of(uint64_t lost, uint64_t out_of) {
  return {lost, out_of == 0 ? 0.0 : static_cast<double>(lost) / static_cast<double>(out_of)};
}

uint64_t minus(uint64_t a, uint64_t b) {
  return a > b ? a - b : 0;
}

}  // namespace

Rate rate_of(uint64_t packets, uint64_t bytes, double seconds) {
  if (seconds <= 0) return {};
  const double pps = static_cast<double>(packets) / seconds;
  return {pps / 1e6, (static_cast<double>(bytes) + kWireOverhead * static_cast<double>(packets)) *
                         8 / seconds / 1e9};
}

double l1_gbps(double pps, double avg_frame_bytes) {
  return pps * (avg_frame_bytes + kWireOverhead) * 8 / 1e9;
}

double avg_tx_frame_bytes(const Counts& c) {
  return c.tx_packets == 0 ? 0
                           : static_cast<double>(c.tx_bytes) / static_cast<double>(c.tx_packets);
}

std::optional<Loss> loss_of(Mode mode, const Counts& c) {
  switch (mode) {
    case Mode::kLoopback:
      return ratio_of(minus(c.tx_packets, c.rx_packets), c.tx_packets);
    case Mode::kRxOnly:
      return ratio_of(c.gaps, c.marked + c.gaps);
    case Mode::kIo:
    case Mode::kMacSwap:
      return ratio_of(minus(c.rx_packets, c.tx_packets), c.rx_packets);
    case Mode::kTxOnly:
      break;
  }
  return std::nullopt;
}

}  // namespace tartan::perf
