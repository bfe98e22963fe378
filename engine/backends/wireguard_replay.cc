#include "engine/backends/wireguard_replay.h"

namespace tartan {

bool SharedReplayWindow::accept(uint64_t counter, uint64_t limit) {
  if (counter >= limit || counter >= kCounterBound) return false;
  if (counter + kWindow < highest_.load(std::memory_order_acquire)) return false;
  const uint64_t block = counter / kBlockBits;
  const uint64_t bit = uint64_t{1} << (counter % kBlockBits);
  std::atomic<uint64_t>& slot = slots_[block % kSlots];
  uint64_t old = slot.load(std::memory_order_acquire);
  uint64_t now;
  do {
    const uint64_t held = old / (uint64_t{1} << kBlockBits);
    // A newer block holds the slot: this counter fell out of the window
    // since the check above (another worker moved it on).
    if (held > block) return false;
    if (held == block) {
      if (old & bit) return false;
      now = old | bit;
    } else {
      // The slot's block is more than the window behind this counter.
      now = block << kBlockBits | bit;
    }
  } while (!slot.compare_exchange_weak(old, now, std::memory_order_acq_rel));
  uint64_t highest = highest_.load(std::memory_order_relaxed);
  while (counter > highest &&
         !highest_.compare_exchange_weak(highest, counter, std::memory_order_release)) {
  }
  return true;
}

}  // namespace tartan
