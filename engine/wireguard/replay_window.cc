#include "engine/wireguard/replay_window.h"

#include <algorithm>

namespace tartan::wireguard {

bool ReplayWindow::accept(uint64_t counter, uint64_t limit) {
  if (counter >= limit) return false;
  const uint64_t block = counter / kBlockBits;
  if (counter > highest_) {
    // Clear the blocks the window slides over (all of them at most).
    const uint64_t current = highest_ / kBlockBits;
    const uint64_t advance = std::min(block - current, kBlocks);
    for (uint64_t i = 1; i <= advance; ++i) ring_[(current + i) % kBlocks] = 0;
    highest_ = counter;
  } else if (highest_ - counter > kWindow) {
    return false;
  }
  uint64_t& bits = ring_[block % kBlocks];
  const uint64_t bit = uint64_t{1} << (counter % kBlockBits);
  const bool seen = bits & bit;
  bits |= bit;
  return !seen;
}

}  // namespace tartan::wireguard
