// Capped exponential back-off with jitter, for retrying a remote service
// without hammering it, so that many nodes retrying after the same outage
// spread out. Two flavours:
//  - Backoff(initial, max), for etcd: initial, 2x, 4x ... up to max, each
//    wait drawn from [0.75, 1.25] of the nominal value and never above max.
//  - Backoff::client_go(initial, max, reset_after), for the Kubernetes API
//    as client-go's reflector backs off (tools/cache/reflector.go: 800 ms,
//    factor 2, jitter 1.0, cap 30 s, reset after 2 min; apimachinery's
//    wait.Backoff.Step): the nominal value doubles up to max and each wait
//    is drawn from [d, 2d), so the waits settle in [max, 2 max). After
//    `reset_after` without a wait (that long without a failure) it starts
//    again from initial (client-go resets every 2 min from the last reset,
//    wait.DelayWithReset; counting from the last failure is the same once
//    the server is healthy and never resets mid-outage).
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>

namespace tartan {

class Backoff {
 public:
  using Clock = std::chrono::steady_clock;

  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max), next_(initial), rng_(std::random_device{}()) {}

  static Backoff client_go(std::chrono::milliseconds initial, std::chrono::milliseconds max,
                           std::chrono::milliseconds reset_after) {
    Backoff b(initial, max);
    b.jitter_low_ = 1.0;
    b.jitter_high_ = 2.0;
    b.clamp_to_max_ = false;
    b.reset_after_ = reset_after;
    return b;
  }

  std::chrono::milliseconds next() {
    const auto now = Clock::now();
    if (reset_after_.count() > 0 && last_ && now - *last_ >= reset_after_) next_ = initial_;
    last_ = now;
    const auto nominal = next_;
    next_ = std::min(max_, next_ * 2);
    std::uniform_real_distribution<double> jitter(jitter_low_, jitter_high_);
    const auto d = std::chrono::milliseconds(
        static_cast<int64_t>(static_cast<double>(nominal.count()) * jitter(rng_)));
    return std::clamp(d, std::chrono::milliseconds(1), clamp_to_max_ ? max_ : 2 * max_);
  }
  void reset() { next_ = initial_; }

 private:
  std::chrono::milliseconds initial_, max_, next_;
  double jitter_low_ = 0.75, jitter_high_ = 1.25;
  bool clamp_to_max_ = true;
  std::chrono::milliseconds reset_after_{0};  // 0: only reset() resets
  std::optional<Clock::time_point> last_;
  std::mt19937 rng_;
};

}  // namespace tartan
