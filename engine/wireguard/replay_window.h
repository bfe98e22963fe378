// The sliding window of received transport counters (whitepaper 5.4.6,
// RFC 6479): 2^13 bits in a ring of 64-bit blocks, as the kernel and
// wireguard-go keep it. A counter is accepted once, and only if it is
// within the window below the highest seen; the window slides forward by
// whole blocks, so it covers the last 2^13 - 64 counters.
//
// Checked after the packet authenticated: an attacker cannot move the
// window with forged counters.
#pragma once

#include <array>
#include <cstdint>

#include "engine/wireguard/constants.h"

namespace tartan::wireguard {

class ReplayWindow {
 public:
  static constexpr uint64_t kBlockBits = 64;
  static constexpr uint64_t kBlocks = 128;
  static constexpr uint64_t kTotalBits = kBlockBits * kBlocks;  // 2^13
  // One block of the ring is always the one being filled.
  static constexpr uint64_t kWindow = kTotalBits - kBlockBits;

  // True, and the counter marked seen, when `counter` is below `limit`,
  // not older than the window and not seen before.
  bool accept(uint64_t counter, uint64_t limit = kRejectAfterMessages);

 private:
  std::array<uint64_t, kBlocks> ring_{};
  uint64_t highest_ = 0;
};

}  // namespace tartan::wireguard
