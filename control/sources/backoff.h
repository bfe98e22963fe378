// Capped exponential back-off with jitter, for retrying a remote service
// (etcd) without hammering it: initial, 2x, 4x ... up to max, each drawn
// from [0.75, 1.25] of the nominal value so that many nodes retrying after
// the same outage spread out.
#pragma once

#include <algorithm>
#include <chrono>
#include <random>

namespace tartan {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max), next_(initial), rng_(std::random_device{}()) {}

  std::chrono::milliseconds next() {
    const auto nominal = next_;
    next_ = std::min(max_, next_ * 2);
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    const auto d = std::chrono::milliseconds(
        static_cast<int64_t>(static_cast<double>(nominal.count()) * jitter(rng_)));
    return std::clamp(d, std::chrono::milliseconds(1), max_);
  }
  void reset() { next_ = initial_; }

 private:
  std::chrono::milliseconds initial_, max_, next_;
  std::mt19937 rng_;
};

}  // namespace tartan
