// What a run measured, and the figures derived from it.
#pragma once

#include <cstdint>
#include <optional>

#include "perf/latency.h"
#include "perf/options.h"

namespace tartan::perf {

// Ethernet's per-frame overhead on the wire beyond the bytes DPDK handles:
// 4 bytes FCS + 8 preamble/SFD + 12 inter-frame gap. Gbit/s figures are
// layer 1: (frame bytes + 24) x 8 per frame, as FD.io CSIT and TRex count.
inline constexpr uint32_t kWireOverhead = 24;

struct Counts {
  uint64_t tx_packets = 0, tx_bytes = 0;  // bytes as DPDK handles them (no FCS)
  uint64_t rx_packets = 0, rx_bytes = 0;
  uint64_t marked = 0, foreign = 0;  // received with/without a marker of ours
  uint64_t gaps = 0, reordered = 0;
  uint64_t checked = 0, bad = 0;
  uint64_t tx_refused = 0;         // refusals of frames by a full port (sent again later)
  uint64_t tx_alloc_failures = 0;  // bursts not sent for want of mbufs
};

struct TrialResult {
  double rate_pps = 0;  // offered rate asked for (0: as fast as possible)
  double seconds = 0;   // sending (or forwarding, receiving) time
  Counts counts;
  LatencySummary latency;
  bool interrupted = false;
};

struct SearchResult {
  double max_rate_pps = 0;  // the search's upper bound
  double ndr_pps = 0, pdr_pps = 0;
  unsigned trials = 0;
  TrialResult ndr_trial;  // the trial at ndr_pps (or the lowest-rate one when none passed)
  TrialResult pdr_trial;
  bool interrupted = false;
};

struct Rate {
  double mpps = 0, gbps = 0;
};
Rate rate_of(uint64_t packets, uint64_t bytes, double seconds);
// Layer-1 Gbit/s of `pps` frames of `avg_frame_bytes` (no FCS).
double l1_gbps(double pps, double avg_frame_bytes);
double avg_tx_frame_bytes(const Counts& c);

// What was lost, by mode: loopback: sent - received; rxonly: sequence gaps;
// io/macswap: received - forwarded; txonly: nothing to tell.
struct Loss {
  uint64_t packets = 0;
  double ratio = 0;
};
std::optional<Loss> loss_of(Mode mode, const Counts& c);

}  // namespace tartan::perf
