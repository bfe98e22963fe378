// The sending side (txonly, loopback): bursts of prebuilt frames, flows and
// frame sizes in round robin, per-flow sequence numbers, paced by the TSC.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <vector>

#include "perf/frames.h"
#include "perf/options.h"
#include "perf/poller.h"

namespace tartan::perf {

class Generator : public Poller {
 public:
  Generator(const FrameFactory& frames, rte_mempool* pool, uint16_t port, uint16_t burst,
            uint32_t flows);
  ~Generator() override { stop(); }

  // Starts sending at `rate_pps` (0: as fast as the port takes frames), at
  // most `max_packets` (0: no limit); sequence numbers restart at 0.
  void start(double rate_pps, uint64_t max_packets, uint64_t now);
  void stop();  // frees the frames it holds
  bool finished() const { return max_packets_ != 0 && sent_ >= max_packets_; }

  void poll(uint64_t now) override;
  void control(Control, uint64_t) override {}

  uint64_t packets() const { return packets_.get(); }
  uint64_t bytes() const { return bytes_.get(); }
  // Frames the port refused, counted at every attempt: sent again (same
  // sequence) later.
  uint64_t refused() const { return refused_.get(); }
  uint64_t alloc_failures() const { return alloc_failures_.get(); }

 private:
  const FrameFactory& frames_;
  rte_mempool* pool_;
  uint16_t port_;
  uint16_t burst_;
  uint32_t flows_;
  std::vector<uint64_t> next_seq_;  // per flow
  uint32_t flow_ = 0;               // round-robin cursors
  unsigned slot_ = 0;
  bool running_ = false;
  double packets_per_cycle_ = 0;  // 0: no pacing
  uint64_t start_tsc_ = 0;
  uint64_t max_packets_ = 0;
  uint64_t sent_ = 0;
  std::array<rte_mbuf*, kMaxBurst> pkts_{};
  std::array<FrameFactory::Pending, kMaxBurst> pending_{};
  std::array<unsigned, kMaxBurst> slot_of_{};
  uint16_t held_ = 0;  // pkts_[0, held_): built, refused by the port, sent next
  Counter packets_, bytes_, refused_, alloc_failures_;
};

}  // namespace tartan::perf
