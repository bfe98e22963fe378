// A counter written by exactly one lcore and read by others. Relaxed atomic
// load+store keeps the writer's cost a plain add (no locked instruction)
// while making the concurrent read well-defined.
#pragma once

#include <atomic>
#include <cstdint>

namespace tartan {

class Counter {
 public:
  void add(uint64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace tartan
