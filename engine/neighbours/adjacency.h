// The neighbour MACs workers put in outer Ethernet headers: one 64-bit word
// per neighbour (MAC in the low six bytes, top bit = resolved), so the
// control thread publishes a resolution with a single store and a worker
// reads it with a single load; no lock, no torn MAC.
#pragma once

#include <rte_malloc.h>
#include <rte_prefetch.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "engine/net_types.h"

namespace tartan {

class AdjacencyTable {
 public:
  explicit AdjacencyTable(uint32_t capacity)
      : capacity_(capacity),
        words_(static_cast<std::atomic<uint64_t>*>(rte_zmalloc(
            "tartan_adjacency", sizeof(std::atomic<uint64_t>) * capacity, RTE_CACHE_LINE_SIZE))) {}
  ~AdjacencyTable() { rte_free(words_); }
  AdjacencyTable(const AdjacencyTable&) = delete;
  AdjacencyTable& operator=(const AdjacencyTable&) = delete;

  bool ok() const { return words_ != nullptr; }
  uint32_t capacity() const { return capacity_; }

  // Worker side: copies the MAC into `out` (6 bytes) when resolved.
  bool lookup(uint32_t id, uint8_t* out) const {
    const uint64_t w = words_[id].load(std::memory_order_acquire);
    if ((w & kResolved) == 0) return false;
    std::memcpy(out, &w, 6);  // little-endian: the low six bytes are the MAC in order
    return true;
  }

  void prefetch(uint32_t id) const {
    if (id < capacity_) rte_prefetch0(&words_[id]);
  }

  // Control side.
  void publish(uint32_t id, const MacAddr& mac) {
    uint64_t w = 0;
    std::memcpy(&w, mac.bytes.data(), 6);
    words_[id].store(w | kResolved, std::memory_order_release);
  }
  void invalidate(uint32_t id) { words_[id].store(0, std::memory_order_release); }

 private:
  static constexpr uint64_t kResolved = uint64_t{1} << 63;
  uint32_t capacity_;
  std::atomic<uint64_t>* words_;
};

}  // namespace tartan
