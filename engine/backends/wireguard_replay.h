// WireGuard's receive replay window (whitepaper 5.4.6) for a keypair that
// more than one worker may receive on at once.
//
// RSS keeps one peer's packets (one outer 5-tuple) on one queue, but not
// always: the peer roams to a new source port, or RSS is reprogrammed, and
// for a moment two workers open packets of one keypair. wireguard/'s
// ReplayWindow (one writer; the kernel and wireguard-go serialise it per
// peer) would then lose updates, and a lost update is a replay accepted.
// This one is lock free: each ring slot is one 64-bit word holding a
// block's number (high 48 bits) and its 16 counters' bits (low 16), so a
// block is claimed and marked with one compare-and-swap. A slot only ever
// moves to a newer block; a counter is accepted only by the swap that sets
// its bit in its own block's slot, so at most once.
//
// The same verdicts as ReplayWindow: a counter below `limit`, not more
// than kWindow behind the highest accepted, and not accepted before. Its
// window (2^13 - 64 counters) is kept: 512 slots of 16 cover 2^13, and one
// is always being filled. 48 bits of block number hold counters below
// 2^52, and counters from 2^52 up are refused: a keypair lives at most
// REJECT_AFTER_TIME (180 s), in which a peer sending 10^9 packets a second
// reaches 2^38.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "engine/wireguard/constants.h"

namespace tartan {

class SharedReplayWindow {
 public:
  static constexpr uint64_t kBlockBits = 16;
  static constexpr uint64_t kSlots = 512;
  static constexpr uint64_t kWindow = (uint64_t{1} << 13) - 64;
  static constexpr uint64_t kCounterBound = uint64_t{1} << 52;

  // True, and the counter marked seen, when `counter` is below `limit`, not
  // older than the window and not seen before. Any number of threads.
  bool accept(uint64_t counter, uint64_t limit = wireguard::kRejectAfterMessages);

 private:
  std::array<std::atomic<uint64_t>, kSlots> slots_{};
  std::atomic<uint64_t> highest_{0};
};

}  // namespace tartan
