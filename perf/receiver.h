// The receiving side (rxonly, loopback): counts frames, finds each one's
// marker, checks per-flow sequence numbers, records latency from the
// sender's TSC and fully checks a sample of frames.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <vector>

#include "perf/latency.h"
#include "perf/options.h"
#include "perf/poller.h"

namespace tartan::perf {

class Receiver : public Poller {
 public:
  // `late_join`: the sender may have started earlier (rxonly), so a flow's
  // first frame sets where its sequence is; otherwise every flow starts at 0.
  // `max_packets`: finished() after that many frames (0: never).
  Receiver(uint16_t port, uint16_t burst, uint32_t flows, uint32_t verify_every, bool late_join,
           uint64_t max_packets);

  void poll(uint64_t now) override;
  void control(Control c, uint64_t now) override;
  bool finished() const { return max_packets_ != 0 && packets_.get() >= max_packets_; }

  // Any lcore, any time.
  uint64_t packets() const { return packets_.get(); }
  uint64_t bytes() const { return bytes_.get(); }
  uint64_t marked() const { return marked_.get(); }        // frames with a marker of a known flow
  uint64_t foreign() const { return foreign_.get(); }      // the others
  uint64_t gaps() const { return gaps_.get(); }            // sequence numbers skipped
  uint64_t reordered() const { return reordered_.get(); }  // frames older than one seen before
  uint64_t checked() const { return checked_.get(); }
  uint64_t bad() const { return bad_.get(); }  // checked frames with a wrong checksum or fill
  uint64_t interval_p99_ns() const { return interval_p99_ns_.get(); }  // the last full second
  // Once frozen (on this lcore, or after the control handshake).
  const LatencyHistogram& latency() const { return total_; }

 private:
  static constexpr uint64_t kUnseen = UINT64_MAX;
  void end_interval();

  uint16_t port_;
  uint16_t burst_;
  uint32_t verify_every_;
  uint32_t verify_countdown_;
  bool late_join_;
  bool counting_ = false;
  uint64_t max_packets_;
  double ns_per_cycle_;
  uint64_t cycles_per_interval_;
  uint64_t next_interval_ = 0;
  std::vector<uint64_t> expected_;  // per flow: the next sequence number
  LatencyHistogram interval_, total_;
  std::array<rte_mbuf*, kMaxBurst> pkts_{};
  Counter packets_, bytes_, marked_, foreign_, gaps_, reordered_, checked_, bad_;
  Counter interval_p99_ns_;
};

}  // namespace tartan::perf
