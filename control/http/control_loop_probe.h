// Liveness beyond "the process exists": whether the control side still
// answers, i.e. a check that takes its locks (node mirror, engine) comes
// back in time. A deadlocked control plane (flannel#2252) then fails
// /healthz and the kubelet restarts the pod, while a busy one does not.
// The check runs on the probe's own thread, so a caller never blocks longer
// than the deadline, even when the check never returns.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace tartan {

class ControlLoopProbe {
 public:
  ControlLoopProbe(std::function<void()> check, std::chrono::milliseconds deadline);
  // Joins the probe's thread: waits for a check under way to return.
  ~ControlLoopProbe();
  ControlLoopProbe(const ControlLoopProbe&) = delete;
  ControlLoopProbe& operator=(const ControlLoopProbe&) = delete;

  // True when a check that started no earlier than this call returned
  // within the deadline. Concurrent callers share one check.
  bool answers();
  std::chrono::milliseconds deadline() const { return deadline_; }

 private:
  void run();

  const std::function<void()> check_;
  const std::chrono::milliseconds deadline_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t requested_ = 0;  // checks asked for
  uint64_t completed_ = 0;  // the last request the finished check covered
  bool last_ok_ = true;     // that check returned (did not throw)
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest is ready
};

}  // namespace tartan
