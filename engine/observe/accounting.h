// The engine's books: every packet a port received, or the control side
// made, is accounted for exactly once, so a test (or an operator) can prove
// that nothing was lost or leaked:
//
//   received + created
//     = transmitted + dropped + consumed + held + reassembling + in_flight
//       + discarded
//
// transmitted covers forwarded packets, answers (ARP replies, neighbour
// advertisements, ICMP errors), frames for the exception port and what the
// control side sent; dropped every drop reason, including packets that
// waited for ARP in vain and fragments that timed out or were refused. A packet put together from N
// outer fragments consumes the N and is created (path/reassembly.h). The
// counters are read without stopping the workers: the equation holds
// exactly only when no packet is being processed (workers stopped, or
// driven by poll_once and idle).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/observe/stats.h"

namespace tartan {

struct PortFlow {
  std::string name;
  uint16_t port_id = 0;
  uint64_t rx = 0;  // received by the workers
  uint64_t tx = 0;  // accepted by the device's TX queues
};

struct Accounting {
  std::vector<PortFlow> ports;
  uint64_t received = 0;      // the sum of the ports' rx
  uint64_t created = 0;       // ARP requests, announcements, probes; reassembled packets
  uint64_t transmitted = 0;   // the sum of the ports' tx
  uint64_t dropped = 0;       // the sum of `drops`
  uint64_t consumed = 0;      // ARP and ND frames and probe replies taken; fragments reassembled
  uint64_t held = 0;          // waiting for ARP resolution now
  uint64_t reassembling = 0;  // fragments waiting in the workers' reassembly tables now
  uint64_t in_flight = 0;     // in the rings between workers and the control side
  uint64_t discarded = 0;     // left in those rings when the engine stopped
  std::array<uint64_t, kNumDropReasons> drops{};
  // Parts of `transmitted`, for the description.
  uint64_t answered = 0;      // ARP replies, neighbour advertisements and ICMP errors
  uint64_t to_exception = 0;  // frames handed to the exception port

  // What came in minus what is accounted for: 0 when the books balance.
  int64_t imbalance() const;
  // The mbufs the engine holds on purpose (beyond its ports' descriptors).
  uint64_t holding() const { return held + reassembling + in_flight; }
  // One line per term, for failure messages.
  std::string describe() const;
};

}  // namespace tartan
