// What an lcore runs: pollers, each owning its queues, and counters other
// lcores may read while it runs.
#pragma once

#include <atomic>
#include <cstdint>

namespace tartan::perf {

// A counter one lcore writes and any lcore reads (relaxed: a plain load and
// store on x86, no locked instruction).
class Counter {
 public:
  void add(uint64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(uint64_t n) { v_.store(n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Requests an lcore's pollers act on between trials.
enum class Control {
  kReset,   // a trial starts: zero the counters and the per-flow state, count
  kFreeze,  // the trial ended: stop counting (keep receiving and freeing)
};

class Poller {
 public:
  virtual ~Poller() = default;
  virtual void poll(uint64_t now) = 0;
  virtual void control(Control c, uint64_t now) = 0;
};

}  // namespace tartan::perf
